"""The command line of the rolling Fabric upgrade (`upgrade`), registered on `cli`:

upgrade-fabric --to 3.1.5    orderers, then peers, one at a time; then the channel's V3_0 capability
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from .binaries import FABRIC_VERSIONS
from .topology import DEFAULT_TOPOLOGY


def register(cli: click.Group, pass_options: Callable[..., Any]) -> None:
    """Adds `upgrade-fabric` to `cli`."""

    @cli.command("upgrade-fabric")
    @click.option("--to", "target", required=True, type=click.Choice(FABRIC_VERSIONS), help="The release.")
    @pass_options
    def upgrade_fabric(options: Any, target: str) -> None:
        """Upgrade every orderer, then every peer, to Fabric TARGET one node at a time while the network
        serves (each node's ledger backed up first); record TARGET in the topology; on Fabric 3 enable
        the channel's V3_0 capability, signed by every organisation's admin."""
        from . import upgrade

        warning = upgrade.overriding_variable(target)
        if warning:
            raise click.UsageError(warning)
        network = options.open()
        report = upgrade.upgrade_fabric(network, target, options.topology or DEFAULT_TOPOLOGY)
        for what, seconds in report.steps:
            click.echo(f"upgrade: {what}: {seconds:.1f} s")
        for what in report.skipped:
            click.echo(f"upgrade: {what}: on {target} already")
        click.echo(f"upgrade: Fabric {target} on every node; took {report.total:.0f} s")
