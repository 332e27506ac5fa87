"""Policy versions and effective dates, on the ledger's own clock (embedded ledger and real peers)."""

from __future__ import annotations

from datetime import datetime, timedelta

from coin_network import DISTRICT
from rules_ledgers import RulesLedger, iso, now, refusal, wait_until
from rules_world import EVIDENCE, World

FIVE_AN_HOUR = {
    "volunteer_hour": {"unit": "hour", "coins_per_unit": 5, "counts_toward_daily_hours": True},
    "course_session": {"unit": "session", "coins_per_unit": 1},
}


def in_force(ledger: RulesLedger) -> int:
    return int(ledger.query("auditor", "get_policy", 0)["version"])


def test_a_version_takes_effect_at_its_moment_and_every_movement_records_its_version(world: World) -> None:
    ledger, m1 = world.ledger, world.m1
    decided = now()
    starts = decided + timedelta(seconds=8)
    with ledger.stamped(decided):  # proposed when its start was chosen, however slow the machine is
        later = ledger.submit(
            "admin", "set_policy", {"effective_from": iso(starts), "activities": FIVE_AN_HOUR}
        )
    assert later["version"] == world.baseline_version + 1
    assert datetime.fromisoformat(later["effective_from"]) == starts
    with ledger.stamped(starts - timedelta(milliseconds=1)):
        assert in_force(ledger) == world.baseline_version  # not yet
    # A proposal's timestamp picks the version: just before the start, and (a client a little ahead, within
    # the skew allowance) just after it.
    with ledger.stamped(starts - timedelta(milliseconds=1)):
        before = ledger.submit("cc_staff", "earn", m1, "volunteer_hour", 1, EVIDENCE, "before")
    assert (before["coins"], before["policy_version"]) == (3, world.baseline_version)
    with ledger.stamped(starts):
        at_start = ledger.submit("cc_staff", "earn", m1, "volunteer_hour", 1, EVIDENCE, "at-start")
    assert (at_start["coins"], at_start["policy_version"]) == (5, later["version"])
    # On the ledger's own clock the version comes into force by itself.
    wait_until(lambda: in_force(ledger) == later["version"], "the new version to come into force")
    after = ledger.submit("cc_staff", "earn", m1, "volunteer_hour", 2, EVIDENCE, "after")
    assert (after["coins"], after["policy_version"]) == (10, later["version"])
    history = ledger.query("auditor", "get_member_history", m1, 10, "")["movements"]
    assert [(m["coins"], m["policy_version"]) for m in history] == [
        (3, world.baseline_version),
        (5, later["version"]),
        (10, later["version"]),
    ]
    assert world.balance(m1) == 18
    kept = ledger.query("auditor", "get_policy", world.baseline_version)["activities"]
    assert kept["volunteer_hour"]["coins_per_unit"] == 3  # the old version is kept as it was


def test_a_version_may_not_start_in_the_past_nor_before_the_latest(world: World) -> None:
    ledger = world.ledger
    versions = world.versions()
    past = refusal(
        lambda: ledger.submit("admin", "set_policy", {"effective_from": iso(now() - timedelta(minutes=1))})
    )
    assert past.status == 400 and "in the past" in past.message, past
    decided = now()
    starts = decided + timedelta(seconds=5)
    with ledger.stamped(decided):  # a slow endorsement would otherwise find the start already passed
        ledger.submit("admin", "set_policy", {"effective_from": iso(starts), "payment_unit": 10})
    # Stamped before either start, so only the order of the versions is wrong.
    with ledger.stamped(starts - timedelta(seconds=2)):
        earlier = refusal(
            lambda: ledger.submit(
                "admin",
                "set_policy",
                {"effective_from": iso(starts - timedelta(seconds=1)), "payment_unit": 5},
            )
        )
    assert earlier.status == 400 and "must not precede" in earlier.message, earlier
    assert world.versions() == [*versions, versions[-1] + 1]
    with ledger.stamped(starts - timedelta(milliseconds=1)):
        assert ledger.query("auditor", "get_policy", 0)["payment_unit"] == 1
    not_admin = refusal(lambda: ledger.submit("cc_manager", "set_policy", {"effective_from": "now"}))
    assert not_admin.status == 403
    assert world.versions() == [*versions, versions[-1] + 1]
    wait_until(lambda: ledger.query("auditor", "get_policy", 0)["payment_unit"] == 10, "payment unit 10")


def test_opening_earning_to_all_takes_effect_at_its_moment(world: World) -> None:
    ledger = world.ledger
    resident = world.m1[:-1] + "3"
    ledger.enroll("m3", DISTRICT, role="member")
    ledger.submit("registrar", "register_member", resident, ["resident"], ledger.client_id("m3"))
    seniors_only = refusal(
        lambda: ledger.submit("cc_staff", "earn", resident, "course_session", 1, EVIDENCE, "r1")
    )
    assert seniors_only.status == 403, seniors_only
    not_admin = refusal(lambda: ledger.submit("cc_manager", "open_earning_to_all", "now"))
    assert not_admin.status == 403, not_admin
    decided = now()
    starts = decided + timedelta(seconds=5)
    with ledger.stamped(decided):  # a slow endorsement would otherwise find the start already passed
        opened = ledger.submit("admin", "open_earning_to_all", iso(starts))
    assert (opened["version"], opened["open_to_all"]) == (world.baseline_version + 1, True)
    with ledger.stamped(starts - timedelta(milliseconds=1)):
        early = refusal(
            lambda: ledger.submit("cc_staff", "earn", resident, "course_session", 1, EVIDENCE, "r1")
        )
    assert early.status == 403, early
    assert world.balance(resident) == 0
    wait_until(lambda: in_force(ledger) == opened["version"], "the ordinance to come into force")
    earned = ledger.submit("cc_staff", "earn", resident, "course_session", 1, EVIDENCE, "r1")
    assert (earned["coins"], earned["policy_version"]) == (1, opened["version"])
    assert world.balance(resident) == 1
