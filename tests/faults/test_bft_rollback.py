"""The Raft to SmartBFT migration undone before its last step, under a load of coin movements (issue 20).

On a network of its own on Fabric 3.1.5 with Raft (its topology a copy the commands record in; the
channel has V3_0 from the start): the demo's story is told; while eight clients earn, pay and donate,
`network.sh upgrade-fabric --to 3.1.5 --bft --stop-before normal` migrates up to the point before
maintenance mode off (the orderers run SmartBFT, the peers are stopped), then `network.sh rollback-bft`
restores every orderer's Raft backup, leaves maintenance, starts the peers and takes the orderer BFT added
out of the channel. Then the channel is ordered by Raft by the topology's three orderers; every movement
the clients were told committed before the migration is on the ledger exactly once, nothing is lost,
doubled or phantom; movements after the rollback commit; the balances are the demo's plus the load's
VALID movements. Last, the migration runs again to the end (fresh backups), and the rollback is refused.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fabric_network_support import RunningNetwork
from fabric_protos.orderer import configuration_pb2 as orderer_pb2
from ledger_record import committed_requests, tally
from load import MEMBERS, STAFF, Load, _evidence
from seocho_network import membership
from seocho_network.bft_migration import BACKUP_LABEL, current_consensus, migration_under_way
from seocho_network.bft_rollback import ABANDONED_LABEL
from seocho_network.config_updates import channel_config
from seocho_network.processes import running_pid
from seocho_network.topology import BFT, RAFT
from test_fabric_upgrade import network_of, reopen
from test_faults_under_load import balance, resolve_unknowns
from upgrade_checks import check_balances, institution_statements
from upgrade_support import (
    AFTER_SECONDS,
    TO,
    default_topology_copy,
    network_sh,
    timed_steps,
)

pytestmark = [pytest.mark.fabric, pytest.mark.faults]

BEFORE_SECONDS = 6.0  # load before the migration begins
MAINTENANCE = orderer_pb2.ConsensusType.State.Value("STATE_MAINTENANCE")
NORMAL = orderer_pb2.ConsensusType.State.Value("STATE_NORMAL")
ADDED = "orderer1.partners.seocho.local"  # the orderer the topology runs only with BFT


@pytest.fixture(scope="module")
def topology_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """network/topology.yaml on 3.1.5 with Raft: the file the commands read and record in."""
    return default_topology_copy(tmp_path_factory.mktemp("rollback-topology"), release=TO)


@pytest.fixture(scope="module")
def raft_network(tmp_path_factory: pytest.TempPathFactory, topology_file: Path) -> Iterator[RunningNetwork]:
    yield from network_of(tmp_path_factory.mktemp("rollback"), topology_file)


def consenters(running: RunningNetwork, topology_file: Path) -> set[tuple[str, int]]:
    raft = reopen(running, topology_file)
    return membership.consenter_ports(channel_config(raft, raft.topology.organizations[0]))


@pytest.mark.timeout(1500)
def test_a_migration_stopped_before_normal_mode_rolls_back_to_raft_under_load(
    raft_network: RunningNetwork, topology_file: Path
) -> None:
    raft = reopen(raft_network, topology_file)
    assert (raft.topology.orderer_type, len(raft.topology.orderers)) == (RAFT, 3)
    assert current_consensus(raft).type == "etcdraft"
    three = consenters(raft_network, topology_file)
    assert len(three) == 3
    demo_statements = institution_statements(raft_network)
    before = {m: balance(raft_network, m) for m in MEMBERS}
    load = Load(raft_network)
    first_block = raft.peer_admin(raft_network.district.peers[0]).height(raft.topology.channel)
    timing: dict[str, float] = {}

    def migrate_then_roll_back() -> tuple[str, str]:
        time.sleep(BEFORE_SECONDS)  # movements committed on Raft first
        timing["migration"] = time.monotonic()
        code, migrated = network_sh(
            raft_network, topology_file, "upgrade-fabric", "--to", TO, "--bft", "--stop-before", "normal"
        )
        assert code == 0, migrated
        # The point before step 10: SmartBFT in maintenance, four orderers, every peer stopped.
        stopped = reopen(raft_network, topology_file)
        ordering = current_consensus(stopped)
        assert (ordering.type, ordering.state) == ("BFT", MAINTENANCE), migrated
        assert stopped.topology.orderer_type == RAFT  # not recorded: the migration did not finish
        states = stopped.runtime.states()
        assert all(states[p.node_id] == "down" for p in stopped.topology.peers), states
        assert running_pid(stopped.layout.node(ADDED).pid) is not None
        timing["rollback"] = time.monotonic()
        code, rolled = network_sh(raft_network, topology_file, "rollback-bft")
        assert code == 0, rolled
        timing["finished"] = time.monotonic()
        return migrated, rolled

    outcomes, found = load.run(0.0, migrate_then_roll_back, after=AFTER_SECONDS, fault_timeout=1200)
    assert found is not None
    migrated, rolled = found
    resolve_unknowns(raft_network, outcomes)

    # Ordered by Raft again, by the topology's three orderers; the one BFT added is out and stopped.
    back = reopen(raft_network, topology_file)
    ordering = current_consensus(back)
    assert (ordering.type, ordering.state) == ("etcdraft", NORMAL)
    assert back.ordering_leader() is not None
    assert consenters(raft_network, topology_file) == three
    for orderer in back.topology.orderers:
        info = back.orderer_admin(orderer).info(back.topology.channel)
        assert (info["consensusRelation"], info["status"]) == ("consenter", "active"), orderer.node_id
    assert running_pid(back.layout.node(ADDED).pid) is None
    assert not back.layout.node(ADDED).data.exists()
    backups = back.layout.root / "backups"
    assert not (backups / BACKUP_LABEL).exists()  # a later migration takes fresh ones
    assert (backups / ABANDONED_LABEL / ADDED / "data").is_dir()
    assert all(state == "up" for state in back.runtime.states().values()), back.runtime.states()

    # Every movement told committed before the migration is on the ledger exactly once; nothing lost.
    on_ledger = committed_requests(raft_network, first_block, load.prefix)
    before_migration = [o for o in outcomes if o.result == "valid" and o.finished_at < timing["migration"]]
    assert before_migration and all(on_ledger[o.request_id] == 1 for o in before_migration)
    counted = tally(raft_network, first_block, load.prefix, outcomes)
    valid_after = counted.valid_started_after(timing["finished"])
    steps = timed_steps(migrated + rolled, "bft: ", "rollback: ")
    migration, rollback = timing["rollback"] - timing["migration"], timing["finished"] - timing["rollback"]
    print(
        f"\nRaft -> SmartBFT up to maintenance off, then back to Raft, under load: migration "
        f"{migration:.1f} s, rollback {rollback:.1f} s "
        f"({steps}); {counted.summary()}; {len(before_migration)} valid before the migration, "
        f"{valid_after} valid started after the rollback"
    )
    counted.assert_nothing_lost()
    assert valid_after > 0

    # The balances: what was there plus exactly the load's VALID movements; the rest the demo's.
    check_balances(raft_network, outcomes, before, demo_statements)

    # The same command again: nothing left to undo.
    code, again = network_sh(raft_network, topology_file, "rollback-bft")
    assert code == 0 and "nothing to undo" in again, again


@pytest.mark.timeout(1200)
def test_after_the_rollback_the_migration_resumed_finishes_and_then_cannot_be_undone(
    raft_network: RunningNetwork, topology_file: Path
) -> None:
    raft_copy = topology_file.with_name("raft-topology.yaml")
    raft_copy.write_text(topology_file.read_text(encoding="utf-8"), encoding="utf-8")
    # Stopped before normal mode again, then resumed: the orderers run SmartBFT, so no second restart.
    code, stopped = network_sh(
        raft_network, topology_file, "upgrade-fabric", "--to", TO, "--bft", "--stop-before", "normal"
    )
    assert code == 0 and stopped.count("stopped before maintenance mode off") == 1, stopped
    assert "bft: orderers restarted as SmartBFT nodes" in stopped, stopped
    assert migration_under_way(reopen(raft_network, topology_file))
    # The same command without --stop-before finishes, with the peers still stopped: no rolling upgrade,
    # no second restart of the orderers.
    code, resumed = network_sh(raft_network, topology_file, "upgrade-fabric", "--to", TO, "--bft")
    assert code == 0 and "the migration to SmartBFT resumes" in resumed, resumed
    timed = [line for line in resumed.splitlines() if line.startswith("bft: ") and line.endswith(" s")]
    finished = [line.split(": ")[1] for line in timed if "took" not in line]
    assert finished == ["maintenance mode off", "peers started on the BFT deliverer"], resumed
    assert "the orderers run SmartBFT already" in resumed, resumed
    bft = reopen(raft_network, topology_file)
    assert not migration_under_way(bft)
    assert (bft.topology.orderer_type, len(bft.topology.orderers)) == (BFT, 4)
    ordering = current_consensus(bft)
    assert (ordering.type, ordering.state) == ("BFT", NORMAL)
    # Fresh backups: taken in this migration, after the movements of the rollback test.
    assert (bft.layout.root / "backups" / BACKUP_LABEL / ADDED / "data").is_dir()

    for topology, reason in ((topology_file, "records ordering type bft"),
                             (raft_copy, "left maintenance mode on BFT")):  # fmt: skip
        code, refused = network_sh(raft_network, topology, "rollback-bft")
        assert code != 0 and reason in refused and "no way back to Raft" in refused, refused
    ordering = current_consensus(bft)
    assert (ordering.type, ordering.state) == ("BFT", NORMAL)
    assert all(state == "up" for state in bft.runtime.states().values()), bft.runtime.states()
    current = balance(raft_network, "S-0003")
    request_id = f"after-refusal-{time.monotonic_ns()}"
    with raft_network.coin(STAFF) as staff:
        staff.earn("S-0003", "course_session", 1, _evidence(request_id), request_id)
    assert balance(raft_network, "S-0003") == current + 1
