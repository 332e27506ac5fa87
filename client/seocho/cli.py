"""`seocho`: the Seocho Coin command line.

Every coin operation and query, on a Fabric network through its Gateway (`--profile PATH`) or, without a
profile, on the embedded ledger (`--ledger DIR`, default `$SEOCHO_HOME/ledger`), signed as `--as NAME`.
Results print as text, or as JSON with `--json`. Errors print one line and exit with the codes listed in
`seocho.errors`, so scripts can test them.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from embedded_ledger.ledger import DATABASE_FILE

from seocho.backend import EmbeddedBackend, connect_gateway, open_embedded_ledger
from seocho.cast import client_id_of
from seocho.cli_base import SeochoGroup, SeochoOption, option
from seocho.cli_output import format_document
from seocho.coin import Coin
from seocho.errors import ConnectionFailedError, SeochoError
from seocho.gateway_backend import backend_for
from seocho.i18n import LANGUAGES, N_, _, use_language
from seocho.identity_rules import check_enrolment
from seocho.profile import Profile, load_profile


def default_ledger_dir() -> Path:
    return Path(os.environ.get("SEOCHO_HOME", Path.home() / ".seocho")) / "ledger"


class LedgerMissingError(ConnectionFailedError):
    """No ledger where one was expected: a query never creates one (a typo would make an empty ledger)."""

    def __init__(self, path: Path) -> None:
        super().__init__(
            _(
                "no ledger at {path} (seocho init creates one, once seocho identity enroll made its admin)"
            ).format(path=path)
        )


class Settings:
    def __init__(
        self, ledger_dir: Path, identity: str | None, as_json: bool, profile: Profile | None
    ) -> None:
        self.ledger_dir = ledger_dir
        self.identity = identity
        self.as_json = as_json
        self.profile = profile

    def signer_name(self) -> str:
        if not self.identity:
            raise click.UsageError(_("say which identity signs: --as NAME (or SEOCHO_IDENTITY)"))
        return self.identity

    @contextmanager
    def coin(self) -> Iterator[Coin]:
        name = self.signer_name()
        if self.profile is not None:
            with connect_gateway(self.profile, name) as gateway:
                yield Coin(backend_for(self.profile, gateway))
            return
        with self.ledger() as ledger:
            try:
                identity = ledger.identities.get(name)
            except KeyError:
                raise SeochoError(
                    _("no identity named {name!r}; see seocho identity list").format(name=name)
                ) from None
            yield Coin(EmbeddedBackend(ledger, identity))

    @contextmanager
    def ledger(self, *, create: bool = False) -> Iterator[Any]:
        """The embedded ledger; only `create=True` (enrolling an identity) makes a new one."""
        if self.profile is not None:
            raise SeochoError(_("this command works on the embedded ledger only; drop --profile"))
        path = self.ledger_dir
        try:
            if not create and not (path / DATABASE_FILE).exists():
                raise LedgerMissingError(path)
            ledger = open_embedded_ledger(path)
        except (OSError, sqlite3.Error) as exc:
            raise _unopenable(path, exc) from None
        try:
            with ledger:
                yield ledger
        except sqlite3.Error as exc:  # e.g. a read-only ledger refusing the first write
            raise _unopenable(path, exc) from None

    def show(self, result: Any, text: Callable[[Any], str] = format_document) -> None:
        if self.as_json:
            click.echo(json.dumps(result, ensure_ascii=False, sort_keys=True))
        elif result is not None:
            click.echo(text(result))


def _unopenable(path: Path, exc: OSError | sqlite3.Error) -> ConnectionFailedError:
    reason = (exc.strerror if isinstance(exc, OSError) else None) or str(exc) or type(exc).__name__
    return ConnectionFailedError(
        _("cannot open the ledger at {path}: {reason}").format(path=path, reason=reason)
    )


pass_settings = click.make_pass_decorator(Settings)


def _run(
    settings: Settings, call: Callable[[Coin], Any], text: Callable[[Any], str] = format_document
) -> None:
    with settings.coin() as coin:
        settings.show(call(coin), text)


def _choose_language(_ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    use_language(value)


@click.group(cls=SeochoGroup)
@option(
    "--lang",
    type=click.Choice(LANGUAGES),
    is_eager=True,
    expose_value=False,
    callback=_choose_language,
    help=N_("Language of messages and help: ko or en [default: the locale's, e.g. LANG=ko_KR.UTF-8]."),
)
@option(
    "--ledger",
    "ledger_dir",
    type=click.Path(path_type=Path),
    envvar="SEOCHO_LEDGER",
    default=None,
    help=N_("Embedded ledger directory [default: $SEOCHO_HOME/ledger]."),
)
@option(
    "--profile",
    "profile_path",
    type=click.Path(path_type=Path),
    envvar="SEOCHO_PROFILE",
    help=N_("Network profile: use a Fabric network instead of the embedded ledger."),
)
@option("--as", "identity", envvar="SEOCHO_IDENTITY", help=N_("Identity that signs."))
@option("--json", "as_json", is_flag=True, help=N_("Print results as JSON."))
@click.version_option(package_name="seocho-coin", help=N_("Show the version and exit."), cls=SeochoOption)
@click.pass_context
def cli(
    ctx: click.Context,
    ledger_dir: Path | None,
    profile_path: Path | None,
    identity: str | None,
    as_json: bool,
) -> None:
    """Seocho Coin: earn coins for good deeds, pay and donate at partner institutions."""
    profile = load_profile(profile_path) if profile_path is not None else None
    ctx.obj = Settings(ledger_dir or default_ledger_dir(), identity, as_json, profile)


# ---- identities (embedded ledger) ------------------------------------------------------------------


@cli.group()
def identity() -> None:
    """Local identities of the embedded ledger (certificates from its own CAs)."""


@identity.command("enroll")
@click.argument("name")
@option("--msp", required=True, help=N_("MSP id, e.g. SeochoDistrictMSP or PartnersMSP."))
@option(
    "--attr",
    "attrs",
    multiple=True,
    metavar="KEY=VALUE",
    help=N_("Certificate attribute, e.g. seocho.role=staff (repeatable)."),
)
@pass_settings
def identity_enroll(settings: Settings, name: str, msp: str, attrs: tuple[str, ...]) -> None:
    """Issue a certificate for NAME with attributes (a member's NAME is its member id, e.g. S-0001).

    Creates the ledger when there is none yet. seocho.role is one of admin, registrar, auditor, staff,
    member; staff also carry seocho.institution (and seocho.manager=true for a manager).
    """
    attributes = {}
    for item in attrs:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(_("{item!r} is not KEY=VALUE").format(item=item), param_hint="--attr")
        attributes[key] = value
    check_enrolment(name, attributes)
    with settings.ledger(create=True) as ledger:
        try:
            enrolled = ledger.identities.enroll(name, msp, attributes)
        except ValueError as exc:
            raise SeochoError(str(exc)) from None
        result = {"name": name, "msp_id": msp, "client_id": client_id_of(enrolled.serialized())}
        settings.show(result, lambda r: _("{name} enrolled in {msp_id}").format(**r))


@identity.command("list")
@pass_settings
def identity_list(settings: Settings) -> None:
    """List the enrolled local identities."""
    with settings.ledger() as ledger:
        settings.show(ledger.identities.names())


@identity.command("client-id")
@click.argument("name")
@pass_settings
def identity_client_id(settings: Settings, name: str) -> None:
    """Print NAME's client id (what `member register` and `institution allowance` bind to)."""
    with settings.ledger() as ledger:
        try:
            enrolled = ledger.identities.get(name)
        except KeyError:
            raise SeochoError(
                _("no identity named {name!r}; see seocho identity list").format(name=name)
            ) from None
        click.echo(client_id_of(enrolled.serialized()))


from seocho_http import cli as _serve_cli  # noqa: E402,F401  (registers `seocho serve`)

from seocho import cli_admin, cli_coins, cli_demo, cli_index, cli_tx  # noqa: E402,F401  (register their commands on `cli`)
from seocho import cli_ca as _cli_ca  # noqa: E402,F401  (registers `seocho ca`)
from seocho import cli_network as _cli_network  # noqa: E402,F401  (registers `seocho network`)


def main() -> None:
    cli(prog_name="seocho")


if __name__ == "__main__":
    main()
