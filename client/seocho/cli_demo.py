"""`seocho demo`: the district's 2023 story on a fresh embedded ledger, or on a network."""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, date, datetime, time
from pathlib import Path

import click

from seocho.backend import open_embedded_ledger
from seocho.cli import Settings, cli, pass_settings
from seocho.cli_base import option
from seocho.cli_output import format_report
from seocho.demo import DEFAULT_START, KST, StoryClock, run_demo, run_demo_on_network
from seocho.errors import SeochoError
from seocho.i18n import N_, _

FIRST_POLICY_DAY = date(2023, 1, 1)  # the default policy (init) is in force from 2023-01-01 KST


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
@option(
    "--date",
    "start",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    metavar="YYYY-MM-DD",
    help=N_("The day the story starts, 2023-01-01 or later [default: 2023-03-06]; embedded ledger only."),
)
@pass_settings
def demo(settings: Settings, as_json: bool, keep: Path | None, start: datetime | None) -> None:
    """Tell the district's 2023 story and print the district's report.

    Without --profile it runs on a fresh embedded ledger, on the story's own dates (a few months from
    --date). With --profile it runs today on that network (each peer checks the time of every
    transaction against its own clock); its chaincode must be freshly deployed and its profile must
    name the demo's identities (district-admin, district-registrar, district-auditor, staff-yangjae1,
    staff-welfare, staff-czshop, staff-chest, member-S-0001 … member-S-0005, member-R-0001,
    member-R-0002).
    """
    as_json = as_json or settings.as_json

    def say(line: str) -> None:
        click.echo(line, err=as_json)

    if settings.profile is not None:
        if keep is not None:
            raise click.UsageError(_("--keep is for the embedded ledger; a network keeps its own state"))
        if start is not None:
            raise click.UsageError(
                _("--date is for the embedded ledger; a network's peers keep today's time")
            )
        report = run_demo_on_network(settings.profile, say)
    else:
        if keep is not None and keep.exists() and any(keep.iterdir()):
            raise SeochoError(_("{path} is not empty; the demo needs a fresh ledger").format(path=keep))
        first_day = start.date() if start is not None else DEFAULT_START
        if first_day < FIRST_POLICY_DAY:
            raise click.BadParameter(
                _("the 2023 rules are in force from {day}").format(day=FIRST_POLICY_DAY), param_hint="--date"
            )
        clock = StoryClock(datetime.combine(first_day, time(9), tzinfo=KST).astimezone(UTC))
        with (
            tempfile.TemporaryDirectory(prefix="seocho-demo-") as scratch,
            open_embedded_ledger(keep or Path(scratch) / "ledger", clock) as ledger,
        ):
            report = run_demo(ledger, say, first_day, clock)
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, sort_keys=True))
    else:
        click.echo("")
        click.echo(format_report(report))
