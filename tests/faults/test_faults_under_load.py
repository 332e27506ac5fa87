"""Nothing lost under load and faults on the real network (Fabric's integration/raft tests are the model).

Eight clients earn, pay and donate while, in turn, the Raft leader is killed (SIGKILL) and restarted, the
Gateway's peer is killed and restarted, a chaincode server is killed mid-load and restarted, and every node
is restarted at once (16 s of load or more per fault, over a minute in all). Each fault proves it
happened (the killed PID is gone, the node serves again under a new PID) and that the load ran through it
(VALID commits before and after it; during it too where the network can still commit). Then, from the
ledger itself (every VALID transaction of the block stream whose request id carries the run's prefix)
against what the clients were told: lost (told committed, absent), duplicated (one request id committed
twice) and phantom (told not committed, present) are counted, printed, and must be 0; every balance equals
the tally of VALID outcomes, the supply audit is ok, and both organisations' peers answer the same state.
A worker's or a fault's exception fails the test. The table also shows the longest time without a commit
after the fault and the slowest call (the SDK offers a transaction again after 4 s without a commit
status, so a Raft leader's crash costs seconds, not the 60 s commit-status timeout).
"""

from __future__ import annotations

import itertools
import signal
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fabric_network_support import RunningNetwork
from ledger_record import accounting, committed_requests
from load import MEMBERS, Load, Outcome
from polling import wait_for
from seocho.gateway_backend import GatewayBackend, connect_gateway
from seocho.profile import load_profile
from seocho_network.processes import running_pid, signal_node

pytestmark = [pytest.mark.fabric, pytest.mark.faults]

LOAD_SECONDS = 16.0
AFTER_SECONDS = 6.0  # load kept up after the fault, so that "after" has commits to show


@dataclass
class Fault:
    """What a fault did: which nodes, their PIDs before and after, when they died and served again."""

    nodes: list[str]
    old_pids: list[int]
    new_pids: list[int]
    killed_at: float
    served_at: float


@dataclass
class Measured:
    name: str
    outcomes: list[Outcome]
    fault: Fault
    lost: int
    duplicated: int
    phantom: int
    longest_gap: float
    slowest_call: float


class FaultRun:
    def __init__(self, network: RunningNetwork) -> None:
        self.network = network
        self.load = Load(network)
        self.first_block = network.network.peer_admin(network.district.peers[0]).height(
            network.topology.channel
        )
        self.baseline = {m: balance(network, m) for m in MEMBERS}
        self.summary: list[Measured] = []

    def valid_since(self, moment: float) -> bool:
        return any(o.result == "valid" and o.finished_at > moment for o in list(self.load.outcomes))

    def under_load(
        self, name: str, fault: Callable[[FaultRun], Fault], fault_timeout: float = 300.0
    ) -> Measured:
        outcomes, done = self.load.run(
            LOAD_SECONDS, lambda: fault(self), after=AFTER_SECONDS, fault_timeout=fault_timeout
        )
        assert done is not None
        resolve_unknowns(self.network, outcomes)
        lost, duplicated, phantom = accounting(self.network, self.first_block, self.load.prefix, outcomes)
        measured = Measured(
            name, outcomes, done, lost=lost, duplicated=duplicated, phantom=phantom,
            longest_gap=longest_gap(outcomes, done.killed_at),
            slowest_call=max((o.finished_at - o.started_at for o in outcomes), default=0.0),
        )  # fmt: skip
        self.summary.append(measured)
        # The load ran through the fault: commits before it and after the node served again.
        assert any(o.result == "valid" and o.finished_at < done.killed_at for o in outcomes), name
        assert any(o.result == "valid" and o.started_at > done.served_at for o in outcomes), name
        assert (measured.lost, measured.duplicated, measured.phantom) == (0, 0, 0), measured
        return measured


def pid_gone(pid: int) -> bool:
    """The process is gone (or a zombie: dead, only not yet reaped)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state in ("Z", "X")


def kill_and_restart(
    *node_ids: str, down_for: float = 4.0, down_until_a_commit: bool = False
) -> Callable[[FaultRun], Fault]:
    """SIGKILL the nodes once the load has committed, prove them dead, restart them, prove them serving.

    With `down_until_a_commit` the nodes stay down past `down_for` until the load commits without them
    (30 s at most, or the test fails): on a loaded machine an election plus a client's resubmission can
    take longer than `down_for`, and the fault must show the network ordering on without the node.
    """

    def fault(run: FaultRun) -> Fault:
        network = run.network.network
        began = time.monotonic()
        wait_for(lambda: run.valid_since(began), "no VALID commit before the fault")
        files = [network.layout.node(node).pid for node in node_ids]
        old = [running_pid(f) for f in files]
        assert all(old), f"not running before the fault: {dict(zip(node_ids, old, strict=True))}"
        killed_at = time.monotonic()
        for f in files:
            assert signal_node(f, signal.SIGKILL)
        wait_for(lambda: all(pid_gone(pid) for pid in old if pid), "a killed node is still running")
        time.sleep(down_for)  # how long the fault lasts (a parameter of the fault, not a wait for a race)
        if down_until_a_commit:
            wait_for(lambda: run.valid_since(killed_at), "no VALID commit while the node was down", 30.0)
        network.up()  # restarts what is not running, and waits until each node serves
        new = [running_pid(f) for f in files]
        assert all(new) and not set(new) & set(old), f"not restarted under new PIDs: {old} -> {new}"
        served_at = time.monotonic()
        return Fault(list(node_ids), [p for p in old if p], [p for p in new if p], killed_at, served_at)

    return fault


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


def longest_gap(outcomes: list[Outcome], since: float) -> float:
    """The longest time without a commit the clients saw, from `since` (the fault) to the last commit."""
    # A resolved outcome's time is when the client gave up, not when it committed: left out.
    seen = [o.finished_at for o in outcomes if o.result == "valid" and not o.resolved]
    commits = sorted([since] + [moment for moment in seen if moment > since])
    return max((b - a for a, b in itertools.pairwise(commits)), default=float("inf"))


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


def wait_for_equal_heights(network: RunningNetwork) -> None:
    def heights() -> set[int]:
        return {
            network.network.peer_admin(p).height(network.topology.channel) for p in network.topology.peers
        }

    wait_for(lambda: len(heights()) == 1, "the peers' heights differ")


@pytest.fixture(scope="module")
def fault_run(after_demo: RunningNetwork) -> Iterator[FaultRun]:
    run = FaultRun(after_demo)
    yield run
    print_summary(run)


def test_the_raft_leader_killed_and_restarted(fault_run: FaultRun) -> None:
    leader = fault_run.network.network.raft_leader()
    assert leader is not None
    measured = fault_run.under_load(
        f"Raft leader {leader.split('.')[0]} SIGKILL", kill_and_restart(leader, down_until_a_commit=True)
    )
    # The two other orderers elect a leader and order on: commits while the killed one is down.
    fault = measured.fault
    assert any(
        o.result == "valid" and fault.killed_at < o.finished_at < fault.served_at for o in measured.outcomes
    )
    check_ledger(fault_run)


def test_the_gateways_peer_killed_and_restarted(fault_run: FaultRun) -> None:
    peer = fault_run.network.district.peers[0].node_id
    fault_run.under_load("district peer SIGKILL", kill_and_restart(peer))
    check_ledger(fault_run)


def test_a_chaincode_server_killed_mid_load_and_restarted(fault_run: FaultRun) -> None:
    server = fault_run.network.partners.chaincode_server.node_id
    fault_run.under_load("Partners chaincode server SIGKILL", kill_and_restart(server))
    check_ledger(fault_run)


def test_every_node_restarted_at_once(fault_run: FaultRun) -> None:
    def restart_all(run: FaultRun) -> Fault:
        network = run.network.network
        began = time.monotonic()
        wait_for(lambda: run.valid_since(began), "no VALID commit before the fault")
        topology = run.network.topology
        every = [*topology.node_ids(), *(org.chaincode_server.node_id for org in topology.organizations)]
        nodes = [node for node in every if running_pid(network.layout.node(node).pid)]
        old = [running_pid(network.layout.node(node).pid) or 0 for node in nodes]
        killed_at = time.monotonic()
        network.down()
        assert all(pid_gone(pid) for pid in old)
        network.up()
        new = [running_pid(network.layout.node(node).pid) or 0 for node in nodes]
        assert all(new) and not set(new) & set(old), f"not every node restarted: {old} -> {new}"
        return Fault(nodes, old, new, killed_at, time.monotonic())

    fault_run.under_load("all nodes restarted", restart_all)
    check_ledger(fault_run)


def test_resubmitting_with_the_same_request_id_never_credits_or_charges_twice(fault_run: FaultRun) -> None:
    # Its own load (no fault), so that it needs no other test: then every request again, same request id.
    outcomes, _ = fault_run.load.run(6.0)
    resolve_unknowns(fault_run.network, outcomes)
    valid = [o for o in outcomes if o.result == "valid"]
    assert valid, "the load committed nothing"
    before = {m: balance(fault_run.network, m) for m in MEMBERS}
    for outcome in valid[:: max(1, len(valid) // 10)]:
        assert fault_run.load.resubmit(outcome) == "refused 409", f"{outcome} was accepted a second time"
    assert {m: balance(fault_run.network, m) for m in MEMBERS} == before
    on_ledger = committed_requests(fault_run.network, fault_run.first_block, fault_run.load.prefix)
    assert all(on_ledger[o.request_id] == 1 for o in valid)


def print_summary(run: FaultRun) -> None:
    lines = [
        f"{'fault':<36}{'attempted':>10}{'valid':>7}{'invalid':>9}{'refused':>9}{'not comm.':>11}"
        f"{'resolved':>10}{'lost':>6}{'dup':>5}{'phantom':>9}{'max gap s':>11}{'slowest s':>11}"
    ]
    for m in run.summary:
        results = Counter(o.result for o in m.outcomes)
        invalid = Counter(o.detail for o in m.outcomes if o.result == "invalid")
        lines.append(
            f"{m.name:<36}{len(m.outcomes):>10}{results['valid']:>7}{results['invalid']:>9}"
            f"{results['refused']:>9}{results['not_committed']:>11}{sum(o.resolved for o in m.outcomes):>10}"
            f"{m.lost:>6}{m.duplicated:>5}{m.phantom:>9}{m.longest_gap:>11.1f}{m.slowest_call:>11.1f}"
        )
        if invalid:
            lines.append(f"{'':<4}invalidated by code: {dict(invalid)}")
    print(
        "\nfaults under load (lost, dup and phantom counted from the block stream; max gap: the longest"
        " time without a commit after the fault)\n" + "\n".join(lines)
    )
