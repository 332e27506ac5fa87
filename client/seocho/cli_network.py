"""`seocho network`: the client's steps after `scripts/network.sh up` / `deploy` on a network home."""

from __future__ import annotations

import os
from pathlib import Path

import click

from seocho.cli import cli
from seocho.i18n import _
from seocho.network_setup import initialise_ledger, provision_demo


def _default_home() -> Path:
    explicit = os.environ.get("SEOCHO_NETWORK_HOME")
    if explicit:
        return Path(explicit)
    return Path(os.environ.get("SEOCHO_HOME") or os.path.expanduser("~/.seocho")) / "network"


_home = click.argument("home", required=False, type=click.Path(file_okay=False, exists=True, path_type=Path))


@cli.group("network")
def network() -> None:
    """Client steps on a network home (default: $SEOCHO_NETWORK_HOME or $SEOCHO_HOME/network)."""


@network.command("provision-demo")
@_home
def network_provision_demo(home: Path | None) -> None:
    """Register and enrol the demo's cast at each organisation's CA; name it in every profile."""
    count = provision_demo(home or _default_home(), say=click.echo)
    click.echo(_("{count} identities of the demo's cast provisioned").format(count=count))


@network.command("init-ledger")
@_home
def network_init_ledger(home: Path | None) -> None:
    """Initialise the coin ledger as the demo's district admin (nothing without a demo cast)."""
    initialise_ledger(home or _default_home(), say=click.echo)
