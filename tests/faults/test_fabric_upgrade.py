"""The rolling upgrade from Fabric 2.5.16 to 3.1.5 under a load of coin movements (issue 20, item 5).

On a network of its own, on 2.5.16 with Raft whatever the session runs (its topology is a copy whose
`fabric_version` the upgrade rewrites): the demo's story is told, then while eight clients earn, pay and
donate, `upgrade_fabric` restarts each orderer, then each peer, on 3.1.5 (ledgers kept), records 3.1.5 in
the topology and enables the channel's V3_0 capability, signed by both organisations' admins (first, a
partial upgrade is rolled back under load, as the runbook says one may before that step). Then:
every node's operations endpoint says 3.1.5 and its process runs the 3.1.5 program; from the block
stream, nothing the clients were told committed is lost, nothing is committed twice, nothing told not
committed is there; every member's balance is the demo's plus the load's VALID movements, the
institutions the load never touched keep the demo's balances exactly, the supply audit is ok and both
organisations' peers answer the same. A new movement commits; and after `down`, a plain `up` of the
topology starts 3.1.5 again and the network commits. The upgrade's measured time is printed.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from fabric_network_support import RunningNetwork, start_session_network
from fabric_protos.orderer import configuration_pb2 as orderer_pb2
from ledger_record import tally
from load import MEMBERS, STAFF, Load, _evidence
from seocho.cli import cli
from seocho_network import Network
from seocho_network.bft_migration import current_consensus, with_orderers_of
from seocho_network.binaries import cache_root
from seocho_network.processes import running_pid
from seocho_network.topology import (
    BFT,
    FABRIC_VERSION_VARIABLE,
    ORDERER_TYPE_VARIABLE,
    RAFT,
    TopologyError,
    load_topology,
)
from seocho_network.upgrade import (
    UpgradeReport,
    at_release,
    channel_capabilities,
    node_versions,
    upgrade_fabric,
    upgrade_node,
    wait_for_consenter,
    wait_for_peer,
)
from test_faults_under_load import balance, resolve_unknowns
from upgrade_checks import a_new_earning_commits, check_balances, institution_statements
from upgrade_support import (
    AFTER_SECONDS,
    FROM,
    TO,
    default_topology_copy,
    network_sh,
    timed_steps,
)

pytestmark = [pytest.mark.fabric, pytest.mark.faults]


@pytest.fixture(scope="module")
def topology_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """network/topology.yaml on 2.5.16 and Raft: the file the upgrade records its release in."""
    return default_topology_copy(tmp_path_factory.mktemp("upgrade-topology"))


@pytest.fixture(scope="module")
def old_network(tmp_path_factory: pytest.TempPathFactory, topology_copy: Path) -> Iterator[RunningNetwork]:
    yield from network_of(tmp_path_factory.mktemp("upgrade"), topology_copy)  # the 2.5 one


def network_of(home: Path, topology_file: Path) -> Iterator[RunningNetwork]:
    """A network of `topology_file` whatever release and consensus the session's runs, the demo's story
    told; at the end down with every orderer the BFT migration may have started."""
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv(FABRIC_VERSION_VARIABLE, raising=False)
        patch.delenv(ORDERER_TYPE_VARIABLE, raising=False)
        for running in start_session_network(home, topology_file):
            told = CliRunner().invoke(cli, ["--profile", str(running.profile()), "demo", "--json"])
            assert told.exit_code == 0, told.stderr
            try:
                yield running
            finally:
                stop_every_orderer(running, topology_file)


def reopen(running: RunningNetwork, topology_file: Path) -> Network:
    """The network opened again from its topology file, as a later `network.sh` command would."""
    base = running.network
    return Network.open(
        base.layout.root, topology_file, say=running.said.append, port_offset=base.topology.port_offset
    )


def stop_every_orderer(running: RunningNetwork, topology_file: Path) -> None:
    """Down with BFT's fourth orderer too, which runs from the migration's first step on, whether or
    not the topology says bft yet (it cannot on 2.5: then the fourth never started)."""
    try:
        every = with_orderers_of(reopen(running, topology_file), topology_file, BFT, as_type=RAFT)
    except TopologyError:
        every = reopen(running, topology_file)
    every.down()


@pytest.fixture(scope="module")
def demo_statements(old_network: RunningNetwork) -> dict[str, object]:
    """The untouched institutions' statements as the demo left them (before any load or upgrade)."""
    statements = institution_statements(old_network)
    assert statements["seocho-welfare"]["settlements"], statements  # type: ignore[index]
    return statements


@pytest.mark.timeout(1200)
def test_before_the_capability_step_a_partial_upgrade_rolls_back(
    old_network: RunningNetwork, topology_copy: Path, demo_statements: dict[str, object]
) -> None:
    """One orderer and one peer on 3.1.5, then `upgrade_fabric` back to 2.5.16 (the runbook's rollback),
    all under load: every node on 2.5.16 again with its ledger, nothing lost, the channel still V2_0."""
    network = old_network.network
    upgraded = at_release(network, TO)
    load = Load(old_network)
    first_block = network.peer_admin(old_network.district.peers[0]).height(network.topology.channel)

    def partly_then_back() -> UpgradeReport:
        assert upgrade_node(network, upgraded, old_network.district.orderers[0], wait_for_consenter)
        assert upgrade_node(network, upgraded, old_network.partners.peers[0], wait_for_peer)
        versions = node_versions(network)
        assert versions[old_network.district.orderers[0].node_id] == TO
        assert versions[old_network.partners.peers[0].node_id] == TO
        return upgrade_fabric(upgraded, FROM, topology_copy)

    outcomes, report = load.run(0.0, partly_then_back, after=4.0, fault_timeout=900)
    assert report is not None and len(report.steps) == 2 and not report.capability_enabled
    resolve_unknowns(old_network, outcomes)
    assert set(node_versions(network).values()) == {FROM}
    assert "V3_0" not in channel_capabilities(network)
    assert load_topology(topology_copy).fabric_version == FROM
    counted = tally(old_network, first_block, load.prefix, outcomes)
    print(f"\nrollback of a partial upgrade under load: {report.total:.1f} s; {counted.summary()}")
    counted.assert_nothing_lost()
    assert institution_statements(old_network) == demo_statements


@pytest.mark.timeout(2400)
def test_a_rolling_upgrade_to_3_1_under_load_loses_nothing(
    old_network: RunningNetwork, topology_copy: Path, demo_statements: dict[str, object]
) -> None:
    network = old_network.network
    assert set(node_versions(network).values()) == {FROM}
    assert "V3_0" not in channel_capabilities(network)
    demo_members = {m: balance(old_network, m) for m in MEMBERS}
    load = Load(old_network)
    first_block = network.peer_admin(old_network.district.peers[0]).height(network.topology.channel)
    timing: dict[str, float] = {}

    def upgrade() -> UpgradeReport:
        began = time.monotonic()
        report = upgrade_fabric(network, TO, topology_copy)
        timing["finished"] = time.monotonic()
        timing["upgrade"] = timing["finished"] - began
        return report

    outcomes, report = load.run(0.0, upgrade, after=AFTER_SECONDS, fault_timeout=1800)
    assert report is not None
    resolve_unknowns(old_network, outcomes)

    # Every orderer and peer serves 3.1.5: as it says, and as the program its process runs.
    assert set(node_versions(network).values()) == {TO}
    release_bin = (cache_root() / f"fabric-{TO}" / "bin").resolve()
    for node_id in network.topology.node_ids()[len(network.topology.cas) :]:
        pid = running_pid(network.layout.node(node_id).pid)
        assert pid is not None, node_id
        assert Path(f"/proc/{pid}/exe").resolve().parent == release_bin, node_id
    assert "V3_0" in channel_capabilities(network) and report.capability_enabled
    assert load_topology(topology_copy).fabric_version == TO

    # Nothing lost, nothing doubled, nothing phantom (the ledger's block stream against the clients).
    counted = tally(old_network, first_block, load.prefix, outcomes)
    valid_after = counted.valid_started_after(timing["finished"])
    steps = "; ".join(f"{what} {seconds:.1f} s" for what, seconds in report.steps)
    print(
        f"\nrolling upgrade {FROM} -> {TO} under load: {timing['upgrade']:.1f} s ({steps}); "
        f"{counted.summary()}; {valid_after} valid started after it"
    )
    counted.assert_nothing_lost()
    assert valid_after > 0

    # The demo's balances, plus exactly the load's VALID movements; the rest exactly the demo's.
    check_balances(old_network, outcomes, demo_members, demo_statements)

    a_new_earning_commits(old_network, f"{load.prefix}after-upgrade")  # on 3.1.5 with V3_0


@pytest.mark.timeout(900)
def test_after_the_upgrade_a_plain_up_starts_3_1(old_network: RunningNetwork, topology_copy: Path) -> None:
    before = old_network.network
    before.down()
    reopened = Network.open(
        before.layout.root,
        topology_copy,
        say=old_network.said.append,
        port_offset=before.topology.port_offset,
    )
    assert reopened.topology.fabric_version == TO
    reopened.up()
    assert set(node_versions(reopened).values()) == {TO}
    current = balance(old_network, "S-0003")
    request_id = f"after-up-{time.monotonic_ns()}"
    with old_network.coin(STAFF) as staff:
        staff.earn("S-0003", "course_session", 1, _evidence(request_id), request_id)
    assert balance(old_network, "S-0003") == current + 1


@pytest.mark.timeout(1800)
def test_then_raft_migrates_to_smartbft_under_load_and_loses_nothing(
    old_network: RunningNetwork, topology_copy: Path, demo_statements: dict[str, object]
) -> None:
    """Fabric's Raft to BFT migration on the upgraded channel, under the same load: the Partners' second
    orderer joins Raft first (3f+1 = 4), then maintenance mode, backup, type BFT, restart, normal mode.
    The clients are refused while the channel is in maintenance, and nothing is lost or doubled."""
    raft = reopen(old_network, topology_copy)
    assert (raft.topology.orderer_type, len(raft.topology.orderers)) == (RAFT, 3)
    load = Load(old_network)
    first_block = raft.peer_admin(old_network.district.peers[0]).height(raft.topology.channel)
    before = {m: balance(old_network, m) for m in MEMBERS}
    timing: dict[str, float] = {}

    def upgrade_command() -> str:
        code, output = network_sh(old_network, topology_copy, "upgrade-fabric", "--to", TO, "--bft")
        assert code == 0, output
        return output

    def migrate() -> str:
        # Every node is on 3.1.5 and the channel has V3_0 already: only the migration is left to do.
        began = time.monotonic()
        output = upgrade_command()
        timing["finished"] = time.monotonic()
        timing["migration"] = timing["finished"] - began
        return output

    outcomes, output = load.run(0.0, migrate, after=AFTER_SECONDS, fault_timeout=1500)
    assert output is not None
    resolve_unknowns(old_network, outcomes)
    skipped = [line for line in output.splitlines() if line.endswith(": done already")]
    # Every node, and the capability step.
    assert len(skipped) == len(raft.topology.orderers) + len(raft.topology.peers) + 1, output
    assert "the channel has the V3_0 capability already" in output

    bft = reopen(old_network, topology_copy)
    assert (bft.topology.orderer_type, len(bft.topology.orderers)) == (BFT, 4)
    ordering = current_consensus(bft)
    assert (ordering.type, ordering.state) == ("BFT", orderer_pb2.ConsensusType.State.Value("STATE_NORMAL"))
    assert bft.ordering_leader() is not None  # a view leader a quorum of the four names
    for orderer in bft.topology.orderers:
        info = bft.orderer_admin(orderer).info(bft.topology.channel)
        assert (info["consensusRelation"], info["status"]) == ("consenter", "active"), orderer.node_id
    assert set(node_versions(bft).values()) == {TO}

    counted = tally(old_network, first_block, load.prefix, outcomes)
    valid_after = counted.valid_started_after(timing["finished"])
    steps = timed_steps(output, "bft: ")
    print(
        f"\nRaft -> SmartBFT under load: {timing['migration']:.1f} s ({steps}); {counted.summary()}; "
        f"{valid_after} valid started after it"
    )
    counted.assert_nothing_lost()
    assert valid_after > 0
    check_balances(old_network, outcomes, before, demo_statements)
    # The same command once more: everything is done, so it does nothing and says so.
    again = upgrade_command()
    assert "ordered by SmartBFT already" in again and "maintenance" not in again, again
