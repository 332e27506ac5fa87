"""A district past the peer's `totalQueryLimit`: more than 100,000 members on the embedded ledger.

Before the aggregates, a report counted members with one range scan, which a peer (and the embedded
ledger, at the same default limit) ends at 100,000 rows without an error: the 100,001st member and
every one after went uncounted. Here the report (aggregates) and the audit (a recount in pages) are
exactly right, at the real default limit, before and after compaction.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from embedded_ledger.queries import TOTAL_QUERY_LIMIT

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from benchmarks.scale_world import ScaleWorld

pytestmark = [pytest.mark.scale, pytest.mark.timeout(900)]

MEMBERS = TOTAL_QUERY_LIMIT + 1_200
EARNERS = range(0, 3_000, 3)  # 1,000 seniors earn 2 coins each
PAYERS = 60  # the seniors among them (20) pay 1 coin each


@pytest.fixture(scope="module")
def world() -> Iterator[ScaleWorld]:
    assert TOTAL_QUERY_LIMIT == 100_000  # the peer's default, not lowered for this test
    world = ScaleWorld.create(None)
    world.register(MEMBERS, payers=PAYERS)
    world.earn(EARNERS)
    world.pay()
    yield world
    world.ledger.close()


def check(world: ScaleWorld) -> None:
    report = world.query("get_report")
    assert (report["members"], report["active_members"], report["participants"]) == (MEMBERS, MEMBERS, 1_000)
    assert report["institutions"] == 1
    assert report["by_category"] == {
        "senior": (MEMBERS + 2) // 3,
        "resident": MEMBERS - (MEMBERS + 2) // 3,
        "worker": MEMBERS // 3,
    }
    assert report["coins"] == {
        "earned": 2_000,
        "spent": 20,
        "donated": 0,
        "redeemed": 0,
        "expired": 0,
        "outstanding": 2_000,
    }
    audit = world.query("audit_supply")
    assert audit["ok"], audit
    assert audit["counted"] == {
        "members": MEMBERS,
        "active_members": MEMBERS,
        "participants": 1_000,
        "institutions": 1,
    }
    assert (audit["member_balances"], audit["institution_unredeemed"]) == (1_980, 20)


def test_report_and_audit_are_exact_past_the_query_limit(world: ScaleWorld) -> None:
    check(world)


def test_compaction_in_steps_keeps_them_exact(world: ScaleWorld) -> None:
    folded = world.compact()
    assert folded > MEMBERS // 1_000  # registrations (one tally row per batch), earnings, payments
    check(world)
    one_member = world.query("get_balance", "S-0000099")  # earned 2, never paid
    assert one_member["coins"] == 2
