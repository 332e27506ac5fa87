"""History bookmarks: a caller's bookmark never leads the ledger outside the queried member's movements.

A peer uses a paginated query's bookmark as the start key without checking it (Fabric's
`core/chaincode` handler), so a bookmark naming another member's movements, or a key below the
member's prefix, would read rows the caller may not see. The chaincode refuses such bookmarks (400).
"""

from __future__ import annotations

import pytest
from coin_network import EVIDENCE, CoinNetwork


@pytest.fixture
def moved(net: CoinNetwork) -> CoinNetwork:
    net.submit("cc_staff", "earn", "M-001", "course_session", 5, EVIDENCE, "e1")
    net.submit("m1", "pay", "M-001", "cc-01", 1000, 2, "secret-clinic", "p1")
    net.submit("cc_staff", "earn", "M-002", "course_session", 1, EVIDENCE, "e2")
    return net


BOOKMARKS_OUTSIDE_M002 = [
    "\x00movement\x00M-001\x00",  # another member's movements
    "\x00movement\x00M-0020\x00",  # a member id that merely starts like M-002
    "\x00",  # below every key: other record types
    "\x00movement\x00",  # the whole movement table
    "\x00movement\x00M-002",  # the prefix without its separator sorts before the member's rows
    "\x00movement\x00M-002\x00\U0010ffff",  # at or past the range's end
    "\x00movement\x00M-003\x00",
    "receipt",
    "z",
]


@pytest.mark.parametrize("bookmark", BOOKMARKS_OUTSIDE_M002)
def test_a_bookmark_outside_the_members_movements_is_refused(moved: CoinNetwork, bookmark: str) -> None:
    response = moved.evaluate("m2", "get_member_history", "M-002", 10, bookmark)
    assert response.status == 400, response.payload
    assert "bookmark" in response.message
    assert b"secret-clinic" not in response.payload and b"M-001" not in response.payload


def test_admins_and_auditors_get_the_same_check(moved: CoinNetwork) -> None:
    for who in ("admin", "auditor"):
        assert moved.status(who, "get_member_history", "M-002", 10, "\x00movement\x00M-001\x00") == 400


def test_bookmarks_the_ledger_hands_out_stay_valid(moved: CoinNetwork) -> None:
    for n in range(4):
        moved.submit("cc_staff", "earn", "M-002", "course_session", 1, EVIDENCE, f"more-{n}")
    seen: list[str] = []
    bookmark = ""
    for _page in range(10):
        page = moved.query("m2", "get_member_history", "M-002", 2, bookmark)
        seen += [m["tx_id"] for m in page["movements"]]
        bookmark = page["bookmark"]
        if not bookmark:
            break
    assert len(seen) == len(set(seen)) == 5
    # A bookmark inside the member's own range, even one the ledger did not hand out, is fine.
    own = moved.query("m2", "get_member_history", "M-002", 10, "\x00movement\x00M-002\x00")
    assert len(own["movements"]) == 5
