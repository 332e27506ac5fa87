"""The command line of joining and leaving the channel (`membership`), registered on `cli`'s groups:

    channel add-org DEFINITION_DIR --org MEMBER        propose (then `channel sign` / `channel submit`)
    channel add-consenter DEFINITION_DIR --org MEMBER  one orderer into the Raft consenter set
    channel join-running ORG                           ORG's orderers and peers join and catch up
      [--from-snapshot DIR | --snapshot-from PEER]     its peers from a ledger snapshot, not block 0
    channel remove-consenter ORDERER --org MEMBER      one orderer out of the consenter set
    channel remove-org ORG --org MEMBER                ORG out of the Application and Orderer groups
    org join ORG | org leave ORG                       every step above for one machine

The network is opened with the new organisation's fragment: `--join network/orgs/community-chest.yaml`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from .context import NetworkError


def register(org: click.Group, channel: click.Group, pass_options: Callable[..., Any]) -> None:
    """Adds the membership commands to the `org` and `channel` groups."""
    from . import membership, org_join

    definition_argument = click.argument(
        "definition", type=click.Path(file_okay=False, exists=True, path_type=Path)
    )
    proposer_option = click.option("--org", "name", required=True, help="The member whose admin proposes.")

    @channel.command("add-org")
    @definition_argument
    @proposer_option
    @pass_options
    def add_org(options: Any, definition: Path, name: str) -> None:
        """Propose adding the organisation of DEFINITION (its `org definition`) to the channel."""
        network = options.open()
        click.echo(membership.propose_add_org(network, network.org(name), definition))

    @channel.command("add-consenter")
    @definition_argument
    @proposer_option
    @click.option("--orderer", help="The orderer's node id [default: its first not yet a consenter].")
    @pass_options
    def add_consenter(options: Any, definition: Path, name: str, orderer: str | None) -> None:
        """Propose one orderer of DEFINITION's organisation as a Raft consenter (one per update)."""
        network = options.open()
        click.echo(membership.propose_add_consenter(network, network.org(name), definition, orderer))

    @channel.command("join-running")
    @click.argument("joining")
    @click.option(
        "--from-snapshot", "snapshot_dir", type=click.Path(file_okay=False, exists=True, path_type=Path),
        help="The peers join from this completed ledger snapshot (`peer snapshot`), not from block 0.",
    )  # fmt: skip
    @click.option("--snapshot-from", "source", help="The peers join from a snapshot this peer takes now.")
    @pass_options
    def join_running(options: Any, joining: str, snapshot_dir: Path | None, source: str | None) -> None:
        """JOINING's orderers join with the latest config block, its peers from block 0 (or from a
        snapshot); both catch up; then the client profiles name its peers too."""
        network = options.open()
        org = network.org(joining)
        if snapshot_dir is None and source is None:
            org_join.join_running(network, org)
            return
        from .snapshots import join_running_from_snapshot
        from .snapshots_cli import peer_named

        peer = peer_named(network, source) if source is not None else None
        org_join.join_running(
            network, org, lambda: join_running_from_snapshot(network, org, snapshot_dir, peer)
        )

    @channel.command("remove-consenter")
    @click.argument("orderer")
    @proposer_option
    @pass_options
    def remove_consenter(options: Any, orderer: str, name: str) -> None:
        """Propose taking ORDERER (a node id) out of the Raft consenter set."""
        network = options.open()
        found = [o for o in network.topology.orderers if o.node_id == orderer]
        if not found:
            raise NetworkError(f"no orderer {orderer!r} in the topology")
        click.echo(membership.propose_remove_consenter(network, network.org(name), found[0]))

    @channel.command("remove-org")
    @click.argument("leaving")
    @proposer_option
    @pass_options
    def remove_org(options: Any, leaving: str, name: str) -> None:
        """Propose removing LEAVING from the channel (its orderers must have left the consenters)."""
        network = options.open()
        click.echo(membership.propose_remove_org(network, network.org(name), network.org(leaving)))

    @org.command("join")
    @click.argument("joining")
    @pass_options
    def join(options: Any, joining: str) -> None:
        """One machine: JOINING comes up and joins the running channel; the chaincode's next sequence
        takes the policy of the fragment (every organisation approves)."""
        network = options.open()
        org_join.join_consortium(network, network.org(joining))

    @org.command("leave")
    @click.argument("leaving")
    @pass_options
    def leave(options: Any, leaving: str) -> None:
        """One machine: LEAVING's consenters leave one update at a time, then LEAVING leaves the channel
        (signed by a majority from among the others); its identities are refused afterwards."""
        network = options.open()
        org_join.leave_consortium(network, network.org(leaving))
