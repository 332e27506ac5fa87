"""Kiosk payment requests: created by staff, paid once by a member, expiring on the ledger's clock."""

from __future__ import annotations

from datetime import datetime, timedelta

from rules_ledgers import iso, now, refusal, wait_until
from rules_world import EVIDENCE, World


def fund(world: World) -> None:
    world.ledger.submit("cc_staff", "earn", world.m1, "volunteer_hour", 8, EVIDENCE, "fund1")  # 24 coins
    world.ledger.submit("wc_manager", "earn", world.m2, "volunteer_hour", 8, EVIDENCE, "fund2")


def test_a_kiosk_request_is_paid_exactly_once(world: World) -> None:
    ledger, m1, m2, cc = world.ledger, world.m1, world.m2, world.cc
    fund(world)
    expires = iso(now() + timedelta(minutes=10))
    created = ledger.submit("cc_staff", "create_payment_request", "K-1", 3000, 10, "cafeteria", expires)
    assert (created["status"], created["coins"], created["policy_version"]) == (
        "open",
        10,
        world.baseline_version,
    )
    paid = ledger.submit("m1", "pay_request", cc, "K-1", m1)
    assert (paid["coins"], paid["cash_krw"], paid["request_id"]) == (10, 1000, "K-1")
    for who, member in (("m2", m2), ("m1", m1)):
        again = refusal(lambda who=who, member=member: ledger.submit(who, "pay_request", cc, "K-1", member))
        assert again.status == 409, again
    direct = refusal(lambda: ledger.submit("m2", "pay", m2, cc, 1000, 1, "gym", "K-1"))  # the id is taken
    assert direct.status == 409, direct
    assert (world.balance(m1), world.balance(m2)) == (14, 24)
    assert world.statement()["unredeemed"]["coins"] == 10
    assert ledger.query("m1", "get_payment_request", cc, "K-1")["paid_by"] == m1
    seen_by_other = ledger.query("m2", "get_payment_request", cc, "K-1")
    assert (seen_by_other["status"], seen_by_other["paid_by"]) == ("paid", None)


def test_kiosk_request_rules(world: World) -> None:
    ledger, cc = world.ledger, world.cc
    fund(world)
    future = iso(now() + timedelta(minutes=10))
    for who, args, status in (
        ("charity_manager", ("K-1", 1000, 1, "x", future), 403),  # sells nothing
        ("m1", ("K-1", 1000, 1, "x", future), 403),  # not staff
        ("cc_staff", ("K-1", 1000, 1, "x", iso(now() - timedelta(seconds=1))), 400),  # already expired
        ("cc_staff", ("K-1", 100, 1, "x", future), 400),  # one coin is worth 200 KRW, more than the price
    ):
        refused = refusal(lambda who=who, args=args: ledger.submit(who, "create_payment_request", *args))
        assert refused.status == status, (who, args, refused)
    missing = refusal(lambda: ledger.query("m1", "get_payment_request", cc, "K-1"))
    assert missing.status == 404, missing
    ledger.submit("cc_staff", "create_payment_request", "K-1", 1000, 1, "x", future)
    taken = refusal(
        lambda: ledger.submit("cc_manager", "create_payment_request", "K-1", 1000, 1, "x", future)
    )
    assert taken.status == 409, taken
    unknown = refusal(lambda: ledger.submit("m1", "pay_request", cc, "K-404", world.m1))
    assert unknown.status == 404, unknown
    assert world.balance(world.m1) == 24


def test_a_kiosk_request_expires_on_the_ledgers_clock(world: World) -> None:
    ledger, cc = world.ledger, world.cc
    fund(world)
    expires = now() + timedelta(seconds=60)
    ledger.submit("cc_staff", "create_payment_request", "K-1", 2000, 5, "gym", iso(expires))
    # Stamped at the very moment it expires (a client a minute ahead, inside the allowance): too late.
    with ledger.stamped(expires):
        at_expiry = refusal(lambda: ledger.submit("m2", "pay_request", cc, "K-1", world.m2))
    assert at_expiry.status == 409 and "expired" in at_expiry.message, at_expiry
    paid = ledger.submit("m1", "pay_request", cc, "K-1", world.m1)  # on time, from an honest clock
    assert datetime.fromisoformat(paid["timestamp"]) < expires
    # A second request, left until the ledger's clock passes its expiry.
    created = now()
    expires = created + timedelta(seconds=3)
    with ledger.stamped(created):  # a slow endorsement would otherwise find it expired at its creation
        ledger.submit("cc_staff", "create_payment_request", "K-2", 2000, 5, "gym", iso(expires))
    wait_until(lambda: now() > expires, "the request's expiry to pass")
    late = refusal(lambda: ledger.submit("m1", "pay_request", cc, "K-2", world.m1))
    assert late.status == 409 and "expired" in late.message, late
    assert (world.balance(world.m1), world.balance(world.m2)) == (19, 24)
    assert world.statement()["unredeemed"]["coins"] == 5
    unpaid = ledger.query("cc_staff", "get_payment_request", cc, "K-2")
    assert (unpaid["status"], unpaid["paid_by"]) == ("open", "")


def test_a_kiosk_request_is_not_repriced_by_a_later_policy(world: World) -> None:
    ledger, cc = world.ledger, world.cc
    fund(world)
    expires = iso(now() + timedelta(minutes=10))
    created = ledger.submit("cc_staff", "create_payment_request", "K-1", 3000, 15, "gym", expires)
    assert (created["coin_value_krw"], created["payment_unit"]) == (200, 1)
    cheaper = ledger.submit("admin", "set_policy", {"effective_from": "now", "coin_value_krw": 100})
    refused = refusal(lambda: ledger.submit("m1", "pay_request", cc, "K-1", world.m1))
    assert refused.status == 409 and "200 KRW" in refused.message and "100 KRW" in refused.message, refused
    assert world.balance(world.m1) == 24
    assert ledger.query("m1", "get_payment_request", cc, "K-1")["status"] == "open"
    renewed = ledger.submit("cc_staff", "create_payment_request", "K-2", 3000, 15, "gym", expires)
    assert (renewed["coin_value_krw"], renewed["policy_version"]) == (100, cheaper["version"])
    paid = ledger.submit("m1", "pay_request", cc, "K-2", world.m1)
    assert (paid["krw"], paid["cash_krw"], world.balance(world.m1)) == (1500, 1500, 9)
