"""Settlement: receipts valued when received, redeemed up to a cutoff before the settlement's own time."""

from __future__ import annotations

from datetime import timedelta

from rules_ledgers import iso, now, refusal
from rules_world import EVIDENCE, World


def test_settlement_values_each_receipt_when_received_and_redeems_it_once(world: World) -> None:
    ledger, m1, cc = world.ledger, world.m1, world.cc
    supply = ledger.query("auditor", "audit_supply")
    ledger.submit("cc_staff", "earn", m1, "volunteer_hour", 8, EVIDENCE, "e1")  # 24 coins
    ledger.submit("m1", "pay", m1, cc, 1000, 5, "gym", "p1")  # 5 x 200 KRW
    ledger.submit("admin", "set_policy", {"effective_from": "now", "coin_value_krw": 100})
    ledger.submit("m1", "pay", m1, cc, 1000, 5, "gym", "p2")  # 5 x 100 KRW
    cutoff = iso(now())  # after both receipts, before the settlement's own timestamp
    for who in ("cc_staff", "wc_manager"):  # not a manager; another institution's manager
        refused = refusal(lambda who=who: ledger.submit(who, "request_settlement", cc, "S-1", cutoff))
        assert refused.status == 403, (who, refused)
    assert world.statement()["unredeemed"]["coins"] == 10
    settled = ledger.submit("cc_manager", "request_settlement", cc, "S-1", cutoff)
    assert (settled["coins"], settled["krw"], settled["receipts"], settled["status"]) == (
        10,
        1500,
        2,
        "requested",
    )
    statement = world.statement()
    assert statement["unredeemed"]["coins"] == 0
    assert [s["settlement_id"] for s in statement["settlements"]] == ["S-1"]
    nothing_left = refusal(lambda: ledger.submit("cc_manager", "request_settlement", cc, "S-2", cutoff))
    assert nothing_left.status == 409, nothing_left
    audit = ledger.query("auditor", "audit_supply")
    assert audit["ok"]
    assert audit["redeemed"] - supply["redeemed"] == 10
    assert audit["outstanding"] - supply["outstanding"] == 14


def test_receipts_younger_than_the_cutoff_wait_for_the_next_settlement(world: World) -> None:
    ledger, m1, cc = world.ledger, world.m1, world.cc
    ledger.submit("cc_staff", "earn", m1, "course_session", 10, EVIDENCE, "e1")
    ledger.submit("m1", "pay", m1, cc, 1000, 2, "gym", "p1")
    # The default cutoff is the policy's margin (60 s) before the settlement: seconds-old receipts wait.
    young = refusal(lambda: ledger.submit("cc_manager", "request_settlement", cc, "S-1", ""))
    assert young.status == 409, young
    future = refusal(
        lambda: ledger.submit(
            "cc_manager", "request_settlement", cc, "S-1", iso(now() + timedelta(seconds=60))
        )
    )
    assert future.status == 400 and "before the transaction's own timestamp" in future.message, future
    assert world.statement()["unredeemed"]["coins"] == 2
    # With the margin at zero, the default cutoff is the settlement's own moment.
    ledger.submit("admin", "set_policy", {"effective_from": "now", "settlement_cutoff_seconds": 0})
    first = ledger.submit("cc_manager", "request_settlement", cc, "S-1", "")
    assert (first["coins"], first["receipts"]) == (2, 1)
    ledger.submit("m1", "pay", m1, cc, 1000, 3, "gym", "p2")
    second = ledger.submit("cc_manager", "request_settlement", cc, "S-2", "")
    assert (second["coins"], second["receipts"]) == (3, 1)
    assert world.statement()["unredeemed"]["coins"] == 0


def test_a_settlement_is_marked_paid_once_by_the_district(world: World) -> None:
    ledger, m1, cc = world.ledger, world.m1, world.cc
    ledger.submit("cc_staff", "earn", m1, "course_session", 3, EVIDENCE, "e1")
    ledger.submit("m1", "pay", m1, cc, 1000, 3, "gym", "p1")
    ledger.submit("cc_manager", "request_settlement", cc, "S-1", iso(now()))
    again = refusal(lambda: ledger.submit("cc_manager", "request_settlement", cc, "S-1", iso(now())))
    assert again.status == 409, again
    manager = refusal(lambda: ledger.submit("cc_manager", "mark_settlement_paid", cc, "S-1", "BANK-42"))
    assert manager.status == 403, manager
    paid = ledger.submit("admin", "mark_settlement_paid", cc, "S-1", "BANK-42")
    assert (paid["status"], paid["payment_reference"]) == ("paid", "BANK-42")
    twice = refusal(lambda: ledger.submit("admin", "mark_settlement_paid", cc, "S-1", "BANK-43"))
    unknown = refusal(lambda: ledger.submit("admin", "mark_settlement_paid", cc, "S-9", "BANK-42"))
    assert (twice.status, unknown.status) == (409, 404)
    settlement = world.statement()["settlements"][0]
    assert (settlement["status"], settlement["payment_reference"]) == ("paid", "BANK-42")
