"""The command line of the rolling Fabric upgrade (`upgrade`), registered on `cli`:

upgrade-fabric --to 3.1.5    orderers, then peers, one at a time; then the channel's V3_0 capability
                             (natively: processes restarted; in Docker: containers recreated)
    --bft                    then Raft to SmartBFT (`--stop-before normal`: stop while it can be undone)
rollback-bft                 back to Raft from a migration that has not left maintenance mode
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from .bft_migration import STOP_POINTS, migration_under_way
from .binaries import FABRIC_VERSIONS
from .topology import DEFAULT_TOPOLOGY


def own_topology(network: Any, create: bool = True) -> Path:
    """Without --topology the release is recorded in the home's own copy of the default topology
    (which `Network.open` then prefers), never in the project's file; made here unless `create` is
    False (then the project's file when the home has no copy: nothing recorded in it yet)."""
    from .network import OWN_TOPOLOGY

    own = network.layout.root / OWN_TOPOLOGY
    if not own.exists():
        if not create or not network.layout.root.is_dir():
            return DEFAULT_TOPOLOGY  # no home: the upgrade refuses before it records anything
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
    @click.option(
        "--stop-before",
        type=click.Choice(STOP_POINTS),
        help="With --bft: stop before maintenance mode off, the last point `rollback-bft` undoes.",
    )
    @pass_options
    def upgrade_fabric(options: Any, target: str, bft: bool, stop_before: str | None) -> None:
        """Upgrade every orderer, then every peer, to Fabric TARGET one node at a time while the network
        serves (each node's ledger backed up first); record TARGET in the topology; on Fabric 3 enable
        the channel's V3_0 capability, signed by every organisation's admin. With --bft, then migrate
        from Raft to SmartBFT (a maintenance window: the orderers refuse transactions meanwhile)."""
        from . import upgrade

        if stop_before and not bft:
            raise click.UsageError("--stop-before stops the Raft to SmartBFT migration: give --bft too")
        warning = upgrade.overriding_variable(target)
        if warning:
            raise click.UsageError(warning)
        network = options.open()
        # Every refusal before own_topology, which copies the default topology into the home.
        if bft and int(target.split(".")[0]) < 3:
            raise click.UsageError("--bft needs Fabric 3 (SmartBFT)")
        in_docker = network.runtime_name == "docker"
        if bft and in_docker:
            raise click.UsageError(
                "--bft (Raft to SmartBFT) is not automated in Docker; upgrade without it, or bring a new "
                "deployment up on BFT (network/docker/README.md, 'Upgrade Fabric')"
            )
        topology = options.topology or own_topology(network)
        if bft and migration_under_way(network):
            # Resumed: every node runs Fabric 3 already and the peers may be stopped, which the rolling
            # upgrade refuses ("every node must be up"): straight to the migration.
            click.echo(f"upgrade: Fabric {target} on every node already; the migration to SmartBFT resumes")
        else:
            if in_docker:
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
            migration = migrate_to_bft(options.open(), topology, stop_before)
            for what, seconds in migration.steps:
                click.echo(f"bft: {what}: {seconds:.1f} s")
            if stop_before:
                click.echo(
                    f"bft: stopped before maintenance mode off ({migration.total:.0f} s): the peers are "
                    "stopped; `rollback-bft` goes back to Raft, the same command without --stop-before "
                    "finishes"
                )
            else:
                click.echo(f"bft: the channel is ordered by SmartBFT; took {migration.total:.0f} s")

    @cli.command("rollback-bft")
    @pass_options
    def rollback_bft(options: Any) -> None:
        """Go back to Raft from a Raft to SmartBFT migration that has not left maintenance mode (it
        stopped on an error, or with --stop-before normal): every orderer restored from its
        backups/raft-before-bft copy and started on Raft, maintenance mode off, the peers started, the
        orderers the migration added out of the channel. Refused once the channel left maintenance on
        BFT: then there is no way back."""
        from .bft_rollback import rollback_to_raft

        network = options.open()
        report = rollback_to_raft(network, options.topology or own_topology(network, create=False))
        for what, seconds in report.steps:
            click.echo(f"rollback: {what}: {seconds:.1f} s")
        click.echo(f"rollback: the channel is ordered by Raft; took {report.total:.0f} s")
