"""The command line of ledger snapshots (`snapshots`), registered on `cli`:

    peer snapshot [--peer P] [--block N] [--channel C]   request one, wait until complete, print its directory
    peer snapshots [--peer P]                            the peer's completed snapshots of the channel
    channel join-running ORG --from-snapshot DIR | --snapshot-from PEER    its peers join from one

A peer that joins from a snapshot is one of the topology's, or of a fragment that adds it:
`--join network/orgs/district-peer1.yaml org up SeochoDistrict` issues and starts the district's second peer.
"""

from __future__ import annotations

from typing import Any

import click

from .context import NetworkError
from .network import Network
from .topology import Peer


def peer_named(network: Network, name: str | None) -> Peer:
    """A peer by node id or the start of one (default: the district's first peer)."""
    peers = network.topology.peers
    if name is None:
        return peers[0]
    matches = [p for p in peers if p.node_id == name] or [p for p in peers if p.node_id.startswith(name)]
    if len(matches) != 1:
        raise NetworkError(f"--peer must name one of: {', '.join(p.node_id for p in peers)}")
    return matches[0]


def register(cli: click.Group, pass_options: Any) -> click.Group:
    """Adds the `peer` group to `cli` and returns it."""
    from . import snapshots

    @cli.group("peer")
    def peer_group() -> None:
        """One peer's own operations: ledger snapshots."""

    peer_option = click.option(
        "--peer", "name", help="The peer (node id or its start) [default: the district's]."
    )
    channel_option = click.option("--channel", help="The channel [default: the topology's].")

    @peer_group.command("snapshot")
    @peer_option
    @click.option(
        "--block",
        type=click.IntRange(min=1),
        help="The last block in the snapshot (Fabric's --blockNumber; a block to come is waited for) "
        "[default: the peer's last committed block].",
    )
    @channel_option
    @click.option(
        "--timeout", type=float, default=snapshots.SNAPSHOT_TIMEOUT, show_default=True,
        help="Seconds to wait for the block and the snapshot; the request is cancelled after that.",
    )  # fmt: skip
    @pass_options
    def snapshot(
        options: Any, name: str | None, block: int | None, channel: str | None, timeout: float
    ) -> None:
        """Take a ledger snapshot on a peer, wait until it is complete, and print its directory."""
        network = options.open()
        taken = snapshots.take(network, peer_named(network, name), block, channel, timeout)
        click.echo(taken.directory)

    @peer_group.command("snapshots")
    @peer_option
    @channel_option
    @pass_options
    def listing(options: Any, name: str | None, channel: str | None) -> None:
        """The peer's completed snapshots: last block, snapshot hash, directory."""
        network = options.open()
        for taken in snapshots.completed(network, peer_named(network, name), channel):
            click.echo(f"{taken.last_block}\t{taken.snapshot_hash}\t{taken.directory}")

    return peer_group
