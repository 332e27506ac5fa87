"""`up|deploy --run-as ORG=USER`: each organisation's steps as its own Unix account (accounts.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from .cli_options import Options
from .network import Network

if TYPE_CHECKING:
    from .accounts import AccountSteps

run_as_option = click.option(
    "--run-as",
    "run_as",
    multiple=True,
    metavar="ORG=USER",
    help="Run ORG's steps and nodes as the Unix account USER (needs root): one machine as separate hosts "
    "(see network/docker/README.md). Repeatable.",
)


def account_steps(options: Options, network: Network, run_as: tuple[str, ...]) -> AccountSteps:
    """The network's steps, each organisation's under the account `run_as` gives it."""
    from .accounts import parse_run_as, steps_for

    if options.joined:
        raise click.UsageError("--run-as does not take --join fragments: run the join's steps one by one")
    return steps_for(network, parse_run_as(run_as), options.topology)
