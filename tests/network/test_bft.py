"""The network ordered by SmartBFT (Fabric 3 only): four consenters, two per organisation, one of which
may fail (3f+1, f = 1). Runs in the session that chooses BFT (scripts/test.sh's Fabric 3.1.5 session:
SEOCHO_FABRIC_VERSION=3.1.5 SEOCHO_ORDERER_TYPE=bft); skipped, with the reason, in a Raft session."""

from __future__ import annotations

import hashlib

import pytest
from fabric_ca.msp import SIGNCERT_FILE
from fabric_network_support import RunningNetwork
from fabric_protos.common import configuration_pb2 as common_config
from fabric_protos.orderer import configuration_pb2 as orderer_config
from fabric_protos.orderer.smartbft import configuration_pb2 as smartbft_config
from polling import wait_for
from seocho_network import config_updates
from seocho_network.processes import running_pid, stop
from seocho_network.status import collect
from seocho_network.topology import BFT, load_topology
from test_network import balance, orderer_heights

pytestmark = [
    pytest.mark.fabric,
    pytest.mark.skipif(
        load_topology().orderer_type != BFT, reason="the session's network is ordered by Raft, not BFT"
    ),
]


def _orderer_group(running: RunningNetwork):  # type: ignore[no-untyped-def]
    config = config_updates.channel_config(running.network, running.district)
    return config.channel_group.groups["Orderer"]


def test_the_channel_is_ordered_by_smartbft_over_every_orderer_with_its_identity(
    after_demo: RunningNetwork,
) -> None:
    group = _orderer_group(after_demo)
    consensus = orderer_config.ConsensusType.FromString(group.values["ConsensusType"].value)
    assert consensus.type == "BFT"
    options = smartbft_config.Options.FromString(consensus.metadata)
    assert options.request_batch_max_interval == after_demo.topology.batch_timeout
    mapping = common_config.Orderers.FromString(group.values["Orderers"].value).consenter_mapping
    orderers = after_demo.topology.orderers
    assert len(orderers) == 4 and [c.id for c in mapping] == [1, 2, 3, 4]
    layout = after_demo.network.layout
    for consenter, orderer in zip(mapping, orderers, strict=True):
        assert (consenter.port, consenter.msp_id) == (orderer.cluster_port, orderer.org.msp_id)
        # The identity SmartBFT checks block signatures with is the node's own enrolment certificate.
        assert consenter.identity == (layout.node(orderer.node_id).msp / SIGNCERT_FILE).read_bytes()
        assert consenter.client_tls_cert == layout.node(orderer.node_id).tls_cert.read_bytes()
    assert {len(org.orderers) for org in after_demo.topology.organizations} == {2}


def test_status_names_the_view_leader_and_every_orderer_has_the_same_height(
    after_demo: RunningNetwork,
) -> None:
    status = collect(after_demo.network)
    assert status.raft_leader in {o.node_id for o in after_demo.topology.orderers}
    wait_for(lambda: len(set(orderer_heights(after_demo).values())) == 1, "the orderers' heights differ")


def test_with_one_bft_orderer_killed_transactions_commit_and_it_catches_up(
    after_demo: RunningNetwork,
) -> None:
    network = after_demo.network
    leader = network.ordering_leader()
    # A follower: the other three are a quorum (2f+1), so ordering goes on without a view change.
    victim = next(o.node_id for o in after_demo.topology.orderers if o.node_id != leader)
    pid_file = network.layout.node(victim).pid
    assert running_pid(pid_file) is not None and stop(pid_file)
    try:
        before = balance(after_demo, "S-0005")
        with after_demo.coin("staff-welfare") as staff:
            for hour in range(3):
                proof = hashlib.sha256(f"bft-down-{hour}".encode() + b"test-salt").hexdigest()
                staff.earn("S-0005", "volunteer_hour", 1, proof, f"VOL-BFT-DOWN-{hour}")
        assert balance(after_demo, "S-0005") == before + 9
    finally:
        network.up()
    wait_for(lambda: len(set(orderer_heights(after_demo).values())) == 1, "the restarted orderer catching up")
