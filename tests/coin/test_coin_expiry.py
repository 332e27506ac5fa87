"""Lot expiry follows the rule each lot was earned under, whether or not `expire_coins` has run yet.

Every past transaction keeps its policy: coins earned under `expiry_years: 1` expire at the end of
the following local year even when a later version drops expiry, and coins earned under a version
without expiry never expire because a later version introduces it.
"""

from __future__ import annotations

from coin_network import EVIDENCE, CoinNetwork, kst


def allow(net: CoinNetwork, year: str) -> None:
    net.submit("admin", "allocate_allowance", "cc-01", net.client_id("cc_staff"), year, 100)


def test_expired_coins_stay_expired_when_a_later_policy_drops_expiry(net: CoinNetwork) -> None:
    net.submit("admin", "set_policy", {"effective_from": "now", "expiry_years": 1})
    net.submit("cc_staff", "earn", "M-001", "course_session", 3, EVIDENCE, "e1")  # valid through 2025
    net.clock.set(kst(2026, 1, 1, 0, 30))
    net.submit("admin", "set_policy", {"effective_from": "now", "expiry_years": None})
    balance = net.query("m1", "get_balance", "M-001")
    assert (balance["coins"], balance["spendable"], balance["expired_pending"]) == (3, 0, 3)
    assert net.status("m1", "pay", "M-001", "cc-01", 1000, 1, "gym", "p1") == 409
    assert net.status("m1", "donate", "M-001", "charity-01", 1, "d1") == 409
    assert net.submit("m1", "expire_coins", "M-001")["coins"] == 3
    assert net.query("auditor", "audit_supply")["expired"] == 3


def test_lots_earned_without_expiry_do_not_expire_when_a_later_policy_adds_it(net: CoinNetwork) -> None:
    net.submit("cc_staff", "earn", "M-001", "course_session", 2, EVIDENCE, "e1")  # v1: no expiry
    net.submit("admin", "set_policy", {"effective_from": "now", "expiry_years": 1})
    net.submit("cc_staff", "earn", "M-001", "course_session", 3, EVIDENCE, "e2")  # v2: through 2025
    net.clock.set(kst(2026, 6, 1, 10))
    balance = net.query("m1", "get_balance", "M-001")
    assert (balance["coins"], balance["spendable"], balance["expired_pending"]) == (5, 2, 3)
    assert net.status("m1", "pay", "M-001", "cc-01", 1000, 3, "gym", "p1") == 409
    net.submit("m1", "pay", "M-001", "cc-01", 1000, 2, "gym", "p1")
    expired = net.submit("m1", "expire_coins", "M-001")
    assert expired["coins"] == 3
    assert net.query("m1", "get_balance", "M-001")["coins"] == 0
    assert net.query("auditor", "audit_supply")["ok"]


def test_each_lot_keeps_the_expiry_it_was_earned_under(net: CoinNetwork) -> None:
    net.submit("admin", "set_policy", {"effective_from": "now", "expiry_years": 3})
    net.submit("cc_staff", "earn", "M-001", "course_session", 4, EVIDENCE, "e1")  # through 2027
    net.submit("admin", "set_policy", {"effective_from": "now", "expiry_years": 1})
    net.submit("cc_staff", "earn", "M-001", "course_session", 1, EVIDENCE, "e2")  # through 2025
    net.clock.set(kst(2026, 3, 1, 10))
    net.submit("admin", "set_policy", {"effective_from": "now", "expiry_years": 5})
    assert net.query("m1", "get_balance", "M-001")["spendable"] == 4
    net.clock.set(kst(2028, 1, 1, 10))
    assert net.query("m1", "get_balance", "M-001")["spendable"] == 0
    assert net.submit("m1", "expire_coins", "M-001")["coins"] == 5


def test_spending_takes_the_coins_that_expire_first(net: CoinNetwork) -> None:
    net.submit("cc_staff", "earn", "M-001", "course_session", 2, EVIDENCE, "e1")  # v1: never expires
    net.submit("admin", "set_policy", {"effective_from": "now", "expiry_years": 1})
    net.submit("cc_staff", "earn", "M-001", "course_session", 2, EVIDENCE, "e2")  # v2: through 2025
    net.submit("m1", "pay", "M-001", "cc-01", 1000, 2, "gym", "p1")
    net.clock.set(kst(2026, 1, 2, 10))
    assert net.query("m1", "get_balance", "M-001")["spendable"] == 2  # the expiring coins went first


def test_lots_name_their_earning_year_and_policy_version(net: CoinNetwork) -> None:
    net.submit("cc_staff", "earn", "M-001", "course_session", 2, EVIDENCE, "e1")
    net.submit("admin", "set_policy", {"effective_from": "now", "expiry_years": 1})
    net.submit("cc_staff", "earn", "M-001", "course_session", 3, EVIDENCE, "e2")
    net.clock.set(kst(2025, 2, 1, 10))
    allow(net, "2025")
    net.submit("cc_staff", "earn", "M-001", "course_session", 1, EVIDENCE, "e3")
    assert net.query("m1", "get_balance", "M-001")["lots"] == {"2024/v1": 2, "2024/v2": 3, "2025/v2": 1}
    net.clock.set(kst(2026, 1, 1, 10))
    assert net.submit("m1", "expire_coins", "M-001")["lots"] == {"2024/v2": 3}
