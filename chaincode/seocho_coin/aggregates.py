"""The district's aggregates: monthly rollups plus the delta rows not folded into them yet.

Every movement writes a `stat` row and every change of a count a `tally` row (`census`), each under
its own key: nothing many transactions write is read by them, so there is no hot key. A report reads
the rollups (one per month) and the rows not yet compacted, so its cost depends on how much has
happened since the last `compact_stats`, not on how many members or movements the ledger holds.

`compact_stats(month)` folds at most `MAX_ROWS_PER_COMPACTION` rows of a month, oldest first, that
are stamped before `now - 2 × max_clock_skew_seconds`, into the month's rollup and deletes them; it
works on the running month too, so a month with a million movements is compacted in steps
(`more: true` says to call again). Why the cutoff: Fabric re-executes a range read at validation,
and a row added inside it makes the compaction a PHANTOM_READ_CONFLICT. Delta rows are keyed by
time, and a peer refuses proposals stamped further than the skew from its clock, so rows in flight
land after the cutoff, beyond the compaction's range. A compaction invalidated anyway changes
nothing and is simply run again.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from fabric_shim.contract_errors import BadRequest, Conflict

from seocho_coin import ids, keys, roles
from seocho_coin.records import StatRow, Tally, decode, encode
from seocho_coin.stats import Totals
from seocho_coin.txn import Tx

MAX_ROWS_PER_COMPACTION = 10_000
"""Bounds one compaction's read and write sets, far below the peer's `totalQueryLimit`."""


def totals(tx: Tx) -> Totals:
    """Everything ever recorded: rollups plus delta rows, read in pages (queries only)."""
    result = Totals()
    for _key, raw in tx.scan_all(keys.STAT_ROLLUP, []):
        result.merge(decode_rollup(raw))
    for key, raw in tx.scan_all(keys.STAT, []):
        result.add(_month_of(key), decode(StatRow, raw))
    for key, raw in tx.scan_all(keys.TALLY, []):
        result.add_tally(_month_of(key), decode(Tally, raw))
    return result


def compact_stats(tx: Tx, month: str) -> dict[str, Any]:
    """Fold a month's older delta rows into its rollup row (admin); reports stay the same."""
    ids.require_month("month", month)
    roles.require_district_role(tx, roles.ADMIN)
    if month > tx.policy.local_month(tx.now):
        raise BadRequest(f"month {month} has not begun")
    cutoff = ids.format_timestamp(tx.now - timedelta(seconds=2 * tx.policy.max_clock_skew_seconds))
    rollup_key = keys.stat_rollup(month)
    folded = Totals()
    existing = tx.raw(rollup_key)
    if existing is not None:
        folded.merge(decode_rollup(existing))
    count = 0
    more = False
    for object_type in (keys.STAT, keys.TALLY):
        for key, raw in _rows_before(tx, object_type, month, cutoff):
            if count == MAX_ROWS_PER_COMPACTION:
                more = True
                break
            if object_type == keys.STAT:
                folded.add(month, decode(StatRow, raw))
            else:
                folded.add_tally(month, decode(Tally, raw))
            tx.delete(key)
            count += 1
    if count == 0:
        raise Conflict(f"month {month} has no statistics rows stamped before {cutoff} to compact")
    tx.put_raw(rollup_key, encode(folded.to_dict()))
    return {"month": month, "rows_folded": count, "rows_total": folded.rows, "more": more}


def _rows_before(tx: Tx, object_type: str, month: str, cutoff: str) -> Iterator[tuple[str, bytes]]:
    """The month's rows stamped before `cutoff`, oldest first; stops at the first later one."""
    rows = tx.scan(object_type, [month])
    try:
        for key, raw in rows:
            parts = key.split("\x00")
            # ["", type, month, time, tx id, ""]; rows written before time was in the key have no time.
            if len(parts) == 6 and parts[3] >= cutoff:
                return
            yield key, raw
    finally:
        rows.close()


def decode_rollup(raw: bytes) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(raw)
    return data


def _month_of(key: str) -> str:
    # <type>~<month>~...: the month is the first attribute after the object type.
    return key.split("\x00")[2]
