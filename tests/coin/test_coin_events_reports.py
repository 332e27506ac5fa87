"""Events (exactly one per movement, with its content), member history, reports and compaction."""

from __future__ import annotations

from coin_network import EVIDENCE, CoinNetwork, kst


def test_exactly_one_event_per_movement_with_its_content(net: CoinNetwork) -> None:
    count = net.event_count()
    net.submit("registrar", "set_member_categories", "M-001", ["senior", "resident"])
    name, event = net.last_event()  # not a movement: a member event, for off-chain reporting
    assert net.event_count() == count + 1 and name == "member" and event["change"] == "categories"
    assert event["members"] == [{"member_id": "M-001", "categories": ["resident", "senior"], "active": True}]
    count += 1

    earned = net.submit("cc_staff", "earn", "M-001", "volunteer_hour", 2, EVIDENCE, "e1")
    name, event = net.last_event()
    assert net.event_count() == count + 1 and name == "earn" and event == earned
    assert {k: event[k] for k in ("kind", "coins", "krw", "member_id", "institution_id", "activity")} == {
        "kind": "earn",
        "coins": 6,
        "krw": 1200,
        "member_id": "M-001",
        "institution_id": "cc-01",
        "activity": "volunteer_hour",
    }
    assert event["policy_version"] == 1 and event["evidence_hash"] == EVIDENCE and len(event["tx_id"]) == 64

    net.submit("m1", "pay", "M-001", "cc-01", 1000, 2, "gym", "p1")
    name, event = net.last_event()
    assert net.event_count() == count + 2 and name == "pay"
    assert (event["coins"], event["krw"], event["cash_krw"], event["service_code"]) == (2, 400, 600, "gym")

    net.submit("m1", "donate", "M-001", "charity-01", 1, "d1")
    name, event = net.last_event()
    assert net.event_count() == count + 3 and (name, event["institution_id"], event["coins"]) == (
        "donate",
        "charity-01",
        1,
    )

    net.clock.advance(minutes=2)  # settlements redeem receipts older than the policy's cutoff margin
    net.submit("cc_manager", "request_settlement", "cc-01", "S-1", "")
    name, event = net.last_event()
    assert net.event_count() == count + 4 and (name, event["coins"], event["member_id"]) == ("redeem", 2, "")
    # Events carry ids and amounts only: no names, no client identities.
    assert net.client_id("m1") not in str(event)


def test_failed_movements_emit_nothing(net: CoinNetwork) -> None:
    count = net.event_count()
    assert net.status("m1", "pay", "M-001", "cc-01", 1000, 1, "gym", "p1") == 409
    assert net.event_count() == count


def test_member_history_pages(net: CoinNetwork) -> None:
    for n in range(3):
        net.submit("cc_staff", "earn", "M-001", "course_session", n + 1, EVIDENCE, f"e{n}")
    net.submit("m1", "pay", "M-001", "cc-01", 1000, 2, "gym", "p1")
    first = net.query("m1", "get_member_history", "M-001", 3, "")
    assert [m["coins"] for m in first["movements"]] == [1, 2, 3]
    rest = net.query("m1", "get_member_history", "M-001", 3, first["bookmark"])
    assert [(m["kind"], m["coins"], m["cash_krw"]) for m in rest["movements"]] == [("pay", -2, 600)]
    assert net.status("m2", "get_member_history", "M-001", 3, "") == 403
    assert net.status("m1", "get_member_history", "M-001", 1000, "") == 400


def test_report_counts_and_values_every_movement(net: CoinNetwork) -> None:
    net.submit("cc_staff", "earn", "M-001", "volunteer_hour", 2, EVIDENCE, "e1")
    net.submit("cc_staff", "earn", "M-001", "course_session", 1, EVIDENCE, "e2")
    net.submit("m1", "pay", "M-001", "cc-01", 1000, 3, "gym", "p1")
    net.submit("m1", "donate", "M-001", "charity-01", 2, "d1")
    net.clock.advance(minutes=2)
    net.submit("cc_manager", "request_settlement", "cc-01", "S-1", "")
    report = net.query("auditor", "get_report")
    assert (report["members"], report["active_members"], report["participants"], report["institutions"]) == (
        2,
        2,
        1,
        3,
    )
    assert report["coins"] == {
        "earned": 7,
        "spent": 3,
        "donated": 2,
        "redeemed": 3,
        "expired": 0,
        "outstanding": 4,
    }
    assert report["krw"]["earned"] == 1400 and report["krw"]["outstanding"] == 800
    assert report["by_activity"]["volunteer_hour"] == {"coins": 6, "krw": 1200, "count": 1}
    assert (
        report["by_institution"]["cc-01"]["earn"] == 7
        and report["by_institution"]["charity-01"]["donate"] == 2
    )
    assert report["by_month"]["2024-03"]["pay"] == 3


def test_compacting_a_month_keeps_the_report(net: CoinNetwork) -> None:
    net.submit("cc_staff", "earn", "M-001", "course_session", 4, EVIDENCE, "e1")
    net.submit("m1", "pay", "M-001", "cc-01", 1000, 1, "gym", "p1")
    assert net.status("admin", "compact_stats", "2024-04") == 400  # month not begun
    # Rows of the running month younger than 2 × the clock skew allowance are left: a movement in
    # flight may still add rows among them.
    assert net.status("admin", "compact_stats", "2024-03") == 409
    net.clock.set(kst(2024, 4, 1, 9))
    net.submit("cc_staff", "earn", "M-001", "course_session", 1, EVIDENCE, "e2")
    before = net.query("admin", "get_report")
    assert net.status("auditor", "compact_stats", "2024-03") == 403
    # The two movements and the tally rows of building the world (members, institutions) and of
    # M-001's first earning.
    result = net.submit("admin", "compact_stats", "2024-03")
    assert result["rows_folded"] >= 2 and result["more"] is False
    assert net.query("admin", "get_report") == before
    assert net.query("admin", "audit_supply")["ok"]
    assert net.status("admin", "compact_stats", "2024-03") == 409


def test_compacting_the_running_month_in_steps_keeps_the_report(net: CoinNetwork, monkeypatch) -> None:
    from seocho_coin import aggregates

    monkeypatch.setattr(aggregates, "MAX_ROWS_PER_COMPACTION", 2)
    for n in range(3):
        net.submit("cc_staff", "earn", "M-001", "course_session", 1, EVIDENCE, f"e{n}")
    net.clock.advance(minutes=11)
    before = net.query("admin", "get_report")
    steps = []
    while True:
        result = net.submit("admin", "compact_stats", "2024-03")
        steps.append(result["rows_folded"])
        assert net.query("admin", "get_report") == before
        if not result["more"]:
            break
    assert steps[:-1] == [2] * (len(steps) - 1) and sum(steps) == result["rows_total"]
    assert net.query("admin", "audit_supply")["ok"]
