"""Nothing lost under load when a SmartBFT orderer is killed: the BFT session's counterpart of
test_faults_under_load's Raft leader test (same load, same ledger checks: lost, duplicated and phantom
counted from the block stream must be 0).

A follower is SIGKILLed: the three others are a quorum (2f+1), so commits go on while it is down; once
restarted it catches up with the others' height. Then SmartBFT's view leader is SIGKILLed: the followers
complain and change the view (seconds, with the channel's shortened SmartBFT timeouts), and the Gateway
clients' transactions are ordered by the new leader. Skipped, with the reason, in a Raft session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fabric_network_support import RunningNetwork
from polling import wait_for
from seocho_network.channel import orderer_heights
from seocho_network.topology import BFT, load_topology
from test_faults_under_load import FaultRun, check_ledger, kill_and_restart, print_summary

pytestmark = [
    pytest.mark.fabric,
    pytest.mark.faults,
    pytest.mark.skipif(
        load_topology().orderer_type != BFT, reason="the session's network is ordered by Raft, not BFT"
    ),
]


@pytest.fixture(scope="module")
def bft_run(after_demo: RunningNetwork) -> Iterator[FaultRun]:
    run = FaultRun(after_demo)
    yield run
    print_summary(run)


def _caught_up(run: FaultRun) -> None:
    def caught_up() -> bool:
        heights = orderer_heights(run.network.network)
        return None not in heights.values() and len(set(heights.values())) == 1

    wait_for(caught_up, "an orderer did not catch up")


def test_a_bft_follower_killed_under_load_commits_go_on_and_it_catches_up(bft_run: FaultRun) -> None:
    network = bft_run.network.network
    leader = network.ordering_leader()
    assert leader is not None
    follower = next(o.node_id for o in bft_run.network.topology.orderers if o.node_id != leader)
    measured = bft_run.under_load(
        f"BFT follower {follower.split('.seocho')[0]} SIGKILL", kill_and_restart(follower)
    )
    fault = measured.fault
    assert any(
        o.result == "valid" and fault.killed_at < o.finished_at < fault.served_at for o in measured.outcomes
    ), "no commit while one of four BFT orderers was down"
    _caught_up(bft_run)
    check_ledger(bft_run)


def test_the_bft_view_leader_killed_under_load_a_new_view_orders(bft_run: FaultRun) -> None:
    network = bft_run.network.network
    leader = network.ordering_leader()
    assert leader is not None
    bft_run.under_load(f"BFT leader {leader.split('.seocho')[0]} SIGKILL", kill_and_restart(leader))
    wait_for(lambda: network.ordering_leader() is not None, "no view leader named by a quorum")
    _caught_up(bft_run)
    check_ledger(bft_run)
