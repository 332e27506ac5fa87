"""Earned lots under expiry rules, on the ledger's clock.

A lot earned in local year Y under `expiry_years: N` stays valid through the end of year Y + N, and N is at
least 1: no lot can expire within a test on a real clock. What the clock decides here is which lot a coin
falls in (the year of the earning's timestamp, the version in force then), that coins whose version sets
an expiry are spent first, and that nothing expires early. Lots expiring are tested on the embedded
ledger with a pinned clock (`tests/coin/test_coin_expiry.py`).
"""

from __future__ import annotations

from datetime import datetime

from rules_ledgers import refusal
from rules_world import EVIDENCE, World, local_year


def test_lots_name_their_year_and_version_and_the_expiring_ones_are_spent_first(world: World) -> None:
    ledger, m1 = world.ledger, world.m1
    kept = ledger.submit("cc_staff", "earn", m1, "course_session", 2, EVIDENCE, "e1")  # no expiry
    expiring = ledger.submit("admin", "set_policy", {"effective_from": "now", "expiry_years": 1})["version"]
    earned = ledger.submit("cc_staff", "earn", m1, "course_session", 3, EVIDENCE, "e2")
    year = local_year(datetime.fromisoformat(earned["timestamp"]))
    assert local_year(datetime.fromisoformat(kept["timestamp"])) == year
    never, soon = f"{year}/v{world.baseline_version}", f"{year}/v{expiring}"
    balance = ledger.query("m1", "get_balance", m1)
    assert (balance["coins"], balance["spendable"], balance["expired_pending"]) == (5, 5, 0)
    assert balance["lots"] == {never: 2, soon: 3}
    nothing = refusal(lambda: ledger.submit("m1", "expire_coins", m1))
    assert nothing.status == 409, nothing
    other = refusal(lambda: ledger.submit("m2", "expire_coins", m1))
    assert other.status == 403, other
    ledger.submit("m1", "pay", m1, world.cc, 1000, 2, "gym", "p1")
    assert ledger.query("m1", "get_balance", m1)["lots"] == {never: 2, soon: 1}
    # A later version without expiry does not change the lot that was earned with it.
    ledger.submit("admin", "set_policy", {"effective_from": "now", "expiry_years": None})
    ledger.submit("cc_staff", "earn", m1, "course_session", 1, EVIDENCE, "e3")
    lots = ledger.query("m1", "get_balance", m1)["lots"]
    assert lots == {never: 2, soon: 1, f"{year}/v{expiring + 1}": 1}
    ledger.submit("m1", "pay", m1, world.cc, 1000, 1, "gym", "p2")
    assert ledger.query("m1", "get_balance", m1)["lots"] == {never: 2, f"{year}/v{expiring + 1}": 1}
    assert world.balance(m1) == 3
