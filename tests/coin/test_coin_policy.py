"""Policy as versioned data: defaults, new versions, effective dates, versions recorded per transaction."""

from __future__ import annotations

import pytest
from coin_network import DISTRICT, EVIDENCE, PARTNERS, CallFailed, CoinNetwork, kst


def test_default_policy_is_the_2023_rules(net: CoinNetwork) -> None:
    policy = net.query("m1", "get_policy", 0)
    assert policy["version"] == 1
    assert policy["coin_value_krw"] == 200
    assert policy["activities"]["volunteer_hour"]["coins_per_unit"] == 3
    assert policy["activities"]["course_session"]["coins_per_unit"] == 1
    assert policy["caps"]["daily_volunteer_hours"] == 8
    assert policy["eligibility"] == {"*": ["senior"]}
    assert policy["open_to_all"] is False
    assert policy["payment_unit"] == 1 and policy["expiry_years"] is None


def test_init_ledger_only_once_and_only_by_a_district_admin(bare: CoinNetwork) -> None:
    bare.enroll("admin", DISTRICT, role="admin")
    bare.enroll("registrar", DISTRICT, role="registrar")
    bare.enroll("partner_admin", PARTNERS, role="admin")
    assert bare.status("partner_admin", "init_ledger", PARTNERS) == 403  # not the chaincode's district
    assert bare.status("partner_admin", "init_ledger", DISTRICT) == 403  # not a member of that MSP
    assert bare.status("registrar", "init_ledger", DISTRICT) == 403
    assert bare.status("admin", "register_member", "M-1", ["senior"], "QUJD") == 409  # not initialised
    bare.submit("admin", "init_ledger", DISTRICT)
    assert bare.status("admin", "init_ledger", DISTRICT) == 409


def test_set_policy_appends_versions_and_keeps_the_old_ones(net: CoinNetwork) -> None:
    v2 = net.submit("admin", "set_policy", {"effective_from": "now", "coin_value_krw": 100})
    assert v2["version"] == 2 and v2["coin_value_krw"] == 100
    assert v2["activities"] == net.query("m1", "get_policy", 1)["activities"]  # unchanged fields carried over
    assert net.query("m1", "get_policy", 1)["coin_value_krw"] == 200
    assert [p["version"] for p in net.query("m1", "list_policies")] == [1, 2]
    assert net.query("m1", "list_policies")[1]["in_force"] is True
    assert net.status("m1", "get_policy", 3) == 404


def test_transactions_use_and_record_the_version_in_force(net: CoinNetwork) -> None:
    net.submit(
        "admin",
        "set_policy",
        {
            "effective_from": "2024-03-05T00:00:00+09:00",
            "activities": {
                "volunteer_hour": {"unit": "hour", "coins_per_unit": 5, "counts_toward_daily_hours": True},
                "course_session": {"unit": "session", "coins_per_unit": 1},
            },
        },
    )
    before = net.submit("cc_staff", "earn", "M-001", "volunteer_hour", 1, EVIDENCE, "r1")
    assert (before["coins"], before["policy_version"]) == (3, 1)
    net.clock.set(kst(2024, 3, 5, 9))
    after = net.submit("cc_staff", "earn", "M-001", "volunteer_hour", 1, EVIDENCE, "r2")
    assert (after["coins"], after["policy_version"]) == (5, 2)
    history = net.query("m1", "get_member_history", "M-001", 10, "")["movements"]
    assert [(m["coins"], m["policy_version"]) for m in history] == [(3, 1), (5, 2)]


@pytest.mark.parametrize(
    "changes",
    [
        {"effective_from": "2024-03-01T00:00:00+09:00"},  # in the past
        {"coin_value_krw": 100},  # no effective date
        {"effective_from": "now", "version": 7},
        {"effective_from": "now", "colour": "blue"},
        {"effective_from": "now", "coin_value_krw": 0},
        {"effective_from": "now", "coin_value_krw": "200"},
        {"effective_from": "now", "eligibility": {"*": ["martian"]}},
        {"effective_from": "now", "eligibility": {"no_such_activity": ["senior"]}},
        {"effective_from": "now", "activities": {"x": {"unit": "hour"}}},
        {"effective_from": "2024-13-01T00:00:00Z"},
        {"effective_from": "2030-01-01T00:00:00"},  # no zone
    ],
)
def test_invalid_policies_are_refused(net: CoinNetwork, changes: dict[str, object]) -> None:
    assert net.status("admin", "set_policy", changes) == 400
    assert len(net.query("m1", "list_policies")) == 1


def test_versions_never_go_back_in_time(net: CoinNetwork) -> None:
    net.submit("admin", "set_policy", {"effective_from": "2025-01-01T00:00:00+09:00", "payment_unit": 10})
    assert net.status("admin", "set_policy", {"effective_from": "2024-06-01T00:00:00+09:00"}) == 400


def test_open_to_all_is_a_governance_transaction(net: CoinNetwork) -> None:
    net.enroll("m3", DISTRICT, role="member")
    net.submit("registrar", "register_member", "M-003", ["resident"], net.client_id("m3"))
    with pytest.raises(CallFailed) as refused:
        net.submit("cc_staff", "earn", "M-003", "course_session", 1, EVIDENCE, "r1")
    assert refused.value.status == 403
    assert net.status("cc_manager", "open_earning_to_all", "now") == 403
    policy = net.submit("admin", "open_earning_to_all", "now")
    assert policy["open_to_all"] is True and policy["version"] == 2
    assert net.submit("cc_staff", "earn", "M-003", "course_session", 1, EVIDENCE, "r1")["coins"] == 1
