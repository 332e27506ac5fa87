"""A peer added to the running channel joins from a ledger snapshot of another peer (issue 18, item 5).

On the session network, with coin movements committed: the district's peer takes a snapshot
(`network.sh peer snapshot`, which prints its directory); the district's second peer (the fragment
network/orgs/district-peer1.yaml) is issued and started (`org up`) and joins from that snapshot
(`channel join-running SeochoDistrict --from-snapshot DIR`), with movements committed in between, so it
must pull the blocks after the snapshot from the orderers. It then has every block, says it started from
the snapshot's block, answers the same balances through its own Gateway (its endorser counts the
evaluations), keeps committing new movements, and a second snapshot of both peers at one block has the
same hash: their states agree. A snapshot request for a block already passed, for a channel the peer
does not have, or a snapshot whose files were altered is a clear error that leaves nothing behind; one
for a block far ahead is cancelled when its wait times out.
"""

from __future__ import annotations

import hashlib
import shutil
import threading
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import fabric_gateway as fg
import pytest
from fabric_network_support import RunningNetwork
from network_cli_support import network_sh_process
from seocho.coin import Coin
from seocho.gateway_backend import GatewayBackend
from seocho.profile import load_profile
from seocho_network import Network, snapshots
from seocho_network.admin import metrics, operations_client, wait_until
from seocho_network.channel import peers_known
from seocho_network.context import NetworkError
from seocho_network.topology import Peer

pytestmark = pytest.mark.fabric

REPO = Path(__file__).resolve().parents[2]
FRAGMENT = REPO / "network" / "orgs" / "district-peer1.yaml"
STAFF = "staff-yangjae1"  # the demo's community centre: a course session earns 1 coin
AUDITOR = "district-auditor"
MEMBERS = ("S-0001", "S-0002", "S-0003", "S-0004")


@pytest.fixture(scope="module")
def second_peer(after_demo: RunningNetwork) -> Iterator[Network]:
    """The session network opened with the district's second peer; the peer is stopped at the end, and
    the others have forgotten it (gossip) before the next module's tests ask discovery for endorsers."""
    base = after_demo.network
    extra = Network.open(
        base.layout.root, say=after_demo.said.append, port_offset=base.topology.port_offset, joined=[FRAGMENT]
    )
    try:
        yield extra
    finally:
        extra.runtime.stop([extra.org("SeochoDistrict").peers[1]])
        others = len(base.topology.peers) - 1

        def forgotten() -> bool:
            return all(peers_known(base, peer) <= others for peer in base.topology.peers)

        wait_until(forgotten, "gossip forgetting the stopped peer", 120, lambda: True)


def earn_each(running: RunningNetwork, prefix: str) -> None:
    """One course session for each member, from a thread per member (all in flight at once)."""
    failures: list[BaseException] = []

    def earn(lane: int, member: str) -> None:
        try:
            with running.coin(STAFF) as coin:
                request_id = f"{prefix}-{member}"
                evidence = hashlib.sha256(f"sheet {request_id} salt".encode()).hexdigest()
                coin.earn(member, "course_session", 1, evidence, request_id, lane)
        except BaseException as exc:  # a helper thread's failure fails the test
            failures.append(exc)

    threads = [threading.Thread(target=earn, args=item) for item in enumerate(MEMBERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]


def balances_via(running: RunningNetwork, network: Network, peer: Peer) -> dict[str, int]:
    """Every member's balance as `peer`'s own Gateway answers (as the district's auditor)."""
    auditor = load_profile(running.profile()).identity(AUDITOR)
    identity, signer = fg.load_msp_directory(auditor.msp_id, auditor.msp_dir)
    with ExitStack() as stack:
        gateway = stack.enter_context(
            fg.connect(
                peer.address, identity, signer, tls_root_certs=network.layout.org_tls_ca_cert(peer.org),
                server_name_override=peer.node_id,
            )
        )  # fmt: skip
        contract = gateway.get_network(network.topology.channel).get_contract(network.topology.chaincode.name)
        coin = Coin(GatewayBackend(contract))
        return {member: int(coin.get_balance(member)["coins"]) for member in MEMBERS}


def proposals_received(network: Network, peer: Peer) -> float:
    """The peer's endorser's count of proposals it received (evaluations included), from its metrics."""
    text = metrics(peer.operations_port, operations_client(network.layout, peer.org))
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("endorser_proposals_received")
    )


def equal_heights(network: Network, peers: tuple[Peer, ...]) -> int:
    channel = network.topology.channel
    heights: set[int] = set()

    def equal() -> bool:
        heights.clear()
        heights.update(network.peer_admin(p).height(channel) for p in peers)
        return len(heights) == 1

    wait_until(equal, "equal heights", 120, lambda: True)
    return heights.pop()


def test_a_snapshot_request_for_a_passed_block_or_an_unknown_channel_is_refused(
    after_demo: RunningNetwork, second_peer: Network
) -> None:
    source = second_peer.org("SeochoDistrict").peers[0]
    height = second_peer.peer_admin(source).height(second_peer.topology.channel)
    assert height > 2
    with pytest.raises(NetworkError, match="cannot be less than the last committed block number"):
        snapshots.take(second_peer, source, block=1)
    with pytest.raises(NetworkError, match="has no channel 'no-such-channel'"):
        snapshots.take(second_peer, source, channel="no-such-channel")
    refused = network_sh_process(after_demo.network, "peer", "snapshot", "--block", "1")
    assert refused.returncode == 1, refused.stdout
    assert "cannot be less than the last committed block number" in refused.stderr
    unknown = network_sh_process(after_demo.network, "peer", "snapshot", "--channel", "no-such-channel")
    assert unknown.returncode == 1 and "has no channel 'no-such-channel'" in unknown.stderr
    # A block far ahead is waited for until the timeout, and the request is then cancelled.
    with pytest.raises(NetworkError, match=r"not written within 3 s .* the request is cancelled"):
        snapshots.take(second_peer, source, block=height + 10_000, timeout=3)
    # Nothing was left behind: no request pending, no snapshot written.
    assert snapshots.pending(second_peer, source) == []
    assert not (snapshots.snapshots_root(second_peer, source) / "completed" / "no-such-channel").exists()
    assert not snapshots.completed_directory(second_peer, source, "seocho", 1).exists()


@pytest.mark.timeout(900)
def test_a_second_peer_joins_from_a_snapshot_and_keeps_committing(
    after_demo: RunningNetwork, second_peer: Network, tmp_path: Path
) -> None:
    channel = second_peer.topology.channel
    district = second_peer.org("SeochoDistrict")
    source, joining = district.peers
    earn_each(after_demo, "SNAP-BEFORE")

    taken = network_sh_process(after_demo.network, "peer", "snapshot", "--peer", source.node_id)
    assert taken.returncode == 0, taken.stderr
    directory = Path(taken.stdout.strip().splitlines()[-1])
    snapshot = snapshots.read_snapshot(directory)
    assert directory == snapshots.completed_directory(second_peer, source, channel, snapshot.last_block)
    assert snapshot.height >= 3 and snapshot.channel == channel
    listed = network_sh_process(after_demo.network, "peer", "snapshots", "--peer", source.node_id)
    assert f"{snapshot.last_block}\t{snapshot.snapshot_hash}\t{directory}" in listed.stdout.splitlines()

    # A copy whose state file was altered is refused before any peer sees it.
    altered = tmp_path / "altered"
    shutil.copytree(directory, altered)
    state = next(p for p in altered.iterdir() if "public_state" in p.name and p.name.endswith(".data"))
    state.chmod(0o644)
    state.write_bytes(state.read_bytes() + b"\x00")
    refused = network_sh_process(
        after_demo.network,
        "--join",
        str(FRAGMENT),
        "channel",
        "join-running",
        "SeochoDistrict",
        "--from-snapshot",
        str(altered),
    )
    assert refused.returncode == 1 and "does not match its hash" in refused.stderr, refused.stderr

    earn_each(after_demo, "SNAP-AFTER")  # blocks the joining peer must pull from the orderers
    up = network_sh_process(after_demo.network, "--join", str(FRAGMENT), "org", "up", "SeochoDistrict")
    assert up.returncode == 0, up.stderr
    assert channel not in second_peer.peer_admin(joining).channels()
    joined = network_sh_process(
        after_demo.network,
        "--join",
        str(FRAGMENT),
        "channel",
        "join-running",
        "SeochoDistrict",
        "--from-snapshot",
        str(directory),
    )
    assert joined.returncode == 0, joined.stderr
    assert (
        f"{joining.node_id}: joined {channel} from the snapshot at block {snapshot.last_block}"
        in joined.stdout
    )
    # Its copy of the snapshot went once imported: the peer's ledger is the only copy it keeps.
    assert not (second_peer.layout.node(joining.node_id).data / snapshots.JOINING_SNAPSHOTS).exists()

    # It started from the snapshot, not from block 0, and has every block since.
    assert snapshots.bootstrapped_at(second_peer, joining) == snapshot.last_block
    assert snapshots.bootstrapped_at(second_peer, source) is None
    height = equal_heights(second_peer, (source, joining))
    assert height > snapshot.height

    # Its own Gateway answers the source's balances, and its endorser ran those evaluations.
    expected = balances_via(after_demo, second_peer, source)
    before = proposals_received(second_peer, joining)
    assert balances_via(after_demo, second_peer, joining) == expected
    assert proposals_received(second_peer, joining) >= before + len(MEMBERS)

    # It keeps committing: new movements reach it, and its answers follow them.
    earn_each(after_demo, "SNAP-LATER")
    later = equal_heights(second_peer, (source, joining))
    assert later > height
    assert balances_via(after_demo, second_peer, joining) == {m: c + 1 for m, c in expected.items()}

    # Both peers' snapshots at one block have the same hash: the same state (Fabric's fork check).
    block = later - 1
    ours, theirs = (snapshots.take(second_peer, peer, block=block) for peer in (source, joining))
    assert ours.last_block == theirs.last_block == block
    assert ours.snapshot_hash == theirs.snapshot_hash
