"""The ledger's data-layout version, and the migrations that bring an older ledger up to it.

`Config.schema_version` says which layout the rows follow; `init_ledger` writes `CURRENT_SCHEMA`,
and a ledger initialised before versions existed reads as 0. After an upgrade to a chaincode with a
newer layout, `deploy` runs `seocho migrate` (the SDK's `Coin.migrate`), which for each version:

1. recounts in bounded pages, as evaluations (`migration_page`, at most `audit.ROWS_PER_PAGE` rows
   each, the audit's own recount): a submit transaction cannot page through 400,000 rows, since
   Fabric refuses writes in a transaction that ran a paginated query and an unpaginated scan stops
   silently at the peer's `totalQueryLimit`;
2. submits the last page's result (`migrate_ledger`), which writes it and the new version.

Version 1 is the aggregates backfill: a ledger written before the aggregates has members,
institutions and participants but no tally rows, so its report counts from zero and its audit says
`counts_ok: false`. The recount's difference from the aggregates becomes one tally row (nothing
for a ledger that had the aggregates already), so every count is right from then on.

While a ledger is older than `CURRENT_SCHEMA`, the transactions that change a count (those that
write a tally row: registrations, (de)activations, recategorisations, new institutions, first
earnings; see `census.record`) are refused (409), so the recount and its submit see the same
counts; other earnings, payments, donations, settlements and queries go on. The numbers of step 2
come from the admin's client; the audit recounts them independently every time it runs, so a wrong
backfill cannot hide.
"""

from __future__ import annotations

from typing import Any

from fabric_shim.contract_errors import BadRequest, Conflict

from seocho_coin import aggregates, audit, census, ids, keys, roles
from seocho_coin.records import Config, Tally
from seocho_coin.stats import COUNTS
from seocho_coin.txn import Tx

CURRENT_SCHEMA = census.CURRENT_SCHEMA

_COUNTED = audit.FAMILIES.index(keys.RECEIPT)
"""The backfill recounts the families before receipts: balances, members, institutions."""


def migration_page(tx: Tx, cursor: str) -> dict[str, Any]:
    """One bounded page of the next migration's recount (district admin); "" first, then `cursor`.

    `pending` is false when the ledger is up to date. Otherwise the pages run until `done`, whose
    `version` and `backfill` are what `migrate_ledger` takes.
    """
    roles.require_district_role(tx, roles.ADMIN)
    version = tx.config.schema_version
    if version >= CURRENT_SCHEMA:
        return {"pending": False, "schema_version": version, "done": True, "cursor": "", "rows_read": 0}
    recount = audit.decode_cursor(cursor, _COUNTED) if cursor else audit.Recount()
    rows_read = audit.read_rows(tx, recount, limit=audit.ROWS_PER_PAGE, end=_COUNTED)
    page: dict[str, Any] = {"pending": True, "schema_version": version, "rows_read": rows_read}
    if recount.family < _COUNTED:
        return {**page, "done": False, "cursor": audit.encode_cursor(recount)}
    sums = aggregates.totals(tx)
    counted = {
        "members": recount.members,
        "active_members": recount.active_members,
        "participants": recount.participants,
        "institutions": recount.institutions,
    }
    backfill: dict[str, Any] = {name: counted[name] - sums.counts[name] for name in COUNTS}
    names = set(recount.categories) | set(sums.categories)
    change = {n: recount.categories.get(n, 0) - sums.categories.get(n, 0) for n in sorted(names)}
    backfill["categories"] = {n: c for n, c in change.items() if c != 0}
    return {**page, "done": True, "cursor": "", "version": CURRENT_SCHEMA, "backfill": backfill}


def migrate_ledger(tx: Tx, version: int, backfill: dict[str, Any]) -> dict[str, Any]:
    """Apply migration `version` (the next one) with its recount's result; district admin."""
    roles.require_district_role(tx, roles.ADMIN)
    config = tx.config
    if type(version) is not int or not 1 <= version <= CURRENT_SCHEMA:
        raise BadRequest(f"version must be a migration this chaincode knows (1..{CURRENT_SCHEMA})")
    if config.schema_version >= version:
        raise Conflict(f"the ledger's data layout is version {config.schema_version} already")
    if version != config.schema_version + 1:
        raise BadRequest(f"the next migration is {config.schema_version + 1}, not {version}")
    tally = _require_backfill(backfill)
    if any(getattr(tally, name) for name in COUNTS) or tally.categories:
        census.write(tx, tally)
    tx.put(keys.CONFIG, Config(config.district_msp, config.initialized_tx, config.initialized_at, version))
    return {"schema_version": version, "backfill": backfill}


def _require_backfill(backfill: Any) -> Tally:
    if not isinstance(backfill, dict) or set(backfill) != {*COUNTS, "categories"}:
        raise BadRequest(f"backfill must be an object of {', '.join(COUNTS)} and categories")
    for name in COUNTS:
        if type(backfill[name]) is not int or abs(backfill[name]) > ids.MAX_AMOUNT:
            raise BadRequest(f"backfill {name} must be an integer")
    categories = backfill["categories"]
    if not isinstance(categories, dict) or not all(
        name in ids.MEMBER_CATEGORIES and type(n) is int and abs(n) <= ids.MAX_AMOUNT
        for name, n in categories.items()
    ):
        raise BadRequest("backfill categories must map member categories to integers")
    return Tally(**{name: backfill[name] for name in COUNTS}, categories=dict(categories))
