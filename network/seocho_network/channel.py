"""The channel's bring-up steps: its genesis block, orderers and peers joining, and what they report.

Each step is run by the organisation that owns what it touches: an orderer joins with its own
organisation's admin (osnadmin), a peer with its own organisation's admin (the peer CLI). Every step is
idempotent: a node that is a member already is left as it is.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from .admin import PeerAdmin, metrics, operations_client, wait_until
from .binaries import CommandError
from .configs import write_genesis_block
from .context import STARTUP_TIMEOUT, NetworkContext
from .topology import BFT, Orderer, Organization, Peer


def create_genesis_block(ctx: NetworkContext, write_configtx: Callable[[], Path]) -> Path:
    """The channel's genesis block from the organisations' definitions, unless it exists."""
    block = ctx.layout.genesis_block
    if block.exists():
        ctx.say(f"  {block}: exists")
        return block
    write_genesis_block(ctx.binaries, write_configtx(), ctx.topology.channel, block)
    # configtxgen writes it 0640, but it is public: every organisation joins from it (with its own account).
    block.chmod(0o644)
    ctx.say(f"  {block}: written for channel {ctx.topology.channel}")
    return block


def join_orderers(ctx: NetworkContext, orderers: Sequence[Orderer], block: Path | None = None) -> None:
    """Each orderer joins the channel through its admin endpoint (`osnadmin channel join`)."""
    channel = ctx.topology.channel
    for orderer in orderers:
        admin = ctx.orderer_admin(orderer)
        if channel in admin.channels():
            ctx.say(f"  {orderer.node_id}: member of {channel}")
            continue
        admin.join(channel, block or ctx.layout.genesis_block)
        ctx.say(f"  {orderer.node_id}: joined {channel}")


def wait_for_ordering_leader(ctx: NetworkContext) -> str:
    """Waits until the orderers have a leader: Raft's elected one, or the one SmartBFT's quorum names."""
    kind = _consensus_name(ctx)
    wait_until(lambda: ordering_leader(ctx) is not None, f"{kind} leader", STARTUP_TIMEOUT, lambda: True)
    leader = ordering_leader(ctx)
    assert leader is not None
    ctx.say(f"  {kind} leader: {leader}")
    return leader


wait_for_raft_leader = wait_for_ordering_leader


def join_peers(ctx: NetworkContext, peers: Sequence[Peer], block: Path | None = None) -> None:
    """Each peer joins the channel from its genesis block (`peer channel join`), as its org's admin."""
    channel = ctx.topology.channel
    for peer in peers:
        admin = ctx.peer_admin(peer)
        if channel in channels_once_serving(admin):
            ctx.say(f"  {peer.node_id}: member of {channel}")
            continue
        admin.join(block or ctx.layout.genesis_block)
        ctx.say(f"  {peer.node_id}: joined {channel} (anchor peer from the channel config)")


def wait_for_gossip(ctx: NetworkContext, peers: Sequence[Peer] | None = None) -> None:
    """Waits until every peer of `peers` (default: all) knows every other peer of the channel.

    The Gateway finds the other organisations' endorsers through gossip (anchor peers)."""
    others = len(ctx.topology.peers) - 1
    for peer in peers if peers is not None else ctx.topology.peers:

        def knows_all(peer: Peer = peer) -> bool:
            return peers_known(ctx, peer) >= others

        wait_until(knows_all, f"{peer.node_id} gossip membership", STARTUP_TIMEOUT, lambda: True)
    ctx.say(f"  every peer knows the other {others} through gossip (anchor peers)")


def channels_once_serving(admin: PeerAdmin) -> list[str]:
    """The peer's channels, asked until its gRPC service answers (its /healthz can answer first)."""
    listed: list[str] = []

    def answered() -> bool:
        try:
            listed[:] = admin.channels()
        except CommandError:
            return False
        return True

    wait_until(answered, f"{admin.peer.node_id} channel list", STARTUP_TIMEOUT, lambda: True)
    return listed


def channel_gauges(ctx: NetworkContext, port: int, org: Organization, *names: str) -> dict[str, float]:
    """The channel's value of each gauge `names` the node on operations `port` reports (absent ones
    left out; none when it does not answer)."""
    wanted = {f'{name}{{channel="{ctx.topology.channel}"}}': name for name in names}
    found: dict[str, float] = {}
    for line in metrics(port, operations_client(ctx.layout, org)).splitlines():
        series, _, value = line.rpartition(" ")
        if series in wanted:
            found[wanted[series]] = float(value)
    return found


def peers_known(ctx: NetworkContext, peer: Peer) -> int:
    """How many other peers of the channel `peer` knows through gossip, from its metrics."""
    name = "gossip_membership_total_peers_known"
    return int(channel_gauges(ctx, peer.operations_port, peer.org, name).get(name, 0))


def _consensus_name(ctx: NetworkContext) -> str:
    return "BFT" if ctx.topology.orderer_type == BFT else "Raft"


def ordering_leader(ctx: NetworkContext) -> str | None:
    """The orderer that leads the channel's consensus (Raft or SmartBFT), from the orderers' metrics."""
    if ctx.topology.orderer_type == BFT:
        return bft_leader(ctx)
    return raft_leader(ctx)


def bft_quorum(orderers: int) -> int:
    """How many of `orderers` SmartBFT consenters make a quorum, as SmartBFT counts it: ceil((n+f+1)/2)
    with f = (n-1)//3 (2f+1 when n = 3f+1; any two quorums then share an honest consenter)."""
    faulty = (orderers - 1) // 3
    return (orderers + faulty + 2) // 2


def bft_leader(ctx: NetworkContext) -> str | None:
    """The leader of SmartBFT's current view, when a quorum (`bft_quorum`) of the orderers name it.

    Each orderer reports the consenter id it follows (`consensus_smartbft_view_leader_id`); one orderer's
    word is not enough in BFT, and an orderer that is down or catching up names none or an old one."""
    orderers = ctx.topology.orderers
    gauge = "consensus_smartbft_view_leader_id"
    named: list[int] = []
    for orderer in orderers:
        found = channel_gauges(ctx, orderer.operations_port, orderer.org, gauge)
        if gauge in found:
            named.append(int(found[gauge]))
    for consenter_id in set(named):
        # Consenter ids are the orderers' places in the topology, 1-based (configs._consensus_section).
        if 0 < consenter_id <= len(orderers) and named.count(consenter_id) >= bft_quorum(len(orderers)):
            return orderers[consenter_id - 1].node_id
    return None


def raft_leader(ctx: NetworkContext) -> str | None:
    """The orderer that leads the channel's Raft cluster, from the orderers' own metrics."""
    gauge = "consensus_etcdraft_is_leader"
    for orderer in ctx.topology.orderers:
        if channel_gauges(ctx, orderer.operations_port, orderer.org, gauge).get(gauge) == 1:
            return orderer.node_id
    return None


def peer_heights(ctx: NetworkContext) -> dict[str, int | None]:
    heights: dict[str, int | None] = {}
    for peer in ctx.topology.peers:
        try:
            heights[peer.node_id] = ctx.peer_admin(peer).height(ctx.topology.channel)
        except CommandError:
            heights[peer.node_id] = None
    return heights


def all_raft_consenters_active(ctx: NetworkContext, consenters: Sequence[Orderer] | None = None) -> bool:
    """Every orderer counts every consenter active (the Raft leader's count, passed on to the followers).

    An orderer refuses a consenter change that it believes would lose quorum ("0 out of 3 nodes are
    alive"), counting the nodes active as the leader last told it: just after a restart it knows of none.
    `consenters`: the orderers that are consenters (default: every orderer of the topology)."""
    active, size = "consensus_etcdraft_active_nodes", "consensus_etcdraft_cluster_size"
    for orderer in ctx.topology.orderers if consenters is None else consenters:
        gauges = channel_gauges(ctx, orderer.operations_port, orderer.org, active, size)
        if len(gauges) < 2 or not 0 < gauges[size] <= gauges[active]:
            return False
    return True


def orderer_heights(ctx: NetworkContext) -> dict[str, int | None]:
    heights: dict[str, int | None] = {}
    for orderer in ctx.topology.orderers:
        try:
            info = ctx.orderer_admin(orderer).info(ctx.topology.channel)
            heights[orderer.node_id] = int(info.get("height", 0))
        except (CommandError, ValueError):
            heights[orderer.node_id] = None
    return heights
