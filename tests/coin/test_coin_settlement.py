"""Settlement at the value in force when coins were received, up to a cutoff; paid marking; expiry."""

from __future__ import annotations

from coin_network import EVIDENCE, CoinNetwork, kst


def test_settlement_values_each_receipt_when_received_and_redeems_it(net: CoinNetwork) -> None:
    net.submit("cc_staff", "earn", "M-001", "volunteer_hour", 8, EVIDENCE, "e1")  # 24 coins
    net.submit("m1", "pay", "M-001", "cc-01", 1000, 5, "gym", "p1")  # 5 x 200
    net.submit("admin", "set_policy", {"effective_from": "now", "coin_value_krw": 100})
    net.submit("m1", "pay", "M-001", "cc-01", 1000, 5, "gym", "p2")  # 5 x 100
    net.clock.advance(minutes=2)
    assert net.status("cc_staff", "request_settlement", "cc-01", "S-1", "") == 403  # not a manager
    assert net.status("wc_manager", "request_settlement", "cc-01", "S-1", "") == 403
    settled = net.submit("cc_manager", "request_settlement", "cc-01", "S-1", "")
    assert (settled["coins"], settled["krw"], settled["receipts"], settled["status"]) == (
        10,
        1500,
        2,
        "requested",
    )
    name, event = net.last_event()
    assert name == "redeem" and event["coins"] == 10 and event["krw"] == 1500
    statement = net.query("cc_manager", "get_institution_statement", "cc-01")
    assert statement["unredeemed"]["coins"] == 0 and statement["settlements"][0]["settlement_id"] == "S-1"
    assert net.status("cc_manager", "request_settlement", "cc-01", "S-2", "") == 409  # nothing left
    audit = net.query("auditor", "audit_supply")
    assert audit["ok"] and audit["redeemed"] == 10 and audit["outstanding"] == 14


def test_mark_settlement_paid_once_by_admin(net: CoinNetwork) -> None:
    net.submit("cc_staff", "earn", "M-001", "course_session", 3, EVIDENCE, "e1")
    net.submit("m1", "pay", "M-001", "cc-01", 1000, 3, "gym", "p1")
    net.clock.advance(minutes=2)
    net.submit("cc_manager", "request_settlement", "cc-01", "S-1", "")
    assert net.status("cc_manager", "request_settlement", "cc-01", "S-1", "") == 409
    assert net.status("cc_manager", "mark_settlement_paid", "cc-01", "S-1", "BANK-42") == 403
    paid = net.submit("admin", "mark_settlement_paid", "cc-01", "S-1", "BANK-42")
    assert (paid["status"], paid["payment_reference"]) == ("paid", "BANK-42")
    assert net.status("admin", "mark_settlement_paid", "cc-01", "S-1", "BANK-42") == 409
    assert net.status("admin", "mark_settlement_paid", "cc-01", "S-9", "BANK-42") == 404


def test_receipts_younger_than_the_cutoff_wait_for_the_next_settlement(net: CoinNetwork) -> None:
    net.submit("cc_staff", "earn", "M-001", "course_session", 10, EVIDENCE, "e1")
    net.submit("m1", "pay", "M-001", "cc-01", 1000, 2, "gym", "p1")
    net.clock.advance(minutes=2)
    net.submit("m1", "pay", "M-001", "cc-01", 1000, 3, "gym", "p2")  # seconds ago: after the cutoff
    first = net.submit("cc_manager", "request_settlement", "cc-01", "S-1", "")
    assert (first["coins"], first["receipts"]) == (2, 1)
    assert first["cutoff"] < net.clock.moment.strftime("%Y-%m-%dT%H:%M:%S")
    assert net.query("cc_manager", "get_institution_statement", "cc-01")["unredeemed"]["coins"] == 3
    # An explicit cutoff (before the transaction's own timestamp) settles up to that moment.
    net.clock.advance(seconds=5)
    cutoff = net.clock.moment.isoformat()
    second = net.submit("cc_manager", "request_settlement", "cc-01", "S-2", cutoff)
    assert (second["coins"], second["cutoff"][:19]) == (3, cutoff[:19])
    assert net.query("auditor", "audit_supply")["ok"]


def test_the_cutoff_margin_is_policy(net: CoinNetwork) -> None:
    net.submit("admin", "set_policy", {"effective_from": "now", "settlement_cutoff_seconds": 0})
    net.submit("cc_staff", "earn", "M-001", "course_session", 2, EVIDENCE, "e1")
    net.submit("m1", "pay", "M-001", "cc-01", 1000, 2, "gym", "p1")
    assert net.submit("cc_manager", "request_settlement", "cc-01", "S-1", "")["coins"] == 2


def test_a_deactivated_institution_still_settles_what_it_received(net: CoinNetwork) -> None:
    net.submit("cc_staff", "earn", "M-001", "course_session", 5, EVIDENCE, "e1")
    net.submit("m1", "pay", "M-001", "cc-01", 1000, 3, "gym", "p1")
    net.submit("m1", "donate", "M-001", "charity-01", 2, "d1")
    net.submit("admin", "deactivate_institution", "cc-01")
    net.submit("admin", "deactivate_institution", "charity-01")
    net.clock.advance(minutes=2)
    assert net.submit("cc_manager", "request_settlement", "cc-01", "S-1", "")["coins"] == 3
    assert net.submit("charity_manager", "request_settlement", "charity-01", "S-1", "")["coins"] == 2
    assert net.submit("admin", "mark_settlement_paid", "cc-01", "S-1", "BANK-1")["status"] == "paid"
    assert net.query("cc_manager", "get_institution_statement", "cc-01")["settlements"][0]["status"] == "paid"
    # ... but it can no longer attest, sell or take donations, and other institutions' staff still can't.
    assert net.status("cc_staff", "earn", "M-002", "course_session", 1, EVIDENCE, "e2") == 403
    assert net.status("cc_staff", "create_payment_request", "K-1", 1000, 1, "gym", "2030-01-01T00:00Z") == 403
    assert net.status("m1", "pay", "M-001", "cc-01", 1000, 1, "gym", "p2") == 404
    assert net.status("m2", "donate", "M-002", "charity-01", 1, "d2") == 404
    assert net.status("wc_manager", "request_settlement", "cc-01", "S-2", "") == 403
    assert net.query("auditor", "audit_supply")["ok"]


def test_spending_takes_the_oldest_lot_first(net: CoinNetwork) -> None:
    net.submit("cc_staff", "earn", "M-001", "course_session", 3, EVIDENCE, "e1")
    net.clock.set(kst(2025, 2, 1, 10))
    net.submit("admin", "allocate_allowance", "cc-01", net.client_id("cc_staff"), "2025", 100)
    net.submit("cc_staff", "earn", "M-001", "course_session", 3, EVIDENCE, "e2")
    net.submit("m1", "pay", "M-001", "cc-01", 1000, 4, "gym", "p1")
    assert net.query("m1", "get_balance", "M-001")["lots"] == {"2025/v1": 2}


def test_expiry_moves_old_lots_out_of_circulation(net: CoinNetwork) -> None:
    net.submit("admin", "set_policy", {"effective_from": "now", "expiry_years": 1})
    net.submit("cc_staff", "earn", "M-001", "course_session", 3, EVIDENCE, "e1")  # lot 2024
    assert net.status("m1", "expire_coins", "M-001") == 409  # nothing expired yet
    net.clock.set(kst(2025, 12, 31, 23))
    assert net.query("m1", "get_balance", "M-001")["spendable"] == 3  # valid through the end of 2025
    net.clock.set(kst(2026, 1, 1, 0, 30))
    balance = net.query("m1", "get_balance", "M-001")
    assert (balance["coins"], balance["spendable"], balance["expired_pending"]) == (3, 0, 3)
    assert net.status("m1", "pay", "M-001", "cc-01", 1000, 1, "gym", "p1") == 409
    assert net.status("m2", "expire_coins", "M-001") == 403
    expired = net.submit("m1", "expire_coins", "M-001")
    assert expired["coins"] == 3 and expired["lots"] == {"2024/v2": 3}
    assert net.query("m1", "get_balance", "M-001")["coins"] == 0
    audit = net.query("auditor", "audit_supply")
    assert audit["ok"] and audit["expired"] == 3 and audit["outstanding"] == 0
