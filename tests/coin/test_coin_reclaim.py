"""Reclaiming unused allowance: back to the institution's pool, never more than unused, no coins move.

Unit tests for the rules, and a property test: random allocate / reclaim / earn / set-quota steps,
predicted by a small model, keep Σ allocated ≤ quota and used ≤ allocated for every staff allowance.
"""

from __future__ import annotations

import pytest
from coin_network import DISTRICT, EVIDENCE, CallFailed, Clock, CoinNetwork, build_world, kst
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st


def allowance(net: CoinNetwork, staff: str, year: str = "2024") -> dict[str, int]:
    return net.query("admin", "get_allowance", "cc-01", net.client_id(staff), year)


def test_reclaim_returns_the_unused_part_to_the_pool(net: CoinNetwork) -> None:
    cid = net.client_id("cc_staff")
    net.submit("cc_staff", "earn", "M-001", "course_session", 4, EVIDENCE, "r1")
    events_before = net.event_count()
    result = net.submit("cc_manager", "reclaim_allowance", "cc-01", cid, "2024", 990)
    assert (result["allocated"], result["used"], result["remaining"], result["reclaimed"]) == (10, 4, 6, 990)
    assert (result["quota"], result["unallocated"]) == (100_000, 97_990)  # 3,000 given, 990 back
    assert net.event_count() == events_before  # issuance capacity only: no coin-movement event
    assert {k: allowance(net, "cc_staff")[k] for k in ("allocated", "used", "reclaimed")} == {
        "allocated": 10,
        "used": 4,
        "reclaimed": 990,
    }
    # The staff's own view shows the reclaim as well.
    assert net.query("cc_staff", "get_allowance", "cc-01", cid, "2024")["reclaimed"] == 990
    # The reclaimed coins can be allocated again, to anyone, up to the quota.
    net.submit("admin", "allocate_allowance", "cc-01", net.client_id("cc_staff2"), "2024", 97_990)
    assert net.status("admin", "allocate_allowance", "cc-01", cid, "2024", 1) == 409


def test_never_more_than_the_unused_part(net: CoinNetwork) -> None:
    cid = net.client_id("cc_staff")
    net.submit("cc_staff", "earn", "M-001", "course_session", 4, EVIDENCE, "r1")
    response = net.evaluate("admin", "reclaim_allowance", "cc-01", cid, "2024", 997)
    assert response.status == 409 and "996 unused" in response.message
    net.submit("admin", "reclaim_allowance", "cc-01", cid, "2024", 996)
    assert allowance(net, "cc_staff")["remaining"] == 0
    assert net.status("cc_staff", "earn", "M-001", "course_session", 1, EVIDENCE, "r2") == 409
    assert net.status("admin", "reclaim_allowance", "cc-01", cid, "2024", 1) == 409
    # A staff identity that never had an allowance has nothing to give back.
    net.enroll("cc_new", DISTRICT, role="staff", institution="cc-01")
    assert net.status("admin", "reclaim_allowance", "cc-01", net.client_id("cc_new"), "2024", 1) == 409


def test_the_quota_can_then_be_lowered(net: CoinNetwork) -> None:
    assert net.status("admin", "set_annual_quota", "cc-01", "2024", 2_500) == 409  # 3,000 allocated
    net.submit("admin", "reclaim_allowance", "cc-01", net.client_id("cc_staff2"), "2024", 1_000)
    assert net.submit("admin", "set_annual_quota", "cc-01", "2024", 2_000)["reclaimed"] == 1_000


def test_only_admin_or_a_manager_of_that_institution(net: CoinNetwork) -> None:
    cid = net.client_id("cc_staff")
    assert net.status("cc_staff", "reclaim_allowance", "cc-01", cid, "2024", 1) == 403  # not a manager
    assert net.status("wc_manager", "reclaim_allowance", "cc-01", cid, "2024", 1) == 403  # another's
    assert net.status("registrar", "reclaim_allowance", "cc-01", cid, "2024", 1) == 403
    assert net.status("partner_admin", "reclaim_allowance", "cc-01", cid, "2024", 1) == 403
    assert net.status("cc_manager", "reclaim_allowance", "cc-01", cid, "2024", 1) == 200


@pytest.mark.parametrize(
    ("year", "coins", "status"),
    [("2023", 1, 400), ("24", 1, 400), ("2024", 0, 400), ("2024", -1, 400), ("2024", "one", 400)],
)
def test_bad_years_and_amounts(net: CoinNetwork, year: str, coins: object, status: int) -> None:
    assert net.status("admin", "reclaim_allowance", "cc-01", net.client_id("cc_staff"), year, coins) == status


def test_unknown_or_inactive_institution(net: CoinNetwork) -> None:
    cid = net.client_id("cc_staff")
    assert net.status("admin", "reclaim_allowance", "nope-01", cid, "2024", 1) == 404
    net.submit("admin", "deactivate_institution", "cc-01")
    assert net.status("admin", "reclaim_allowance", "cc-01", cid, "2024", 1) == 404
    net.submit("admin", "reactivate_institution", "cc-01")
    assert net.status("admin", "reclaim_allowance", "cc-01", cid, "2024", 1) == 200


# ---- property: Σ allocated ≤ quota and used ≤ allocated, whatever the order of steps ----------------

STAFF = ("cc_manager", "cc_staff", "cc_staff2")  # build_world gives each 1,000 of 2024
step = st.one_of(
    st.tuples(st.just("allocate"), st.sampled_from(STAFF), st.integers(1, 1_200)),
    st.tuples(st.just("reclaim"), st.sampled_from(STAFF), st.integers(1, 1_200)),
    st.tuples(st.just("earn"), st.sampled_from(STAFF), st.integers(1, 40)),
    st.tuples(st.just("quota"), st.just(""), st.integers(2_000, 4_000)),
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(step, min_size=1, max_size=14), st.sampled_from(["admin", "cc_manager"]))
def test_random_steps_keep_the_pool_invariant(steps: list[tuple[str, str, int]], manager: str) -> None:
    clock = Clock(kst(2024, 3, 4, 10))
    net = build_world(CoinNetwork.open(clock))
    try:
        net.submit("admin", "set_annual_quota", "cc-01", "2024", 3_500)
        run(net, steps, manager)
    finally:
        net.ledger.close()


def run(net: CoinNetwork, steps: list[tuple[str, str, int]], manager: str) -> None:
    quota = 3_500
    allocated = dict.fromkeys(STAFF, 1_000)
    used = dict.fromkeys(STAFF, 0)
    reclaimed = dict.fromkeys(STAFF, 0)
    for n, (kind, staff, amount) in enumerate(steps):
        cid = net.client_id(staff) if staff else ""
        if kind == "allocate":
            expected = 200 if sum(allocated.values()) + amount <= quota else 409
            status = attempt(net, manager, "allocate_allowance", "cc-01", cid, "2024", amount)
            if status == 200:
                allocated[staff] += amount
        elif kind == "reclaim":
            expected = 200 if amount <= allocated[staff] - used[staff] else 409
            status = attempt(net, manager, "reclaim_allowance", "cc-01", cid, "2024", amount)
            if status == 200:
                allocated[staff] -= amount
                reclaimed[staff] += amount
        elif kind == "earn":
            expected = 200 if amount <= allocated[staff] - used[staff] else 409
            status = attempt(net, staff, "earn", "M-001", "course_session", amount, EVIDENCE, f"e{n}")
            if status == 200:
                used[staff] += amount
        else:
            expected = 200 if amount >= sum(allocated.values()) else 409
            status = attempt(net, "admin", "set_annual_quota", "cc-01", "2024", amount)
            if status == 200:
                quota = amount
        assert status == expected, (kind, staff, amount)
        ledger = {s: allowance(net, s) for s in STAFF}
        assert sum(a["allocated"] for a in ledger.values()) <= quota
        for s, found in ledger.items():
            assert 0 <= found["used"] <= found["allocated"]
            assert (found["allocated"], found["used"], found["reclaimed"]) == (
                allocated[s],
                used[s],
                reclaimed[s],
            )


def attempt(net: CoinNetwork, who: str, fn: str, *args: object) -> int:
    try:
        net.submit(who, fn, *args)
    except CallFailed as failure:
        return failure.status
    return 200
