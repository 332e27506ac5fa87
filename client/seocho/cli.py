"""`seocho`: the Seocho Coin command line.

Every coin operation and query, on a Fabric network through its Gateway (`--profile PATH`) or, without a
profile, on the embedded ledger (`--ledger DIR`, default `$SEOCHO_HOME/ledger`), signed as `--as NAME`.
Results print as text, or as JSON with `--json`. Errors print one line and exit with the codes listed in
`seocho.errors`, so scripts can test them.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from seocho.backend import EmbeddedBackend, GatewayBackend, connect_gateway, open_embedded_ledger
from seocho.cast import client_id_of
from seocho.coin import Coin
from seocho.demo import run_demo, run_demo_on_network
from seocho.errors import ConnectionFailedError, SeochoError
from seocho.profile import Profile, load_profile


def default_ledger_dir() -> Path:
    return Path(os.environ.get("SEOCHO_HOME", Path.home() / ".seocho")) / "ledger"


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
            raise click.UsageError("say which identity signs: --as NAME (or SEOCHO_IDENTITY)")
        return self.identity

    @contextmanager
    def coin(self) -> Iterator[Coin]:
        name = self.signer_name()
        if self.profile is not None:
            with connect_gateway(self.profile, name) as gateway:
                contract = gateway.get_network(self.profile.channel).get_contract(self.profile.chaincode)
                yield Coin(GatewayBackend(contract))
            return
        with self.ledger() as ledger:
            try:
                identity = ledger.identities.get(self.identity)
            except KeyError:
                raise SeochoError(
                    f"no identity named {self.identity!r}; see `seocho identity list`"
                ) from None
            yield Coin(EmbeddedBackend(ledger, identity))

    @contextmanager
    def ledger(self) -> Iterator[Any]:
        if self.profile is not None:
            raise SeochoError("this command works on the embedded ledger only; drop --profile")
        try:
            ledger = open_embedded_ledger(self.ledger_dir)
        except OSError as exc:
            raise ConnectionFailedError(
                f"cannot open the ledger at {self.ledger_dir}: {exc.strerror}"
            ) from None
        with ledger:
            yield ledger

    def show(self, result: Any) -> None:
        if self.as_json:
            click.echo(json.dumps(result, ensure_ascii=False, sort_keys=True))
        elif isinstance(result, dict):
            for key, value in result.items():
                shown = (
                    value if isinstance(value, str | int | float) else json.dumps(value, ensure_ascii=False)
                )
                click.echo(f"{key}: {shown}")
        elif isinstance(result, list):
            for item in result:
                click.echo(json.dumps(item, ensure_ascii=False, sort_keys=True))
        elif result is not None:
            click.echo(result)


pass_settings = click.make_pass_decorator(Settings)


def _run(settings: Settings, call: Callable[[Coin], Any]) -> None:
    with settings.coin() as coin:
        settings.show(call(coin))


class SeochoGroup(click.Group):
    """Turns errors into one-line messages and exit codes instead of tracebacks.

    An unexpected exception prints only its type (its text could carry ledger values); set
    SEOCHO_DEBUG=1 to get the traceback.
    """

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SeochoError as exc:
            click.echo(f"error: {exc.message}", err=True)
            ctx.exit(exc.exit_code)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except OSError as exc:
            where = f" ({exc.filename})" if exc.filename else ""
            click.echo(f"error: {exc.strerror or type(exc).__name__}{where}", err=True)
            ctx.exit(1)
        except Exception as exc:
            if os.environ.get("SEOCHO_DEBUG"):
                raise
            hint = "rerun with SEOCHO_DEBUG=1 for details"
            click.echo(f"error: unexpected {type(exc).__name__}; {hint}", err=True)
            ctx.exit(1)


@click.group(cls=SeochoGroup)
@click.option(
    "--ledger",
    "ledger_dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="SEOCHO_LEDGER",
    default=None,
    help="Embedded ledger directory [default: $SEOCHO_HOME/ledger].",
)
@click.option(
    "--profile",
    "profile_path",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="SEOCHO_PROFILE",
    help="Network profile: use a Fabric network instead of the embedded ledger.",
)
@click.option("--as", "identity", envvar="SEOCHO_IDENTITY", help="Identity that signs.")
@click.option("--json", "as_json", is_flag=True, help="Print results as JSON.")
@click.version_option(package_name="seocho-coin")
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


@cli.command()
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print the report as one JSON object on stdout (the story goes to stderr).",
)
@click.option(
    "--keep",
    type=click.Path(file_okay=False, path_type=Path),
    help="Keep the demo ledger in this (new) directory instead of a temporary one.",
)
@pass_settings
def demo(settings: Settings, as_json: bool, keep: Path | None) -> None:
    """Tell the district's 2023 story and print the district's report.

    Without --profile it runs on a fresh embedded ledger. With --profile it runs on that network, whose
    chaincode must be freshly deployed and whose profile names the demo's identities (`district-admin`,
    `district-registrar`, `district-auditor`, `staff-yangjae1`, `staff-welfare`, `staff-czshop`,
    `staff-chest`, `member-S-0001` … `member-S-0005`, `member-R-0001`, `member-R-0002`).
    """
    as_json = as_json or settings.as_json

    def say(line: str) -> None:
        click.echo(line, err=as_json)

    if settings.profile is not None:
        if keep is not None:
            raise click.UsageError("--keep is for the embedded ledger; a network keeps its own state")
        report = run_demo_on_network(settings.profile, say)
    else:
        if keep is not None and keep.exists() and any(keep.iterdir()):
            raise SeochoError(f"{keep} is not empty; the demo needs a fresh ledger")
        with (
            tempfile.TemporaryDirectory(prefix="seocho-demo-") as scratch,
            open_embedded_ledger(keep or Path(scratch) / "ledger") as ledger,
        ):
            report = run_demo(ledger, say)
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, sort_keys=True))
    else:
        click.echo("")
        click.echo(format_report(report))


def format_report(report: dict[str, Any]) -> str:
    lines = [
        "Seocho Coin — district report",
        f"  members       {report['members']:>10,}",
        f"  participants  {report['participants']:>10,}",
        f"  {'':12}  {'coins':>10}  {'KRW':>12}",
    ]
    for key in ("earned", "spent", "donated", "redeemed", "expired", "outstanding"):
        lines.append(f"  {key:<12}  {report['coins'][key]:>10,}  {report['krw'][key]:>12,}")
    return "\n".join(lines)


# ---- identities (embedded ledger) ------------------------------------------------------------------


@cli.group()
def identity() -> None:
    """Local identities of the embedded ledger (certificates from its own CAs)."""


@identity.command("enroll")
@click.argument("name")
@click.option("--msp", required=True, help="MSP id, e.g. SeochoDistrictMSP or PartnersMSP.")
@click.option(
    "--attr",
    "attrs",
    multiple=True,
    metavar="KEY=VALUE",
    help="Certificate attribute, e.g. seocho.role=staff (repeatable).",
)
@pass_settings
def identity_enroll(settings: Settings, name: str, msp: str, attrs: tuple[str, ...]) -> None:
    """Issue a certificate for NAME with attributes."""
    attributes = {}
    for item in attrs:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{item!r} is not KEY=VALUE", param_hint="--attr")
        attributes[key] = value
    with settings.ledger() as ledger:
        try:
            enrolled = ledger.identities.enroll(name, msp, attributes)
        except ValueError as exc:
            raise SeochoError(str(exc)) from None
        settings.show({"name": name, "msp_id": msp, "client_id": client_id_of(enrolled.serialized())})


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
    """Print NAME's client id (what register-member and allowances bind to)."""
    with settings.ledger() as ledger:
        try:
            enrolled = ledger.identities.get(name)
        except KeyError as exc:
            raise SeochoError(str(exc.args[0])) from None
        click.echo(client_id_of(enrolled.serialized()))


from seocho import cli_admin, cli_coins  # noqa: E402,F401  (register their commands on `cli`)
from seocho import cli_ca as _cli_ca  # noqa: E402,F401  (registers `seocho ca`)


def main() -> None:
    cli(prog_name="seocho")


if __name__ == "__main__":
    main()
