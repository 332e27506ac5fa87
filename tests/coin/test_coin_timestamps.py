"""Client-chosen timestamps: the skew check at endorsement and per-member monotonic time.

Fabric never checks a proposal's timestamp, and every time rule (daily and yearly caps, lot expiry,
the policy in force) reads it. `Clock.client_offset` gives the client a clock that disagrees with
the endorsing peer's (the contract reads the pinned moment; proposals carry moment + offset).
"""

from __future__ import annotations

from datetime import timedelta

from coin_network import DISTRICT, EVIDENCE, CoinNetwork, kst


def test_a_proposal_far_from_the_peer_clock_is_refused_with_a_clear_message(net: CoinNetwork) -> None:
    for offset in (timedelta(minutes=10), timedelta(minutes=-10)):
        net.clock.client_offset = offset
        response = net.evaluate("cc_staff", "earn", "M-001", "course_session", 1, EVIDENCE, "r1")
        assert response.status == 400
        assert "peer's clock" in response.message and "300 s" in response.message
        assert net.status("m1", "get_balance", "M-001") == 400  # every transaction, queries too
    net.clock.client_offset = timedelta(minutes=4)  # within the default 300 s
    assert net.submit("cc_staff", "earn", "M-001", "course_session", 1, EVIDENCE, "r1")["coins"] == 1


def test_the_allowance_is_policy(net: CoinNetwork) -> None:
    assert net.query("m1", "get_policy", 0)["max_clock_skew_seconds"] == 300
    net.submit("admin", "set_policy", {"effective_from": "now", "max_clock_skew_seconds": 60})
    net.clock.client_offset = timedelta(minutes=2)
    assert net.status("cc_staff", "earn", "M-001", "course_session", 1, EVIDENCE, "r1") == 400
    net.clock.client_offset = timedelta(seconds=50)
    assert net.status("cc_staff", "earn", "M-001", "course_session", 1, EVIDENCE, "r1") == 200
    assert net.status("admin", "set_policy", {"effective_from": "now", "max_clock_skew_seconds": 0}) == 400


def test_init_ledger_is_checked_against_the_default_allowance(bare: CoinNetwork) -> None:
    bare.enroll("admin", DISTRICT, role="admin")
    bare.clock.client_offset = timedelta(hours=1)
    assert bare.status("admin", "init_ledger", DISTRICT) == 400
    bare.clock.client_offset = timedelta()
    bare.submit("admin", "init_ledger", DISTRICT)


def test_what_is_written_comes_from_the_proposal_never_the_peer_clock(net: CoinNetwork) -> None:
    net.clock.client_offset = timedelta(seconds=200)
    earned = net.submit("cc_staff", "earn", "M-001", "course_session", 1, EVIDENCE, "r1")
    proposal_time = net.clock.moment + timedelta(seconds=200)
    assert earned["timestamp"][:19] == proposal_time.strftime("%Y-%m-%dT%H:%M:%S")
    history = net.query("m1", "get_member_history", "M-001", 10, "")["movements"]
    assert history[0]["timestamp"] == earned["timestamp"]


def test_a_member_cannot_backdate_a_payment_to_spend_expired_lots(net: CoinNetwork) -> None:
    net.submit("admin", "set_policy", {"effective_from": "now", "expiry_years": 1})
    net.submit("cc_staff", "earn", "M-001", "course_session", 3, EVIDENCE, "e1")  # lot 2024
    net.clock.set(kst(2026, 1, 1, 0, 30))  # the lot expired 30 minutes ago
    net.clock.client_offset = -timedelta(minutes=35)  # "2025-12-31 23:55" on the member's phone
    assert net.status("m1", "pay", "M-001", "cc-01", 1000, 3, "gym", "p1") == 400
    net.clock.client_offset = timedelta()
    assert net.status("m1", "pay", "M-001", "cc-01", 1000, 3, "gym", "p1") == 409  # honestly: expired


def test_staff_cannot_slip_an_earning_into_yesterdays_cap(net: CoinNetwork) -> None:
    net.clock.set(kst(2024, 3, 5, 0, 2))
    net.submit("cc_staff", "earn", "M-001", "volunteer_hour", 8, EVIDENCE, "today")  # today's cap is full
    # Four minutes back (inside the skew allowance) would land on 4 March, whose cap is empty.
    net.clock.client_offset = -timedelta(minutes=4)
    assert net.status("cc_staff", "earn", "M-001", "volunteer_hour", 8, EVIDENCE, "yesterday") == 409
    # Other members, who have not moved since, are unaffected by M-001's time.
    assert net.status("cc_staff", "earn", "M-002", "course_session", 1, EVIDENCE, "m2") == 200


def test_a_member_movement_stamped_before_the_latest_is_refused(net: CoinNetwork) -> None:
    net.submit("cc_staff", "earn", "M-001", "course_session", 5, EVIDENCE, "e1")
    net.clock.client_offset = -timedelta(minutes=1)
    response = net.evaluate("m1", "pay", "M-001", "cc-01", 1000, 1, "gym", "p1")
    assert response.status == 409 and "already has a coin movement" in response.message
    assert net.status("m1", "donate", "M-001", "charity-01", 1, "d1") == 409
    net.clock.client_offset = timedelta()
    net.submit("m1", "pay", "M-001", "cc-01", 1000, 1, "gym", "p1")
    # A forward-dated movement claims the member's time: honest ones wait until the clock catches up.
    net.clock.client_offset = timedelta(minutes=3)
    net.submit("m1", "pay", "M-001", "cc-01", 1000, 1, "gym", "p2")
    net.clock.client_offset = timedelta()
    assert net.status("m1", "pay", "M-001", "cc-01", 1000, 1, "gym", "p3") == 409
    net.clock.advance(minutes=4)
    assert net.status("m1", "pay", "M-001", "cc-01", 1000, 1, "gym", "p3") == 200


def test_the_limit_is_the_policy_in_force_at_the_peer_clock_not_at_the_proposal(net: CoinNetwork) -> None:
    """A policy that starts later cannot widen today's allowance for proposals stamped in its time."""
    starts = net.clock.moment + timedelta(hours=2)
    net.submit("admin", "set_policy", {"effective_from": starts.isoformat(), "max_clock_skew_seconds": 86400})
    net.clock.client_offset = timedelta(hours=2, seconds=1)  # stamped inside v2, two hours early
    response = net.evaluate("cc_staff", "earn", "M-001", "course_session", 1, EVIDENCE, "early")
    assert response.status == 400 and "300 s" in response.message, response.message
    assert net.status("m1", "get_balance", "M-001") == 400
    net.clock.client_offset = timedelta()
    assert net.query("m1", "get_balance", "M-001")["coins"] == 0  # nothing was earned at v2's rates
    net.clock.advance(hours=2, seconds=5)  # now v2 is in force at the peer: its allowance applies
    net.clock.client_offset = timedelta(hours=3)
    assert net.status("cc_staff", "earn", "M-001", "course_session", 1, EVIDENCE, "later") == 200


def test_a_tightened_limit_binds_at_once_even_for_back_dated_proposals(net: CoinNetwork) -> None:
    net.submit("admin", "set_policy", {"effective_from": "now", "max_clock_skew_seconds": 60})
    # Stamped 200 s back: before the new version took effect, when v1 allowed 300 s.
    net.clock.client_offset = -timedelta(seconds=200)
    response = net.evaluate("cc_staff", "earn", "M-001", "course_session", 1, EVIDENCE, "back")
    assert response.status == 400 and "60 s" in response.message, response.message
    net.clock.client_offset = -timedelta(seconds=50)
    assert net.status("cc_staff", "earn", "M-001", "course_session", 1, EVIDENCE, "back") == 200
