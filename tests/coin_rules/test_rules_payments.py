"""Payments and donations under the payment unit in force, and a charity settling what it was given."""

from __future__ import annotations

from rules_ledgers import iso, now, refusal
from rules_world import EVIDENCE, World


def test_payments_and_donations_follow_the_payment_unit_in_force(world: World) -> None:
    ledger, m1, cc, charity = world.ledger, world.m1, world.cc, world.charity
    ledger.submit("cc_staff", "earn", m1, "volunteer_hour", 8, EVIDENCE, "e1")  # 24 coins
    unit = ledger.submit("admin", "set_policy", {"effective_from": "now", "payment_unit": 5})["version"]
    for fn, args in (("donate", (m1, charity, 3, "d1")), ("pay", (m1, cc, 5000, 7, "gym", "p1"))):
        refused = refusal(lambda fn=fn, args=args: ledger.submit("m1", fn, *args))
        assert refused.status == 400, (fn, refused)
    not_theirs = refusal(lambda: ledger.submit("m2", "donate", m1, charity, 5, "d1"))
    assert not_theirs.status == 403, not_theirs
    assert world.balance(m1) == 24
    donated = ledger.submit("m1", "donate", m1, charity, 5, "d1")
    assert donated["policy_version"] == unit
    receipt = ledger.query("m1", "get_donation_receipt", donated["tx_id"])
    assert (receipt["member_id"], receipt["charity_id"], receipt["coins"], receipt["krw"]) == (
        m1,
        charity,
        5,
        1000,
    )
    hidden = refusal(lambda: ledger.query("m2", "get_donation_receipt", donated["tx_id"]))
    assert hidden.status == 403, hidden
    paid = ledger.submit("m1", "pay", m1, cc, 5000, 10, "gym", "p1")
    assert (paid["coins"], paid["krw"], paid["cash_krw"]) == (10, 2000, 3000)
    assert world.balance(m1) == 9
    assert world.statement(charity)["unredeemed"]["donations"] == 5
    settled = ledger.submit("charity_manager", "request_settlement", charity, "S-1", iso(now()))
    assert (settled["coins"], settled["krw"], settled["receipts"]) == (5, 1000, 1)
    assert world.statement(charity)["unredeemed"]["donations"] == 0
