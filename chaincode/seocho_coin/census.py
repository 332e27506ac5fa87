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

from fabric_shim.contract_errors import Conflict

from seocho_coin import keys
from seocho_coin.records import Tally
from seocho_coin.txn import Tx


def record(tx: Tx, tally: Tally) -> None:
    """Write the transaction's one tally row (a transaction calls this at most once).

    Refused (409) on a ledger whose layout is older than the chaincode's: its counts are only right
    again once `seocho_coin.migrations` has backfilled them, and a change counted meanwhile could be
    counted twice. Only the transactions that change a count read the version for it.
    """
    require_current_layout(tx)
    write(tx, tally)


def write(tx: Tx, tally: Tally) -> None:
    """`record` without the layout check: for the migration that backfills the counts."""
    tally.categories = {name: n for name, n in sorted(tally.categories.items()) if n != 0}
    tx.put(keys.tally(tx.policy.local_month(tx.now), tx.timestamp, tx.tx_id), tally)


CURRENT_SCHEMA = 1
"""The data layout this chaincode writes (`Config.schema_version`; see `seocho_coin.migrations`)."""


def require_current_layout(tx: Tx) -> None:
    version = tx.config.schema_version
    if version < CURRENT_SCHEMA:
        raise Conflict(
            f"the ledger's data layout is version {version} and this chaincode needs {CURRENT_SCHEMA}: "
            "a district admin must run `seocho migrate` (deploy does) before members, institutions "
            "or participants change"
        )


def registered(categories: list[str], count: int = 1) -> Tally:
    return Tally(members=count, active_members=count, categories=dict.fromkeys(categories, count))


def recategorised(old: list[str], new: list[str]) -> Tally:
    change: dict[str, int] = {}
    for name in old:
        change[name] = change.get(name, 0) - 1
    for name in new:
        change[name] = change.get(name, 0) + 1
    return Tally(categories=change)
