"""The district's counts (members, active members, participants, institutions, categories) as delta rows.

A report must not count 400,000 member rows (slow, and a peer silently ends a range scan at its
`totalQueryLimit`), and one shared counter key would be a hot key: every registration and every
first earning would read and write it, so concurrent ones would fail MVCC validation. Instead each
transaction that changes a count writes its own blind `tally` row with the change, as movements write
`stat` rows; reports sum the rows and `compact_stats` folds them into the month's rollup.

Changes are known without any extra read: a registration adds a member; (de)activation flips one; a
member's first earning (their balance shows nothing earned before) adds a participant.
"""

from __future__ import annotations

from seocho_coin import keys
from seocho_coin.records import Tally
from seocho_coin.txn import Tx


def record(tx: Tx, tally: Tally) -> None:
    """Write the transaction's one tally row (a transaction calls this at most once)."""
    tally.categories = {name: n for name, n in sorted(tally.categories.items()) if n != 0}
    tx.put(keys.tally(tx.policy.local_month(tx.now), tx.timestamp, tx.tx_id), tally)


def registered(categories: list[str], count: int = 1) -> Tally:
    return Tally(members=count, active_members=count, categories=dict.fromkeys(categories, count))


def recategorised(old: list[str], new: list[str]) -> Tally:
    change: dict[str, int] = {}
    for name in old:
        change[name] = change.get(name, 0) - 1
    for name in new:
        change[name] = change.get(name, 0) + 1
    return Tally(categories=change)
