"""Every message the CLI can show, gathered from the source: `_()`/`N_()` calls and the help of every command.

Run `python tests/cli/catalogue.py` to print the messages the Korean catalogue lacks, as .po entries.
"""

from __future__ import annotations

import inspect
import sys
from pathlib import Path

import click
from babel.messages.catalog import Catalog
from babel.messages.extract import extract, extract_from_dir
from babel.messages.pofile import read_po

SOURCE = Path(__file__).resolve().parents[2] / "client" / "seocho"
# The network's pages speak the CLI's languages too (`network.sh status --html`).
NETWORK_PAGES = (SOURCE.parents[1] / "network" / "seocho_network" / "status_html.py",)
KOREAN = SOURCE / "locale" / "ko" / "LC_MESSAGES" / "seocho.po"
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2)}


# `seocho serve` (client/seocho_http) speaks through the same catalogue.
SOURCES = (SOURCE, SOURCE.parent / "seocho_http")


def source_messages() -> dict[str, str]:
    """msgid -> where it is, for every `_(...)`/`N_(...)` in client/seocho and client/seocho_http."""
    found: dict[str, str] = {}
    for directory in SOURCES:
        for filename, lineno, message, _comments, _context in extract_from_dir(
            directory, method_map=[("**.py", "python")], keywords=KEYWORDS
        ):
            for text in message if isinstance(message, tuple) else (message,):
                if text:
                    found.setdefault(text, f"{directory.name}/{filename}:{lineno}")
    for page in NETWORK_PAGES:
        with page.open("rb") as stream:
            for lineno, message, _comments, _context in extract("python", stream, keywords=KEYWORDS):
                for text in message if isinstance(message, tuple) else (message,):
                    if text:
                        found.setdefault(text, f"{page.name}:{lineno}")
    return found


def help_messages() -> dict[str, str]:
    """msgid -> command, for the help text of every command and option (translated when shown)."""
    from seocho.cli import cli

    found: dict[str, str] = {}

    def visit(command: click.Command, path: str) -> None:
        if command.help:
            found.setdefault(inspect.cleandoc(command.help).partition("\f")[0], path)
        for param in command.params:
            text = getattr(param, "help", None)
            if text:
                found.setdefault(inspect.cleandoc(text), f"{path} {param.name}")
        if isinstance(command, click.Group):
            for name, sub in command.commands.items():
                visit(sub, f"{path} {name}")

    visit(cli, "seocho")
    return found


def every_message() -> dict[str, str]:
    return {**help_messages(), **source_messages()}


def korean_catalogue() -> Catalog:
    with KOREAN.open("rb") as stream:
        return read_po(stream, locale="ko")


if __name__ == "__main__":
    catalogue = korean_catalogue()
    for msgid, where in every_message().items():
        entry = catalogue.get(msgid)
        if entry is None or not entry.string:
            escaped = msgid.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
            sys.stdout.write(f'#: {where}\nmsgid "{escaped}"\nmsgstr ""\n\n')
