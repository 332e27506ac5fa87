"""`seocho demo`: the district's 2023 story on a fresh embedded ledger, or on a network."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import click

from seocho.backend import open_embedded_ledger
from seocho.cli import Settings, cli, pass_settings
from seocho.cli_base import option
from seocho.cli_output import format_report
from seocho.demo import run_demo, run_demo_on_network
from seocho.errors import SeochoError
from seocho.i18n import N_, _


@cli.command()
@option(
    "--json",
    "as_json",
    is_flag=True,
    help=N_("Print the report as one JSON object on stdout (the story goes to stderr)."),
)
@option(
    "--keep",
    type=click.Path(file_okay=False, path_type=Path),
    help=N_("Keep the demo ledger in this (new) directory instead of a temporary one."),
)
@pass_settings
def demo(settings: Settings, as_json: bool, keep: Path | None) -> None:
    """Tell the district's 2023 story and print the district's report.

    Without --profile it runs on a fresh embedded ledger. With --profile it runs on that network, whose
    chaincode must be freshly deployed and whose profile names the demo's identities (district-admin,
    district-registrar, district-auditor, staff-yangjae1, staff-welfare, staff-czshop, staff-chest,
    member-S-0001 … member-S-0005, member-R-0001, member-R-0002).
    """
    as_json = as_json or settings.as_json

    def say(line: str) -> None:
        click.echo(line, err=as_json)

    if settings.profile is not None:
        if keep is not None:
            raise click.UsageError(_("--keep is for the embedded ledger; a network keeps its own state"))
        report = run_demo_on_network(settings.profile, say)
    else:
        if keep is not None and keep.exists() and any(keep.iterdir()):
            raise SeochoError(_("{path} is not empty; the demo needs a fresh ledger").format(path=keep))
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
