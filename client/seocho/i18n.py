"""Korean and English: every user-facing message goes through gettext with the `seocho` catalogues.

The catalogues are `seocho/locale/<lang>/LC_MESSAGES/seocho.po`, compiled to `.mo` when the package is
built or installed (`setup.py` runs Babel). The language is the locale's (`LANGUAGE`, `LC_ALL`,
`LC_MESSAGES`, `LANG`, as gettext reads them: `LANG=ko_KR.UTF-8` gives Korean) unless `--lang ko|en`
forces one; English is the fallback, and the msgids are the English text.

Messages are written `_("... {name} ...").format(name=...)` so both languages carry the same named
placeholders (a test checks that). Help texts of commands and options are English in the source and
translated when shown (`N_` marks text translated later).
"""

from __future__ import annotations

import gettext
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

DOMAIN = "seocho"
LOCALE_DIR = Path(__file__).with_name("locale")
LANGUAGES = ("ko", "en")

gettext.bindtextdomain(DOMAIN, str(LOCALE_DIR))


def _(message: str) -> str:
    """`message` in the current language."""
    return gettext.dgettext(DOMAIN, message)


def ngettext(singular: str, plural: str, count: int) -> str:
    return gettext.dngettext(DOMAIN, singular, plural, count)


def N_(message: str) -> str:
    """Marks `message` for the catalogue; it is translated where it is shown."""
    return message


def use_language(language: str | None) -> None:
    """Force `language` ("ko", "en") for this process, or None to follow the locale.

    gettext (and so click's own messages, which use the default domain) reads the language from the
    environment on every lookup, so forcing one means setting `LANGUAGE`, which gettext reads first.
    """
    if language is None:
        return
    os.environ["LANGUAGE"] = language


@contextmanager
def cli_session() -> Iterator[None]:
    """Translate click's messages with our catalogue while the CLI runs; restore everything after.

    click looks its messages ("Usage:", "Missing option ...") up in gettext's default domain, so the
    CLI makes `seocho` the default domain for the length of one invocation (tests run many in a row).
    """
    saved_domain = gettext.textdomain()
    saved_language = os.environ.get("LANGUAGE")
    gettext.textdomain(DOMAIN)
    try:
        yield
    finally:
        gettext.textdomain(saved_domain)
        if saved_language is None:
            os.environ.pop("LANGUAGE", None)
        else:
            os.environ["LANGUAGE"] = saved_language
