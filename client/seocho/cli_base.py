"""The `seocho` command classes: one-line errors and exit codes, translated help, negative numbers as values.

Every failure becomes one line on stderr and an exit code a script can test (`seocho.errors`); click's
usage errors too (exit 2, without the usage block). A closed stdout (`seocho report | head -1`) ends the
command silently. An unexpected exception prints only its type (its text could carry ledger values);
SEOCHO_DEBUG=1 re-raises it with its traceback.
"""

from __future__ import annotations

import errno
import inspect
import os
import re
import sys
from collections.abc import Callable, Sequence
from typing import Any

import click

# Private click names, present in click 8.2 to 8.x (pyproject pins click>=8.2,<9 for them).
from click.parser import _OptionParser, _ParsingState
from click.utils import _make_default_short_help

from seocho.errors import SeochoError
from seocho.i18n import _, cli_session


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _error(message: str) -> None:
    click.echo(_("error: {message}").format(message=_one_line(message)), err=True)


def _usage_error(exc: click.UsageError) -> None:
    command = exc.ctx.command_path if exc.ctx is not None else "seocho"
    message = _("{message} (see {command} --help)").format(
        message=_one_line(exc.format_message()), command=command
    )
    click.echo(_("error: {message}").format(message=message), err=True)


def _silence_stdout() -> None:
    """After EPIPE: send what is still buffered to /dev/null, so the exit flush does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # not a real file (e.g. under click's test runner)
        pass


def run_reporting_errors(run: Callable[[], Any]) -> int:
    """Runs the command line; returns its exit code after printing any failure as one line."""
    try:
        result = run()
        return result if isinstance(result, int) else 0
    except SeochoError as exc:
        _error(exc.message)
        return exc.exit_code
    except click.exceptions.NoArgsIsHelpError as exc:  # `seocho`, `seocho ca`: the help is the answer
        exc.show()
        return exc.exit_code
    except click.UsageError as exc:
        _usage_error(exc)
        return exc.exit_code
    except click.ClickException as exc:
        _error(exc.format_message())
        return exc.exit_code
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.Abort:
        _error(_("aborted"))
        return 1
    except OSError as exc:
        if exc.errno == errno.EPIPE:
            _silence_stdout()
            return 0  # whoever read our output has all they wanted
        where = f" ({exc.filename})" if exc.filename else ""
        _error(f"{exc.strerror or type(exc).__name__}{where}")
        return 1
    except Exception as exc:
        if os.environ.get("SEOCHO_DEBUG"):
            raise
        _error(_("unexpected {kind}; rerun with SEOCHO_DEBUG=1 for details").format(kind=type(exc).__name__))
        return 1


# A lone negative number ("-3") is a value the command should judge, not an option nobody defined.
_NEGATIVE_NUMBER = re.compile(r"-[0-9]+")


class _NegativeNumbersAreValues(_OptionParser):
    def _process_opts(self, arg: str, state: _ParsingState) -> None:
        if _NEGATIVE_NUMBER.fullmatch(arg) and arg not in self._short_opt:
            state.largs.append(arg)
            return
        super()._process_opts(arg, state)


def _translated_help(text: str | None) -> str:
    if not text:
        return ""
    return _(inspect.cleandoc(text).partition("\f")[0])


class SeochoCommand(click.Command):
    """A command whose help is shown in the current language and that takes "-3" as a value."""

    def make_parser(self, ctx: click.Context) -> _OptionParser:
        parser = _NegativeNumbersAreValues(ctx)
        for param in self.get_params(ctx):
            param.add_to_parser(parser, ctx)
        return parser

    def format_help_text(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        text = _translated_help(self.help)
        if text:
            formatter.write_paragraph()
            with formatter.indentation():
                formatter.write_text(text)

    def get_short_help_str(self, limit: int = 45) -> str:
        if self.short_help:
            return _translated_help(self.short_help)
        return _make_default_short_help(_translated_help(self.help), limit).strip()

    def get_help_option(self, ctx: click.Context) -> click.Option | None:
        option = super().get_help_option(ctx)
        if option is not None:  # click caches it with the text of the language it was created in
            option.help = _("Show this message and exit.")
        return option


class SeochoGroup(click.Group, SeochoCommand):
    """A group of Seocho commands (subgroups and commands get the same classes)."""

    command_class = SeochoCommand
    group_class = type  # subgroups are SeochoGroups

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except OSError as exc:
            if exc.errno != errno.EPIPE:
                raise
            # click would exit 1 on a broken pipe; the reader simply had all it wanted.
            _silence_stdout()
            raise click.exceptions.Exit(0) from None

    def main(  # type: ignore[override]
        self, args: Sequence[str] | None = None, prog_name: str | None = None, **extra: Any
    ) -> None:
        extra.pop("standalone_mode", None)
        with cli_session():
            code = run_reporting_errors(
                lambda: super(SeochoGroup, self).main(args, prog_name, standalone_mode=False, **extra)
            )
        sys.exit(code)


class SeochoOption(click.Option):
    """An option whose help is translated when shown."""

    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        original = self.help
        self.help = _translated_help(original) or original
        try:
            return super().get_help_record(ctx)
        finally:
            self.help = original


def option(*param_decls: str, **attrs: Any) -> Callable[[Any], Any]:
    """`click.option` with translated help."""
    attrs.setdefault("cls", SeochoOption)
    return click.option(*param_decls, **attrs)
