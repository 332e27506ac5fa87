"""A Docker deployment on Fabric 3.1.5 ordered by SmartBFT (issue 20, item 4, in Docker): four orderer
containers, two per organisation, each in its organisation's own Compose project, the channel with the
V3_0 capability and SmartBFT's consenter mapping (each orderer's identity beside its TLS certificates,
announced by its host name on the compose networks). A coin movement needs and gets both organisations'
endorsements; and with one orderer container killed (`docker kill`) under a small load and started
again, it catches up with the others, and every movement the clients were told committed is on the
ledger exactly once (from the block stream), nothing told not committed is there.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator

import pytest
from docker_network_support import container, container_image, docker_running_network
from docker_support import DockerImages, docker
from fabric_ca.msp import SIGNCERT_FILE
from fabric_network_support import RunningNetwork
from fabric_protos.common import common_pb2
from fabric_protos.common import configuration_pb2 as common_config
from fabric_protos.msp import identities_pb2
from fabric_protos.orderer import configuration_pb2 as orderer_config
from fabric_protos.peer import transaction_pb2
from fabric_protos.peer.transaction_pb2 import TxValidationCode
from ledger_record import tally
from load import MEMBERS, Load
from polling import wait_for
from seocho_network import channel, config_updates
from seocho_network.topology import FABRIC_VERSION_VARIABLE, ORDERER_TYPE_VARIABLE, Orderer
from seocho_network.upgrade import channel_capabilities, node_versions
from test_faults_under_load import balance, resolve_unknowns

pytestmark = [pytest.mark.docker, pytest.mark.timeout(1200)]

RELEASE = "3.1.5"


@pytest.fixture(scope="module")
def bft(
    docker_images: DockerImages, tmp_path_factory: pytest.TempPathFactory, docker_port_offset: int
) -> Iterator[RunningNetwork]:
    variables = {FABRIC_VERSION_VARIABLE: RELEASE, ORDERER_TYPE_VARIABLE: "bft"}
    home = tmp_path_factory.mktemp("seocho-docker-bft")
    yield from docker_running_network(docker_images, home, docker_port_offset, variables)


def test_the_channel_is_ordered_by_smartbft_over_four_orderer_containers_on_3_1(
    bft: RunningNetwork, docker_images: DockerImages
) -> None:
    topology, layout = bft.topology, bft.network.layout
    orderers = topology.orderers
    assert len(orderers) == 4 and {len(org.orderers) for org in topology.organizations} == {2}
    # Every orderer and peer container runs the 3.1.5 image, and says so.
    for node in [*orderers, *topology.peers]:
        kind = "ORDERER" if node in orderers else "PEER"
        assert container_image(node) == docker_images.env[f"FABRIC_{kind}_IMAGE_3_1_5"], node.node_id
    assert set(node_versions(bft.network).values()) == {RELEASE}
    assert "V3_0" in channel_capabilities(bft.network)
    group = config_updates.channel_config(bft.network, bft.district).channel_group.groups["Orderer"]
    consensus = orderer_config.ConsensusType.FromString(group.values["ConsensusType"].value)
    assert consensus.type == "BFT"
    mapping = common_config.Orderers.FromString(group.values["Orderers"].value).consenter_mapping
    assert [c.id for c in mapping] == [1, 2, 3, 4]
    for consenter, orderer in zip(mapping, orderers, strict=True):
        # Announced by its host name on the compose networks, at its cluster port.
        assert (consenter.host, consenter.port) == (orderer.node_id, orderer.cluster_port)
        assert consenter.msp_id == orderer.org.msp_id
        assert consenter.identity == (layout.node(orderer.node_id).msp / SIGNCERT_FILE).read_bytes()
        assert consenter.client_tls_cert == layout.node(orderer.node_id).tls_cert.read_bytes()
    assert bft.network.ordering_leader() in {o.node_id for o in orderers}


def _endorsers_and_code(bft: RunningNetwork, tx_id: str, first_block: int) -> tuple[set[str], int]:
    """The MSP ids that endorsed transaction `tx_id` and its validation code, from the block stream."""
    height = bft.network.peer_admin(bft.district.peers[0]).height(bft.topology.channel)
    with bft.gateway("district-auditor") as gateway:
        events = gateway.get_network(bft.topology.channel).block_events(start_block=first_block, timeout=30)
        with events as blocks:
            for block in blocks:
                codes = bytes(block.metadata.metadata[common_pb2.BlockMetadataIndex.TRANSACTIONS_FILTER])
                for index, raw in enumerate(block.data.data):
                    payload = common_pb2.Payload.FromString(common_pb2.Envelope.FromString(raw).payload)
                    header = common_pb2.ChannelHeader.FromString(payload.header.channel_header)
                    if header.tx_id != tx_id:
                        continue
                    endorsers: set[str] = set()
                    for action in transaction_pb2.Transaction.FromString(payload.data).actions:
                        endorsed = transaction_pb2.ChaincodeActionPayload.FromString(action.payload).action
                        for endorsement in endorsed.endorsements:
                            identity = identities_pb2.SerializedIdentity.FromString(endorsement.endorser)
                            endorsers.add(identity.mspid)
                    return endorsers, codes[index]
                if block.header.number + 1 >= height:
                    break
    raise AssertionError(f"transaction {tx_id} is not on the ledger")


def test_a_coin_movement_endorsed_by_both_organisations_is_valid(bft: RunningNetwork) -> None:
    first_block = bft.network.peer_admin(bft.district.peers[0]).height(bft.topology.channel)
    before = balance(bft, "S-0002")
    request = f"BFT-DOCKER-{time.time_ns()}"
    with bft.coin("staff-yangjae1") as staff:
        evidence = hashlib.sha256(request.encode() + b"bft-docker-salt").hexdigest()
        staff.earn("S-0002", "course_session", 1, evidence, request)
        tx_id = staff.backend.last_transaction_id  # type: ignore[attr-defined]
    assert tx_id is not None
    endorsers, code = _endorsers_and_code(bft, tx_id, first_block)
    assert endorsers == {org.msp_id for org in bft.topology.organizations}
    assert code == TxValidationCode.VALID
    assert balance(bft, "S-0002") == before + 1
    # Both organisations' peers have it.
    with bft.coin("district-auditor", bft.partners) as auditor:
        assert int(auditor.get_balance("S-0002")["coins"]) == before + 1


def test_a_killed_bft_orderer_container_catches_up_and_nothing_is_lost(bft: RunningNetwork) -> None:
    leader = bft.network.ordering_leader()
    # A follower: the other three are a quorum (2f+1), ordering goes on without a view change.
    victim = next(o for o in bft.topology.orderers if o.node_id != leader)
    _kill_under_load(bft, victim, leader_killed=False)


def test_the_killed_bft_leader_s_container_is_replaced_by_a_view_change_and_nothing_is_lost(
    bft: RunningNetwork,
) -> None:
    leader = bft.network.ordering_leader()
    assert leader is not None
    victim = next(o for o in bft.topology.orderers if o.node_id == leader)
    _kill_under_load(bft, victim, leader_killed=True)


def _kill_under_load(bft: RunningNetwork, victim: Orderer, leader_killed: bool) -> None:
    """`docker kill` of `victim` under a load of 4 workers; down until the other three have committed a
    movement without it (after a view change when it led), then started again: it catches up with the
    others, and the ledger has every movement the clients were told committed, once, and no other."""
    network = bft.network
    baseline = {member: balance(bft, member) for member in MEMBERS}
    first_block = network.peer_admin(bft.district.peers[0]).height(bft.topology.channel)
    load = Load(bft, workers=4)
    timing: dict[str, float] = {}
    leaders: list[str | None] = []  # named by a quorum of the other three while it is down

    def committed_since(moment: float) -> bool:
        return any(o.result == "valid" and o.finished_at > moment for o in list(load.outcomes))

    def kill_then_start() -> None:
        time.sleep(3)  # the load commits before the fault
        docker("kill", container(victim))
        timing["killed"] = time.monotonic()
        running = docker("inspect", "--format", "{{.State.Running}}", container(victim)).stdout
        assert running.strip() == "false"
        time.sleep(10)  # ordered by the other three meanwhile
        wait_for(
            lambda: committed_since(timing["killed"]),
            "a commit without the killed orderer",
            timeout=max(0.0, timing["killed"] + 90 - time.monotonic()),
            interval=0.5,
        )
        timing["first_commit"] = min(
            o.finished_at
            for o in list(load.outcomes)
            if o.result == "valid" and o.finished_at > timing["killed"]
        )
        if leader_killed:
            leaders.append(network.ordering_leader())
        target = max(
            h for node, h in channel.orderer_heights(network).items() if node != victim.node_id and h
        )
        docker("start", container(victim))
        timing["started"] = time.monotonic()
        # Caught up: at least as high as the others were when it came back (the load goes on meanwhile).
        wait_for(
            lambda: (channel.orderer_heights(network)[victim.node_id] or 0) >= target,
            f"{victim.node_id} at height {target}",
            timeout=120,
            interval=0.5,
        )
        timing["caught_up"] = time.monotonic() - timing["started"]
        timing["behind"] = target

    outcomes, _ = load.run(0.0, kill_then_start, after=8.0, fault_timeout=240)
    resolve_unknowns(bft, outcomes)
    valid_while_down = sum(
        1 for o in outcomes if o.result == "valid" and timing["killed"] < o.finished_at < timing["started"]
    )

    def same_height() -> bool:
        heights = channel.orderer_heights(network)
        return None not in heights.values() and len(set(heights.values())) == 1

    # The load over: every orderer at the same height.
    wait_for(same_height, "every orderer at the same height", timeout=120, interval=1)
    counted = tally(bft, first_block, load.prefix, outcomes)
    role = "the leader" if leader_killed else "a follower"
    print(
        f"\nBFT in Docker, {role} {victim.node_id} killed for {timing['started'] - timing['killed']:.1f} s "
        f"under load: first commit without it {timing['first_commit'] - timing['killed']:.1f} s after the "
        f"kill; {valid_while_down} valid while it was down; back at the others' height "
        f"({timing['behind']:.0f}) {timing['caught_up']:.1f} s after its start; {counted.summary()}"
    )
    if leader_killed:  # a view change: a quorum of the other three named another leader
        assert leaders and leaders[0] not in (None, victim.node_id), leaders
    assert valid_while_down > 0  # ordering went on without it
    counted.assert_nothing_lost()
    for member in MEMBERS:
        valid = [o for o in outcomes if o.member == member and o.result == "valid"]
        expected = baseline[member] + sum(o.coins for o in valid)
        assert balance(bft, member) == expected, member
