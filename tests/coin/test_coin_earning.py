"""Earning: policy rates, eligibility, daily hour cap, yearly and balance caps, allowances, request ids."""

from __future__ import annotations

from coin_network import DISTRICT, EVIDENCE, CoinNetwork, kst


def balance(net: CoinNetwork, member: str = "M-001") -> int:
    return int(net.query("admin", "get_balance", member)["coins"])


def test_earning_pays_the_policy_rate_per_unit(net: CoinNetwork) -> None:
    assert net.submit("cc_staff", "earn", "M-001", "volunteer_hour", 2, EVIDENCE, "r1")["coins"] == 6
    assert net.submit("cc_staff", "earn", "M-001", "course_session", 3, EVIDENCE, "r2")["coins"] == 3
    assert balance(net) == 9
    assert net.query("m1", "get_balance", "M-001")["krw_value"] == 1800


def test_only_eligible_categories_earn(net: CoinNetwork) -> None:
    net.enroll("m3", DISTRICT, role="member")
    net.submit("registrar", "register_member", "M-003", ["worker"], net.client_id("m3"))
    assert net.status("cc_staff", "earn", "M-003", "course_session", 1, EVIDENCE, "r1") == 403
    net.submit("registrar", "set_member_categories", "M-003", ["worker", "senior"])
    assert net.status("cc_staff", "earn", "M-003", "course_session", 1, EVIDENCE, "r1") == 200


def test_eligibility_per_activity_overrides_the_default(net: CoinNetwork) -> None:
    net.submit(
        "admin",
        "set_policy",
        {"effective_from": "now", "eligibility": {"*": ["senior"], "course_session": ["senior", "worker"]}},
    )
    net.enroll("m3", DISTRICT, role="member")
    net.submit("registrar", "register_member", "M-003", ["worker"], net.client_id("m3"))
    assert net.status("cc_staff", "earn", "M-003", "course_session", 1, EVIDENCE, "r1") == 200
    assert net.status("cc_staff", "earn", "M-003", "volunteer_hour", 1, EVIDENCE, "r1") == 403


def test_institution_may_attest_only_its_activities(net: CoinNetwork) -> None:
    assert net.status("wc_manager", "earn", "M-001", "course_session", 1, EVIDENCE, "r1") == 403
    assert net.status("cc_staff", "earn", "M-001", "no_such_activity", 1, EVIDENCE, "r1") == 400


def test_daily_cap_counts_hours_across_institutions_per_local_day(net: CoinNetwork) -> None:
    net.submit("cc_staff", "earn", "M-001", "volunteer_hour", 5, EVIDENCE, "r1")
    net.submit("wc_manager", "earn", "M-001", "volunteer_hour", 3, EVIDENCE, "r1")
    assert net.status("cc_staff", "earn", "M-001", "volunteer_hour", 1, EVIDENCE, "r2") == 409
    assert net.status("cc_staff", "earn", "M-001", "course_session", 1, EVIDENCE, "r2") == 200  # not hourly
    net.clock.set(kst(2024, 3, 4, 23, 59))
    assert net.status("cc_staff", "earn", "M-001", "volunteer_hour", 1, EVIDENCE, "r2") == 409
    net.clock.set(kst(2024, 3, 5, 0, 1))  # a new day in Seoul
    net.submit("cc_staff", "earn", "M-001", "volunteer_hour", 8, EVIDENCE, "r2")
    assert balance(net) == 16 * 3
    assert net.status("cc_staff", "earn", "M-001", "volunteer_hour", 9, EVIDENCE, "r3") == 409


def test_yearly_and_balance_caps(net: CoinNetwork) -> None:
    net.submit(
        "admin",
        "set_policy",
        {
            "effective_from": "now",
            "caps": {"daily_volunteer_hours": 8, "yearly_earning_cap": 10, "balance_cap": 8},
        },
    )
    net.submit("cc_staff", "earn", "M-001", "course_session", 8, EVIDENCE, "r1")
    assert net.status("cc_staff", "earn", "M-001", "course_session", 1, EVIDENCE, "r2") == 409  # balance cap
    net.submit("m1", "pay", "M-001", "cc-01", 1000, 5, "gym", "p1")
    net.submit("cc_staff", "earn", "M-001", "course_session", 2, EVIDENCE, "r2")  # 10 this year
    assert net.status("cc_staff", "earn", "M-001", "course_session", 1, EVIDENCE, "r3") == 409  # yearly cap
    net.clock.set(kst(2025, 1, 2, 10))
    net.submit("admin", "allocate_allowance", "cc-01", net.client_id("cc_staff"), "2025", 100)
    assert net.status("cc_staff", "earn", "M-001", "course_session", 3, EVIDENCE, "r3") == 200


def test_allowances_never_exceed_the_quota(net: CoinNetwork) -> None:
    cid = net.client_id("cc_staff")
    assert net.status("admin", "allocate_allowance", "cc-01", cid, "2024", 97_001) == 409  # 3,000 given
    net.submit("cc_manager", "allocate_allowance", "cc-01", cid, "2024", 97_000)
    assert net.status("admin", "allocate_allowance", "cc-01", cid, "2024", 1) == 409
    assert net.status("admin", "set_annual_quota", "cc-01", "2024", 99_999) == 409
    net.submit("admin", "set_annual_quota", "cc-01", "2024", 100_010)
    net.submit("admin", "allocate_allowance", "cc-01", cid, "2024", 10)
    assert net.status("admin", "allocate_allowance", "cc-01", cid, "2023", 1) == 400  # year is over


def test_earning_consumes_the_staff_allowance(net: CoinNetwork) -> None:
    net.enroll("cc_new", DISTRICT, role="staff", institution="cc-01")
    assert net.status("cc_new", "earn", "M-001", "course_session", 1, EVIDENCE, "r1") == 409  # no allowance
    net.submit("cc_manager", "allocate_allowance", "cc-01", net.client_id("cc_new"), "2024", 5)
    net.submit("cc_new", "earn", "M-001", "course_session", 4, EVIDENCE, "r1")
    assert net.status("cc_new", "earn", "M-001", "course_session", 2, EVIDENCE, "r2") == 409
    allowance = net.query("cc_new", "get_allowance", "cc-01", net.client_id("cc_new"), "2024")
    assert (allowance["allocated"], allowance["used"], allowance["remaining"]) == (5, 4, 1)


def test_a_request_id_never_credits_twice(net: CoinNetwork) -> None:
    net.submit("cc_staff", "earn", "M-001", "course_session", 1, EVIDENCE, "r1")
    assert net.status("cc_staff", "earn", "M-001", "course_session", 1, EVIDENCE, "r1") == 409
    assert (
        net.status("cc_staff2", "earn", "M-002", "course_session", 1, EVIDENCE, "r1") == 409
    )  # per institution
    assert net.status("wc_manager", "earn", "M-001", "volunteer_hour", 1, EVIDENCE, "r1") == 200
    assert balance(net) == 1


def test_inactive_members_and_institutions_cannot_earn(net: CoinNetwork) -> None:
    assert net.status("cc_staff", "earn", "M-404", "course_session", 1, EVIDENCE, "r1") == 404
    net.submit("registrar", "deactivate_member", "M-002")
    assert net.status("cc_staff", "earn", "M-002", "course_session", 1, EVIDENCE, "r1") == 409
    assert net.status("m2", "get_balance", "M-002") == 403
    net.submit("admin", "deactivate_institution", "cc-01")
    assert net.status("cc_staff", "earn", "M-001", "course_session", 1, EVIDENCE, "r1") == 403
