"""Clock skew against the endorsing peer's own clock, and each member's time running forward only.

On the network the judge is the chaincode servers' clock beside the peers; a test can only be a client whose
clock is wrong (`stamped`).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from rules_ledgers import iso, now, refusal
from rules_world import EVIDENCE, World


def test_a_proposal_outside_the_allowance_is_refused_and_one_inside_is_accepted(world: World) -> None:
    ledger, m1 = world.ledger, world.m1
    for offset in (timedelta(minutes=10), timedelta(minutes=-10)):
        with ledger.stamped(now() + offset):
            earn = refusal(lambda: ledger.submit("cc_staff", "earn", m1, "course_session", 2, EVIDENCE, "e1"))
            balance = refusal(lambda: ledger.query("m1", "get_balance", m1))  # queries are checked too
        direction = "ahead of" if offset > timedelta() else "behind"
        assert earn.status == 400 and balance.status == 400, (earn, balance)
        assert (
            f"{direction} the endorsing peer's clock" in earn.message
            and "(at most 300 s allowed)" in earn.message
        ), earn
    assert world.balance(m1) == 0
    assert ledger.query("m1", "get_member_history", m1, 10, "")["movements"] == []
    # Four minutes behind is within the default 300 s: accepted, and stamped with the proposal's time.
    moment = now() - timedelta(minutes=4)
    with ledger.stamped(moment):
        earned = ledger.submit("cc_staff", "earn", m1, "course_session", 2, EVIDENCE, "e1")
    assert datetime.fromisoformat(earned["timestamp"]) == moment
    assert world.balance(m1) == 2
    history = ledger.query("m1", "get_member_history", m1, 10, "")["movements"]
    assert [(h["coins"], datetime.fromisoformat(h["timestamp"])) for h in history] == [(2, moment)]


def test_the_allowance_is_the_policy_in_force_at_the_peers_clock(world: World) -> None:
    ledger, m1 = world.ledger, world.m1
    ledger.submit("admin", "set_policy", {"effective_from": "now", "max_clock_skew_seconds": 60})
    with ledger.stamped(now() - timedelta(seconds=120)):
        refused = refusal(lambda: ledger.submit("cc_staff", "earn", m1, "course_session", 1, EVIDENCE, "e1"))
    assert refused.status == 400 and "(at most 60 s allowed)" in refused.message, refused
    assert world.balance(m1) == 0
    with ledger.stamped(now() - timedelta(seconds=40)):
        ledger.submit("cc_staff", "earn", m1, "course_session", 1, EVIDENCE, "e1")
    assert world.balance(m1) == 1
    # A version starting soon with a one-day allowance cannot judge a proposal stamped inside it: the
    # allowance is the one in force at the peer's clock (now 5 s).
    ledger.submit("admin", "set_policy", {"effective_from": "now", "max_clock_skew_seconds": 5})
    starts = now() + timedelta(seconds=20)  # endorsed long before it starts, and over 5 s ahead
    ledger.submit("admin", "set_policy", {"effective_from": iso(starts), "max_clock_skew_seconds": 86_400})
    with ledger.stamped(starts + timedelta(seconds=1)):
        early = refusal(
            lambda: ledger.submit("cc_staff", "earn", world.m2, "course_session", 1, EVIDENCE, "e2")
        )
    assert early.status == 400 and "(at most 5 s allowed)" in early.message, early
    assert world.balance(world.m2) == 0


def test_a_members_movements_never_go_back_in_time(world: World) -> None:
    ledger, m1 = world.ledger, world.m1
    ledger.submit("cc_staff", "earn", m1, "course_session", 5, EVIDENCE, "e1")
    # A movement stamped before the member's latest one is refused (inside the skew allowance).
    with ledger.stamped(now() - timedelta(minutes=1)):
        back = refusal(lambda: ledger.submit("m1", "pay", m1, world.cc, 1000, 1, "gym", "p1"))
    assert back.status == 409 and "already has a coin movement" in back.message, back
    assert world.balance(m1) == 5
    # A forward-dated movement claims the member's time: an honest one now is refused until the clock
    # catches up, while another member is not affected.
    ahead = now() + timedelta(minutes=3)
    with ledger.stamped(ahead):
        ledger.submit("m1", "pay", m1, world.cc, 1000, 1, "gym", "p2")
    honest = refusal(lambda: ledger.submit("m1", "pay", m1, world.cc, 1000, 1, "gym", "p3"))
    assert honest.status == 409 and "already has a coin movement" in honest.message, honest
    assert world.balance(m1) == 4
    assert world.statement()["unredeemed"]["coins"] == 1
    ledger.submit("cc_staff", "earn", world.m2, "course_session", 1, EVIDENCE, "e2")
    assert world.balance(world.m2) == 1
