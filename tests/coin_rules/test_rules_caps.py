"""Daily hour cap per local day, and the balance and yearly caps, on the ledger's own clock.

The day is the local day of the policy in force (`utc_offset_minutes`). No test can wait for midnight, but a
new version's offset moves the local day: at any instant UTC-12 and UTC+14 are on different dates (26 hours
apart), so moving the offset from one to the other starts a new local day for the cap, now.
"""

from __future__ import annotations

from datetime import timedelta

from rules_ledgers import RulesLedger, local_time, now, refusal, wait_until
from rules_world import EVIDENCE, World, local_year

WEST, EAST = -720, 840  # UTC-12 and UTC+14, the ends of the offsets a policy may take
# Time a test's earnings under one local day may take on a loaded machine with real peers.
MIDNIGHT_MARGIN = timedelta(minutes=3)


def clear_of_local_midnight(offset_minutes: int, margin: timedelta = MIDNIGHT_MARGIN) -> bool:
    """True when the local day under `offset_minutes` will not change within `margin` (nor just has)."""
    local = local_time(now(), offset_minutes)
    since = local - local.replace(hour=0, minute=0, second=0, microsecond=0)
    return margin < since < timedelta(days=1) - margin


def local_day_under(ledger: RulesLedger, world: World, offset_minutes: int) -> None:
    """Puts a version with `offset_minutes` in force now, clear of its midnight; allowances for its year."""
    # At worst the margin before midnight and the one after it pass: the patience covers both.
    patience = 2 * MIDNIGHT_MARGIN.total_seconds() + 60
    wait_until(lambda: clear_of_local_midnight(offset_minutes), "the local day clear of midnight", patience)
    ledger.submit("admin", "set_policy", {"effective_from": "now", "utc_offset_minutes": offset_minutes})
    year = local_year(now(), offset_minutes)
    if year != local_year(now()):
        world.allow(year)


def test_the_daily_hour_cap_counts_hours_across_institutions_per_local_day(world: World) -> None:
    ledger, m1 = world.ledger, world.m1
    local_day_under(ledger, world, WEST)
    ledger.submit("cc_staff", "earn", m1, "volunteer_hour", 5, EVIDENCE, "h1")
    ledger.submit("wc_manager", "earn", m1, "volunteer_hour", 3, EVIDENCE, "h1")
    over = refusal(lambda: ledger.submit("cc_staff", "earn", m1, "volunteer_hour", 1, EVIDENCE, "h2"))
    assert over.status == 409, over
    assert world.balance(m1) == 24
    # Courses do not count toward the hour cap.
    ledger.submit("cc_staff", "earn", m1, "course_session", 1, EVIDENCE, "c1")
    assert world.balance(m1) == 25
    # Another member's day is their own.
    ledger.submit("wc_manager", "earn", world.m2, "volunteer_hour", 8, EVIDENCE, "h2")
    assert world.balance(world.m2) == 24
    # Fourteen hours east of UTC it is another date: a fresh cap of eight hours.
    local_day_under(ledger, world, EAST)
    ledger.submit("cc_staff", "earn", m1, "volunteer_hour", 8, EVIDENCE, "h3")
    assert world.balance(m1) == 49
    again = refusal(lambda: ledger.submit("wc_manager", "earn", m1, "volunteer_hour", 1, EVIDENCE, "h4"))
    assert again.status == 409, again
    assert world.balance(m1) == 49
    years = {local_year(now(), WEST), local_year(now(), EAST)}
    staff = ledger.client_id("cc_staff")
    used = sum(ledger.query("cc_staff", "get_allowance", world.cc, staff, year)["used"] for year in years)
    assert used == 5 * 3 + 1 + 8 * 3  # coins attested by cc_staff, both days


def test_balance_and_yearly_caps(world: World) -> None:
    ledger, m1 = world.ledger, world.m1
    caps = {"daily_volunteer_hours": 8, "yearly_earning_cap": 10, "balance_cap": 8}
    ledger.submit("admin", "set_policy", {"effective_from": "now", "caps": caps})
    ledger.submit("cc_staff", "earn", m1, "course_session", 8, EVIDENCE, "e1")
    full = refusal(lambda: ledger.submit("cc_staff", "earn", m1, "course_session", 1, EVIDENCE, "e2"))
    assert full.status == 409, full
    assert world.balance(m1) == 8
    ledger.submit("m1", "pay", m1, world.cc, 1000, 5, "gym", "p1")
    ledger.submit("cc_staff", "earn", m1, "course_session", 2, EVIDENCE, "e2")  # 10 earned this year
    yearly = refusal(lambda: ledger.submit("cc_staff", "earn", m1, "course_session", 1, EVIDENCE, "e3"))
    assert yearly.status == 409, yearly
    assert world.balance(m1) == 5
