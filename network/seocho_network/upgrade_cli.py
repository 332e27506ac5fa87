"""The command line of the rolling Fabric upgrade (`upgrade`), registered on `cli`:

upgrade-fabric --to 3.1.5    orderers, then peers, one at a time; then the channel's V3_0 capability
                             (natively: processes restarted; in Docker: containers recreated)
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from .binaries import FABRIC_VERSIONS
from .topology import DEFAULT_TOPOLOGY


def own_topology(network: Any) -> Path:
    """Without --topology the release is recorded in the home's own copy of the default topology
    (which `Network.open` then prefers), never in the project's file."""
    from .network import OWN_TOPOLOGY

    if network.runtime_name not in ("native", "docker") or not network.layout.root.is_dir():
        return DEFAULT_TOPOLOGY  # upgrade_fabric refuses these before it records anything
    own = network.layout.root / OWN_TOPOLOGY
    if not own.exists():
        shutil.copyfile(DEFAULT_TOPOLOGY, own)
        click.echo(f"upgrade: the release is recorded in {own} (this network's topology from now on)")
    return Path(own)


def register(cli: click.Group, pass_options: Callable[..., Any]) -> None:
    """Adds `upgrade-fabric` to `cli`."""

    @cli.command("upgrade-fabric")
    @click.option("--to", "target", required=True, type=click.Choice(FABRIC_VERSIONS), help="The release.")
    @click.option(
        "--bft",
        is_flag=True,
        help="Then migrate the channel from Raft to SmartBFT (Fabric 3; ordering pauses).",
    )
    @pass_options
    def upgrade_fabric(options: Any, target: str, bft: bool) -> None:
        """Upgrade every orderer, then every peer, to Fabric TARGET one node at a time while the network
        serves (each node's ledger backed up first); record TARGET in the topology; on Fabric 3 enable
        the channel's V3_0 capability, signed by every organisation's admin. With --bft, then migrate
        from Raft to SmartBFT (a maintenance window: the orderers refuse transactions meanwhile)."""
        from . import upgrade

        warning = upgrade.overriding_variable(target)
        if warning:
            raise click.UsageError(warning)
        network = options.open()
        topology = options.topology or own_topology(network)
        if bft and int(target.split(".")[0]) < 3:
            raise click.UsageError("--bft needs Fabric 3 (SmartBFT)")
        if bft and network.runtime_name == "docker":
            raise click.UsageError(
                "--bft (Raft to SmartBFT) is not automated in Docker; upgrade without it, or bring a new "
                "deployment up on BFT (network/docker/README.md, 'Upgrade Fabric')"
            )
        if network.runtime_name == "docker":
            from .docker_upgrade import upgrade_fabric_in_docker

            report = upgrade_fabric_in_docker(network, target, topology)
        else:
            report = upgrade.upgrade_fabric(network, target, topology)
        for what, seconds in report.steps:
            click.echo(f"upgrade: {what}: {seconds:.1f} s")
        for what in report.skipped:
            click.echo(f"upgrade: {what}: done already")
        click.echo(f"upgrade: Fabric {target} on every node; took {report.total:.0f} s")
        if bft:
            from .bft_migration import migrate_to_bft

            # Opened again: the topology now names the release the nodes run.
            migration = migrate_to_bft(options.open(), topology)
            for what, seconds in migration.steps:
                click.echo(f"bft: {what}: {seconds:.1f} s")
            click.echo(f"bft: the channel is ordered by SmartBFT; took {migration.total:.0f} s")
