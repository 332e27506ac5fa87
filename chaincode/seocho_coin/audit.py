"""The supply audit: every coin and every count recounted row by row, in bounded pages.

outstanding = earned - redeemed - expired must equal the member balances plus the institutions'
unredeemed receipts, each side must match its own flows, and the counted members, active members,
participants, institutions and categories must match the aggregates the report uses. The rows are
recounted independently of those aggregates.

At 400,000 members the recount reads some 800,000 rows, far more than one evaluation should (a
gateway's evaluate deadline, a peer busy for many seconds), so `audit_supply_page` reads at most
`ROWS_PER_PAGE` rows and returns a cursor: the family and key it stopped at and the sums so far. The
caller passes the cursor back until `done`; the last page returns the same document as the
one-shot `audit_supply` (which is the same loop without a bound, in one evaluation).

Pages are separate evaluations, so they read different snapshots. Every transaction that changes a
balance, a receipt, a member or an institution also writes a statistics or tally row, and
compaction keeps their total (`Totals.rows`), so the first page records that total and the last
compares it: if anything committed in between, the pages may disagree with each other and the audit
refuses to give a verdict (409) rather than report missing coins that are not missing. The cursor
comes from the caller, who could only mislead themselves with a forged one; its bookmark is still
checked to lie in its family's range, since a peer starts a scan at any key it is given.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import asdict, dataclass, field
from typing import Any

from fabric_shim.contract_errors import BadRequest, Conflict
from fabric_shim.keys import partial_composite_key_range

from seocho_coin import aggregates, keys, roles
from seocho_coin.records import Balance, Member, Receipt, decode
from seocho_coin.stats import Totals
from seocho_coin.txn import QUERY_PAGE_SIZE, Tx

ROWS_PER_PAGE = 20_000
"""Rows one `audit_supply_page` evaluation reads at most (about 0.5 s of decoding on a laptop core)."""

FAMILIES = (keys.BALANCE, keys.MEMBER, keys.INSTITUTION, keys.RECEIPT)
"""What the audit recounts, in this order."""

MAX_CURSOR_LENGTH = 16_384


@dataclass
class Recount:
    """The sums over the rows read so far, and where the next page starts."""

    family: int = 0
    bookmark: str = ""
    rows_at_start: int = 0
    member_coins: int = 0
    negative_lots: int = 0
    participants: int = 0
    members: int = 0
    active_members: int = 0
    institutions: int = 0
    receipt_coins: int = 0
    categories: dict[str, int] = field(default_factory=dict)

    def add(self, family: str, raw: bytes) -> None:
        if family == keys.BALANCE:
            balance = decode(Balance, raw)
            self.member_coins += balance.total
            self.negative_lots += sum(1 for c in balance.lots.values() if c < 0)
            self.participants += balance.earned_total > 0
        elif family == keys.MEMBER:
            member = decode(Member, raw)
            self.members += 1
            self.active_members += member.active
            for name in member.categories:
                self.categories[name] = self.categories.get(name, 0) + 1
        elif family == keys.INSTITUTION:
            self.institutions += 1
        else:
            self.receipt_coins += decode(Receipt, raw).coins

    @property
    def done(self) -> bool:
        return self.family >= len(FAMILIES)


def audit_supply(tx: Tx) -> dict[str, Any]:
    """The whole audit in one evaluation (auditor, admin): one snapshot, unbounded time."""
    roles.require_district_role(tx, roles.ADMIN, roles.AUDITOR)
    recount = Recount()
    sums = aggregates.totals(tx)
    read_rows(tx, recount, limit=None)
    return verdict(recount, sums)


def audit_supply_page(tx: Tx, cursor: str) -> dict[str, Any]:
    """One bounded page of the audit (auditor, admin); pass "" first, then the cursor returned.

    Returns `{"done": false, "cursor": ..., "rows_read": n}` until the last page, which returns
    `{"done": true, "cursor": "", "rows_read": n, "audit": <the audit_supply document>}`.
    """
    roles.require_district_role(tx, roles.ADMIN, roles.AUDITOR)
    recount = decode_cursor(cursor) if cursor else Recount(rows_at_start=aggregates.totals(tx).rows)
    rows_read = read_rows(tx, recount, limit=ROWS_PER_PAGE)
    if not recount.done:
        return {"done": False, "cursor": encode_cursor(recount), "rows_read": rows_read}
    sums = aggregates.totals(tx)
    if sums.rows != recount.rows_at_start:
        changed = sums.rows - recount.rows_at_start
        raise Conflict(
            f"the ledger changed during the audit ({changed:+d} statistics rows since its first page), "
            'so its pages saw different states; start again with cursor ""'
        )
    return {"done": True, "cursor": "", "rows_read": rows_read, "audit": verdict(recount, sums)}


def verdict(recount: Recount, sums: Totals) -> dict[str, Any]:
    """The audit document from the recounted rows and the aggregates."""
    flows = sums.coins
    outstanding = flows["earn"] - flows["redeem"] - flows["expire"]
    expected_members = flows["earn"] - flows["pay"] - flows["donate"] - flows["expire"]
    expected_receipts = flows["pay"] + flows["donate"] - flows["redeem"]
    counted = {
        "members": recount.members,
        "active_members": recount.active_members,
        "participants": recount.participants,
        "institutions": recount.institutions,
    }
    aggregated_categories = {name: n for name, n in sums.categories.items() if n != 0}
    counts_ok = counted == sums.counts and recount.categories == aggregated_categories
    ok = (
        recount.negative_lots == 0
        and outstanding == recount.member_coins + recount.receipt_coins
        and recount.member_coins == expected_members
        and recount.receipt_coins == expected_receipts
        and counts_ok
    )
    return {
        "ok": ok,
        "earned": flows["earn"],
        "spent": flows["pay"],
        "donated": flows["donate"],
        "redeemed": flows["redeem"],
        "expired": flows["expire"],
        "outstanding": outstanding,
        "member_balances": recount.member_coins,
        "institution_unredeemed": recount.receipt_coins,
        "negative_lots": recount.negative_lots,
        "counted": counted,
        "aggregated": dict(sums.counts),
        "counts_ok": counts_ok,
    }


def read_rows(tx: Tx, recount: Recount, limit: int | None, end: int = len(FAMILIES)) -> int:
    """Add rows to `recount` from where it stopped, at most `limit` of them, of the families before
    `FAMILIES[end]`; the number read."""
    read = 0
    while recount.family < end and (limit is None or read < limit):
        family = FAMILIES[recount.family]
        size = QUERY_PAGE_SIZE if limit is None else min(QUERY_PAGE_SIZE, limit - read)
        rows, bookmark = _page(tx, family, size, recount.bookmark)
        for _key, raw in rows:
            recount.add(family, raw)
        read += len(rows)
        if bookmark:
            recount.bookmark = bookmark
        else:
            recount.family += 1
            recount.bookmark = ""
    return read


def _range(family: str) -> tuple[str, str]:
    if family == keys.RECEIPT:
        return keys.receipt_range()
    return partial_composite_key_range(family, [])


def _page(tx: Tx, family: str, size: int, bookmark: str) -> tuple[list[tuple[str, bytes]], str]:
    if family != keys.RECEIPT:
        return tx.page(family, [], size, bookmark)
    start, end = _range(family)
    rows, page = tx.stub.get_state_by_range_with_pagination(start, end, size, bookmark)
    with rows:
        found = [(row.key, row.value) for row in rows]
    return found, page.bookmark


def encode_cursor(recount: Recount) -> str:
    text = json.dumps(asdict(recount), sort_keys=True, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode("utf-8")).decode("ascii")


def decode_cursor(cursor: str, end: int = len(FAMILIES)) -> Recount:
    """The cursor a previous page returned, for families before `FAMILIES[end]` (400 otherwise)."""
    problem = 'cursor is not one this query returned; pass one it returned, or ""'
    if len(cursor) > MAX_CURSOR_LENGTH:
        raise BadRequest("cursor is too long")
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor.encode("ascii")))
        recount = Recount(**data)
    except (ValueError, TypeError, binascii.Error, UnicodeError):
        raise BadRequest(problem) from None
    numbers = [v for k, v in asdict(recount).items() if k not in ("bookmark", "categories")]
    if not all(type(v) is int for v in numbers) or not isinstance(recount.bookmark, str):
        raise BadRequest(problem)
    if not isinstance(recount.categories, dict) or not all(
        isinstance(k, str) and type(v) is int for k, v in recount.categories.items()
    ):
        raise BadRequest(problem)
    if not 0 <= recount.family < end:
        raise BadRequest(problem)
    first, last = _range(FAMILIES[recount.family])
    if recount.bookmark and not (recount.bookmark.startswith(first) and recount.bookmark < last):
        raise BadRequest(problem)
    return recount
