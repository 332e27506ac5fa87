"""Random operation sequences keep the supply invariant, never go negative, never credit a request twice.

A tiny model (balances, unredeemed receipts with their KRW value, flow totals, used request ids and
the payment unit) predicts each outcome and its status code; the coin value and the payment unit
change at random between steps, so settlements must value each receipt at the value in force when it
was received, and payments and donations must be refused (400) unless a multiple of the unit in
force. After every step the ledger's balances, the audit's and the report's totals must equal the
model's, recomputed independently of the chaincode, and `audit_supply` must be ok.
"""

from __future__ import annotations

from typing import Any

from coin_network import EVIDENCE, CallFailed, Clock, CoinNetwork, build_world, kst
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

MEMBERS = {"M-001": "m1", "M-002": "m2"}

member = st.sampled_from(sorted(MEMBERS))
request = st.sampled_from(["r1", "r2", "r3", "r4"])  # few ids, so duplicates happen
operation = st.one_of(
    st.tuples(st.just("earn"), member, st.integers(1, 4), request),
    st.tuples(st.just("pay"), member, st.integers(1, 12), request),
    st.tuples(st.just("donate"), member, st.integers(1, 12), request),
    st.tuples(st.just("settle"), st.sampled_from(["cc-01", "charity-01"]), st.just(0), request),
    st.tuples(st.just("revalue"), st.just(""), st.sampled_from([100, 150, 200]), st.just("")),
    st.tuples(st.just("reunit"), st.just(""), st.sampled_from([1, 2, 5]), st.just("")),
)


def attempt(net: CoinNetwork, op: tuple[str, str, int, str], n: int) -> tuple[int, Any]:
    """The status of the step (200 when it committed) and its result."""
    kind, target, amount, req = op
    try:
        if kind == "earn":
            return 200, net.submit("cc_staff", "earn", target, "course_session", amount, EVIDENCE, req)
        if kind == "pay":
            return 200, net.submit(MEMBERS[target], "pay", target, "cc-01", 10_000, amount, "gym", req)
        if kind == "donate":
            return 200, net.submit(MEMBERS[target], "donate", target, "charity-01", amount, req)
        if kind in ("revalue", "reunit"):
            field = "coin_value_krw" if kind == "revalue" else "payment_unit"
            return 200, net.submit("admin", "set_policy", {"effective_from": "now", field: amount})
        manager = "cc_manager" if target == "cc-01" else "charity_manager"
        net.clock.advance(minutes=2)  # past the policy's settlement cutoff margin
        return 200, net.submit(manager, "request_settlement", target, f"S-{n}", "")
    except CallFailed as failure:
        return failure.status, None


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(operation, min_size=1, max_size=14))
def test_random_sequences_keep_every_invariant(ops: list[tuple[str, str, int, str]]) -> None:
    clock = Clock(kst(2024, 3, 4, 10))
    net = build_world(CoinNetwork.open(clock))
    try:
        run(net, ops)
    finally:
        net.ledger.close()


def run(net: CoinNetwork, ops: list[tuple[str, str, int, str]]) -> None:
    balances = dict.fromkeys(MEMBERS, 0)
    unredeemed = {"cc-01": 0, "charity-01": 0}
    unredeemed_krw = {"cc-01": 0, "charity-01": 0}
    flows = {"earned": 0, "spent": 0, "donated": 0, "redeemed": 0}
    redeemed_krw = 0
    value = 200
    unit = 1
    used: set[tuple[str, str]] = set()
    for member_id in MEMBERS:  # a head start, so payments and donations usually have coins to move
        net.submit("cc_staff", "earn", member_id, "course_session", 20, EVIDENCE, f"seed-{member_id}")
        balances[member_id] += 20
        flows["earned"] += 20
    for n, op in enumerate(ops):
        kind, target, amount, req = op
        institution = {"earn": "cc-01", "pay": "cc-01", "donate": "charity-01"}.get(kind, target)
        status, result = attempt(net, op, n)
        ok = status == 200
        if kind in ("revalue", "reunit"):
            assert ok, status
            if kind == "revalue":
                value = amount
            else:
                unit = amount
            continue
        if kind == "earn":
            assert status == (200 if (institution, req) not in used else 409)
            if ok:
                balances[target] += amount
                flows["earned"] += amount
        elif kind in ("pay", "donate"):
            # The unit is checked first, then the request id, then the balance.
            refused = amount % unit or (institution, req) in used or balances[target] < amount
            assert status == (400 if amount % unit else 409 if refused else 200)
            if ok:
                balances[target] -= amount
                unredeemed[institution] += amount
                unredeemed_krw[institution] += amount * value
                flows["spent" if kind == "pay" else "donated"] += amount
        else:
            assert status == (200 if unredeemed[target] > 0 else 409)
            if ok:
                assert (result["coins"], result["krw"]) == (unredeemed[target], unredeemed_krw[target])
                flows["redeemed"] += unredeemed[target]
                redeemed_krw += unredeemed_krw[target]
            unredeemed[target] = unredeemed_krw[target] = 0
        if ok and kind != "settle":
            used.add((institution, req))
        for member_id, expected in balances.items():
            assert net.query("auditor", "get_balance", member_id)["coins"] == expected >= 0
        audit = net.query("auditor", "audit_supply")
        assert audit["ok"], audit
        outstanding = flows["earned"] - flows["redeemed"]
        assert outstanding == sum(balances.values()) + sum(unredeemed.values())
        assert audit["member_balances"] == sum(balances.values())
        assert audit["institution_unredeemed"] == sum(unredeemed.values())
        assert {k: audit[k] for k in flows} == flows
        assert audit["outstanding"] == outstanding
        report = net.query("auditor", "get_report")
        assert {k: report["coins"][k] for k in flows} == flows
        assert report["coins"]["outstanding"] == outstanding
        assert report["krw"]["redeemed"] == redeemed_krw
