"""Reports from the off-chain store, and their reconciliation with the ledger's own report and audit.

The store's report has the ledger report's shape (members, participants, coins, by_activity,
by_institution, by_month, by_category = members per category, members_by_month) plus what only
the store can answer cheaply: coins by member category (`coins_by_category`, by the categories a
member has now). Institutions are not in the store (their registration emits no event).
"""

from __future__ import annotations

from typing import Any

from seocho_coin.reports import supply_view

from seocho.index_store import Store

KINDS = ("earn", "pay", "donate", "redeem", "expire")


def _zero() -> dict[str, int]:
    return dict.fromkeys(KINDS, 0)


def store_report(store: Store) -> dict[str, Any]:
    """The district report from the store, every figure from the same committed block."""
    with store.snapshot():
        return _report(store)


def _report(store: Store) -> dict[str, Any]:
    coins, krw = _zero(), _zero()
    by_month: dict[str, dict[str, int]] = {}
    by_activity: dict[str, dict[str, int]] = {}
    by_institution: dict[str, dict[str, int]] = {}
    for month, kind, activity, institution, n_coins, n_krw, count in store.rows(
        "SELECT month, kind, activity, institution_id, coins, krw, count FROM totals"
    ):
        coins[kind] += int(n_coins)
        krw[kind] += int(n_krw)
        by_month.setdefault(month, _zero())[kind] += int(n_coins)
        if activity:
            entry = by_activity.setdefault(activity, {"coins": 0, "krw": 0, "count": 0})
            entry["coins"] += int(n_coins)
            entry["krw"] += int(n_krw)
            entry["count"] += int(count)
        if institution:
            by_institution.setdefault(institution, _zero())[kind] += int(n_coins)
    [(members, active, participants)] = store.rows(
        "SELECT COUNT(*), COALESCE(SUM(active), 0), COUNT(first_earn_month) FROM members"
    )
    members_by_month: dict[str, dict[str, int]] = {}
    for month, count in store.rows(
        "SELECT registered_month, COUNT(*) FROM members GROUP BY registered_month"
    ):
        members_by_month.setdefault(month, {"members": 0, "participants": 0})["members"] = int(count)
    for month, count in store.rows(
        "SELECT first_earn_month, COUNT(*) FROM members WHERE first_earn_month IS NOT NULL"
        " GROUP BY first_earn_month"
    ):
        members_by_month.setdefault(month, {"members": 0, "participants": 0})["participants"] = int(count)
    coins_by_category: dict[str, dict[str, int]] = {}
    for category, kind, n_coins in store.rows("SELECT category, kind, coins FROM category_totals"):
        coins_by_category.setdefault(category, _zero())[kind] = int(n_coins)
    by_category = {
        c: int(n) for c, n in store.rows("SELECT category, COUNT(*) FROM member_categories GROUP BY category")
    }
    return {
        "members": int(members),
        "active_members": int(active),
        "participants": int(participants),
        "coins": supply_view(coins),
        "krw": supply_view(krw),
        "by_activity": by_activity,
        "by_institution": by_institution,
        "by_month": by_month,
        "by_category": dict(sorted(by_category.items())),
        "members_by_month": dict(sorted(members_by_month.items())),
        "coins_by_category": coins_by_category,
        "next_block": store.next_block(),
    }


def reconcile(store: dict[str, Any], ledger: dict[str, Any], audit: dict[str, Any]) -> dict[str, Any]:
    """Every figure the store and the ledger both have, where they differ (`ok` when nowhere)."""
    differences: list[dict[str, Any]] = []

    def compare(figure: str, on_ledger: Any, in_store: Any) -> None:
        if on_ledger != in_store:
            differences.append({"figure": figure, "ledger": on_ledger, "index": in_store})

    for name in ("members", "active_members", "participants"):
        compare(name, ledger[name], store[name])
    for name in ("coins", "krw"):
        for key in store[name]:
            if name == "krw" and key == "outstanding":
                continue  # the ledger values outstanding coins at today's coin value; the store cannot
            compare(f"{name}.{key}", ledger[name][key], store[name][key])
    for table in ("by_activity", "by_institution", "by_month", "by_category", "members_by_month"):
        ours, theirs = _nonzero(store[table]), _nonzero(ledger.get(table, {}))
        for key in sorted(set(ours) | set(theirs)):
            compare(f"{table}.{key}", theirs.get(key), ours.get(key))
    coins = store["coins"]
    compare("audit.ok", True, audit["ok"])
    compare("audit.outstanding", audit["outstanding"], coins["outstanding"])
    compare(
        "audit.member_balances",
        audit["member_balances"],
        coins["earned"] - coins["spent"] - coins["donated"] - coins["expired"],
    )
    compare("audit.institution_unredeemed", audit["institution_unredeemed"],
            coins["spent"] + coins["donated"] - coins["redeemed"])  # fmt: skip
    return {"ok": not differences, "differences": differences, "next_block": store["next_block"]}


def _nonzero(table: dict[str, Any]) -> dict[str, Any]:
    """Entries without their zero figures (the ledger lists every kind, the store only those seen)."""
    result: dict[str, Any] = {}
    for key, value in table.items():
        if isinstance(value, dict):
            kept = {k: v for k, v in value.items() if v}
            if kept:
                result[key] = kept
        elif value:
            result[key] = value
    return result
