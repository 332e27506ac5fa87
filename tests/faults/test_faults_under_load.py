"""Nothing lost under load and faults on the real network (Fabric's integration/raft tests are the model).

A bounded load (three clients earning, paying and donating) runs while, in turn, the Raft leader is killed
(SIGKILL) and restarted, the Gateway's peer is killed and restarted, a chaincode server is killed mid-load
and restarted, and every node is restarted at once. After each fault:
- every submission the client saw committed VALID is on the ledger exactly once;
- every submission whose outcome the client did not learn is resolved by its commit status, and the
  resolution matches the ledger; nothing the client was told "not committed" is on the ledger;
- every member's balance equals a tally kept here from the VALID outcomes, and the supply audit is ok;
- both organisations' peers reach the same height and answer the same state.
At the end, requests are submitted again with their request ids: none credits or charges twice.
"""

from __future__ import annotations

import itertools
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator

import pytest
from fabric_network_support import RunningNetwork
from load import MEMBERS, Load, Outcome
from seocho.gateway_backend import GatewayBackend, connect_gateway
from seocho.profile import load_profile
from seocho_network.processes import signal_node

pytestmark = [pytest.mark.fabric, pytest.mark.faults]

LOAD_SECONDS = 14.0
FAULT_AFTER = 3.0
DOWN_FOR = 4.0


class FaultRun:
    def __init__(self, network: RunningNetwork) -> None:
        self.network = network
        self.load = Load(network)
        self.baseline = {m: balance(network, m) for m in MEMBERS}
        self.summary: list[tuple[str, list[Outcome], float]] = []

    def under_load(self, name: str, fault: Callable[[], None]) -> list[Outcome]:
        began = time.monotonic()
        outcomes = self.load.run(LOAD_SECONDS, threading.Thread(target=_after(FAULT_AFTER, fault)))
        resolve_unknowns(self.network, outcomes)
        self.summary.append((name, outcomes, longest_gap(outcomes, began)))
        return outcomes


def _after(delay: float, fault: Callable[[], None]) -> Callable[[], None]:
    def run() -> None:
        time.sleep(delay)
        fault()

    return run


def balance(network: RunningNetwork, member: str) -> int:
    with network.coin("district-auditor") as auditor:
        return int(auditor.get_balance(member)["coins"])


def history_tx_ids(network: RunningNetwork, member: str) -> Counter[str]:
    seen: Counter[str] = Counter()
    with network.coin("district-auditor") as auditor:
        bookmark = ""
        while True:
            page = auditor.get_member_history(member, 100, bookmark)
            seen.update(m["tx_id"] for m in page["movements"])
            bookmark = page["bookmark"]
            if not bookmark or not page["movements"]:
                return seen


def resolve_unknowns(network: RunningNetwork, outcomes: list[Outcome]) -> None:
    """Settles each unknown outcome by asking the peer for its transaction's commit status."""
    unknown = [o for o in outcomes if o.result == "unknown"]
    if not unknown:
        return
    profile = load_profile(network.profile())
    with connect_gateway(profile, "district-auditor") as gateway:
        contract = gateway.get_network(profile.channel).get_contract(profile.chaincode)
        backend = GatewayBackend(contract)
        for outcome in unknown:
            assert outcome.tx_id is not None
            status = backend.transaction_status(outcome.tx_id, wait=15)
            outcome.result = (
                "not_committed" if status is None else ("valid" if status.successful else "invalid")
            )
            outcome.resolved = True


def longest_gap(outcomes: list[Outcome], began: float) -> float:
    # Only commits the client saw as they happened: a resolved outcome's time is when the client gave up.
    commits = sorted([began] + [o.finished_at for o in outcomes if o.result == "valid" and not o.resolved])
    return max(b - a for a, b in itertools.pairwise(commits)) if len(commits) > 1 else float("inf")


def check_ledger(run: FaultRun) -> None:
    network = run.network
    wait_for_equal_heights(network)
    all_outcomes = run.load.outcomes
    on_ledger: Counter[str] = Counter()
    for member in MEMBERS:
        on_ledger.update(history_tx_ids(network, member))
    for outcome in all_outcomes:
        if outcome.result == "valid":
            assert outcome.tx_id is not None
            assert on_ledger[outcome.tx_id] == 1, (
                f"VALID {outcome} is on the ledger {on_ledger[outcome.tx_id]} times"
            )
        elif outcome.tx_id is not None:
            assert on_ledger[outcome.tx_id] == 0, f"{outcome.result} {outcome} is on the ledger"
    for member in MEMBERS:
        tally = run.baseline[member] + sum(
            o.coins for o in all_outcomes if o.member == member and o.result == "valid"
        )
        assert balance(network, member) == tally, member
    answers = []
    for org in (network.district, network.partners):
        with network.coin("district-auditor", org) as auditor:
            audit = auditor.audit_supply()
            answers.append((audit, [auditor.get_balance(m) for m in MEMBERS]))
    assert answers[0][0]["ok"] is True
    assert answers[0] == answers[1], "the two organisations' peers answer different states"


def wait_for_equal_heights(network: RunningNetwork, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        heights = {
            p.node_id: network.network.peer_admin(p).height(network.topology.channel)
            for p in network.topology.peers
        }
        if len(set(heights.values())) == 1:
            return
        assert time.monotonic() < deadline, f"the peers' heights differ: {heights}"
        time.sleep(0.5)


def kill_and_restart(network: RunningNetwork, node_id: str) -> Callable[[], None]:
    def fault() -> None:
        assert signal_node(network.network.layout.node(node_id).pid, signal.SIGKILL), (
            f"{node_id} was not running"
        )
        time.sleep(DOWN_FOR)
        network.network.up()

    return fault


@pytest.fixture(scope="module")
def fault_run(after_demo: RunningNetwork) -> Iterator[FaultRun]:
    run = FaultRun(after_demo)
    yield run
    print_summary(run)


def test_the_raft_leader_killed_and_restarted(fault_run: FaultRun) -> None:
    leader = fault_run.network.network.raft_leader()
    assert leader is not None
    outcomes = fault_run.under_load(
        f"Raft leader {leader.split('.')[0]} SIGKILL", kill_and_restart(fault_run.network, leader)
    )
    assert any(o.result == "valid" for o in outcomes)
    check_ledger(fault_run)


def test_the_gateways_peer_killed_and_restarted(fault_run: FaultRun) -> None:
    peer = fault_run.network.district.peers[0].node_id
    fault_run.under_load("district peer SIGKILL", kill_and_restart(fault_run.network, peer))
    check_ledger(fault_run)


def test_a_chaincode_server_killed_mid_load_and_restarted(fault_run: FaultRun) -> None:
    server = fault_run.network.partners.chaincode_server.node_id
    fault_run.under_load("Partners chaincode server SIGKILL", kill_and_restart(fault_run.network, server))
    check_ledger(fault_run)


def test_every_node_restarted_at_once(fault_run: FaultRun) -> None:
    network = fault_run.network.network

    def restart_all() -> None:
        network.down()
        network.up()

    fault_run.under_load("all nodes restarted", restart_all)
    check_ledger(fault_run)


def test_resubmitting_with_the_same_request_id_never_credits_or_charges_twice(fault_run: FaultRun) -> None:
    outcomes = fault_run.load.outcomes
    valid = [o for o in outcomes if o.result == "valid"]
    again = [o for o in outcomes if o.resolved] + valid[:: max(1, len(valid) // 8)]
    for outcome in again:
        answer = fault_run.load.resubmit(outcome)
        if outcome.result == "valid":
            assert answer == "refused 409", f"{outcome} was accepted a second time"
        elif answer == "valid":
            outcome.result, outcome.tx_id = "valid", None  # it had not committed: now it has, once
    retried = [o for o in outcomes if o.result in ("not_committed", "invalid")][:5]
    for outcome in retried:
        if fault_run.load.resubmit(outcome) == "valid":
            outcome.result = "valid"  # it had not committed: now it has, once
            outcome.tx_id = None  # (its new transaction id is not needed for the tally)
    # The tally counts each request once, whatever was resubmitted.
    for member in MEMBERS:
        tally = fault_run.baseline[member] + sum(
            o.coins for o in outcomes if o.member == member and o.result == "valid"
        )
        assert balance(fault_run.network, member) == tally, member


def print_summary(run: FaultRun) -> None:
    lines = [
        f"{'fault':<36}{'attempted':>10}{'valid':>7}{'invalid':>9}{'refused':>9}{'not comm.':>11}"
        f"{'resolved':>10}{'lost':>6}{'dup':>5}{'max gap s':>11}"
    ]
    for name, outcomes, gap in run.summary:
        results = Counter(o.result for o in outcomes)
        invalid = Counter(o.detail for o in outcomes if o.result == "invalid")
        lines.append(
            f"{name:<36}{len(outcomes):>10}{results['valid']:>7}{results['invalid']:>9}{results['refused']:>9}"
            f"{results['not_committed']:>11}{sum(o.resolved for o in outcomes):>10}{0:>6}{0:>5}{gap:>11.1f}"
        )
        if invalid:
            lines.append(f"{'':<4}invalidated by code: {dict(invalid)}")
    print(
        "\nfaults under load (lost and dup are 0: check_ledger failed the test otherwise)\n"
        + "\n".join(lines)
    )
