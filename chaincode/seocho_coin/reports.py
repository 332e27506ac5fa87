"""Balances, member history, district reports and the supply audit; statistics compaction.

All reads here are range scans over delta rows, members and balances; they run as evaluate-only
transactions (except `compact_stats`), so they never contend with coin movements.
"""

from __future__ import annotations

import json
from typing import Any

from fabric_shim.contract_errors import BadRequest, Conflict

from seocho_coin import balances, ids, keys, roles
from seocho_coin.records import Balance, Member, Movement, Receipt, StatRow, decode, encode
from seocho_coin.stats import Totals
from seocho_coin.txn import Tx

MAX_PAGE_SIZE = 100


def get_balance(tx: Tx, member_id: str) -> dict[str, Any]:
    ids.require_id("member_id", member_id)
    roles.require_member_or_roles(tx, member_id, roles.ADMIN, roles.AUDITOR, roles.REGISTRAR)
    balance = balances.load(tx, member_id)
    policy = tx.policy
    spendable = balances.spendable(tx, balance)
    return {
        "member_id": member_id,
        "coins": balance.total,
        "spendable": spendable,
        "expired_pending": balance.total - spendable,
        "krw_value": spendable * policy.coin_value_krw,
        "lots": balance.lots,
        "earned_total": balance.earned_total,
        "earned_this_year": balance.earned_by_year.get(policy.local_year(tx.now), 0),
        "policy_version": policy.version,
    }


def get_member_history(tx: Tx, member_id: str, page_size: int, bookmark: str) -> dict[str, Any]:
    """The member's movements, oldest first, a page at a time (the member, admin or auditor)."""
    ids.require_id("member_id", member_id)
    ids.require_amount("page_size", page_size, maximum=MAX_PAGE_SIZE)
    if len(bookmark) > 4096:
        raise BadRequest("bookmark is too long")
    roles.require_member_or_roles(tx, member_id, roles.ADMIN, roles.AUDITOR)
    rows, next_bookmark = tx.page(keys.MOVEMENT, [member_id], page_size, bookmark)
    return {
        "member_id": member_id,
        "movements": [_movement_view(decode(Movement, raw)) for _key, raw in rows],
        "bookmark": next_bookmark,
    }


def totals(tx: Tx) -> Totals:
    """Every movement ever recorded: monthly rollups plus the not yet compacted delta rows."""
    result = Totals()
    for _key, raw in tx.scan(keys.STAT_ROLLUP, []):
        result.merge(decode_rollup(raw))
    for key, raw in tx.scan(keys.STAT, []):
        month = _month_of(key)
        result.add(month, decode(StatRow, raw))
    return result


def get_report(tx: Tx) -> dict[str, Any]:
    """The district report (admin, auditor): members, participants, coins and KRW by kind and more."""
    roles.require_district_role(tx, roles.ADMIN, roles.AUDITOR)
    members = active = 0
    for _key, raw in tx.scan(keys.MEMBER, []):
        members += 1
        active += decode(Member, raw).active
    participants = sum(1 for _k, raw in tx.scan(keys.BALANCE, []) if decode(Balance, raw).earned_total > 0)
    institutions = sum(1 for _ in tx.scan(keys.INSTITUTION, []))
    sums = totals(tx)
    value = tx.policy.coin_value_krw
    coins = _supply_view(sums.coins)
    krw = _supply_view(sums.krw)
    # Outstanding coins are valued at today's coin value: they have not been priced yet.
    krw["outstanding"] = coins["outstanding"] * value
    return {
        "members": members,
        "active_members": active,
        "participants": participants,
        "institutions": institutions,
        "coin_value_krw": value,
        "policy_version": tx.policy.version,
        "coins": coins,
        "krw": krw,
        "by_activity": sums.by_activity,
        "by_institution": sums.by_institution,
        "by_month": sums.by_month,
    }


def audit_supply(tx: Tx) -> dict[str, Any]:
    """Check that every coin is accounted for (auditor, admin).

    outstanding = earned - redeemed - expired must equal the member balances plus the institutions'
    unredeemed receipts, and each side must match its own flows.
    """
    roles.require_district_role(tx, roles.ADMIN, roles.AUDITOR)
    member_coins = 0
    negative = 0
    for _key, raw in tx.scan(keys.BALANCE, []):
        balance = decode(Balance, raw)
        member_coins += balance.total
        negative += sum(1 for c in balance.lots.values() if c < 0)
    receipt_coins = sum(decode(Receipt, raw).coins for _key, raw in tx.scan_range(*keys.receipt_range()))
    flows = totals(tx).coins
    outstanding = flows["earn"] - flows["redeem"] - flows["expire"]
    expected_members = flows["earn"] - flows["pay"] - flows["donate"] - flows["expire"]
    expected_receipts = flows["pay"] + flows["donate"] - flows["redeem"]
    ok = (
        negative == 0
        and outstanding == member_coins + receipt_coins
        and member_coins == expected_members
        and receipt_coins == expected_receipts
    )
    return {
        "ok": ok,
        "earned": flows["earn"],
        "spent": flows["pay"],
        "donated": flows["donate"],
        "redeemed": flows["redeem"],
        "expired": flows["expire"],
        "outstanding": outstanding,
        "member_balances": member_coins,
        "institution_unredeemed": receipt_coins,
        "negative_lots": negative,
    }


def compact_stats(tx: Tx, month: str) -> dict[str, Any]:
    """Fold a finished month's delta rows into its rollup row (admin); reports stay the same."""
    ids.require_month("month", month)
    roles.require_district_role(tx, roles.ADMIN)
    if month >= tx.policy.local_month(tx.now):
        raise BadRequest(f"month {month} is not over yet")
    rollup_key = keys.stat_rollup(month)
    folded = Totals()
    existing = tx.raw(rollup_key)
    if existing is not None:
        folded.merge(decode_rollup(existing))
    count = 0
    for key, raw in tx.scan(keys.STAT, [month]):
        folded.add(month, decode(StatRow, raw))
        tx.delete(key)
        count += 1
    if count == 0:
        raise Conflict(f"month {month} has no statistics rows to compact")
    tx.put_raw(rollup_key, encode(folded.to_dict()))
    return {"month": month, "rows_folded": count, "rows_total": folded.rows}


def decode_rollup(raw: bytes) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(raw)
    return data


def _month_of(key: str) -> str:
    # stat~<month>~<txid>: the month is the first attribute after the object type.
    return key.split("\x00")[2]


def _supply_view(by_kind: dict[str, int]) -> dict[str, int]:
    return {
        "earned": by_kind["earn"],
        "spent": by_kind["pay"],
        "donated": by_kind["donate"],
        "redeemed": by_kind["redeem"],
        "expired": by_kind["expire"],
        "outstanding": by_kind["earn"] - by_kind["redeem"] - by_kind["expire"],
    }


def _movement_view(movement: Movement) -> dict[str, Any]:
    return {
        "tx_id": movement.tx_id,
        "kind": movement.kind,
        "coins": movement.coins,
        "krw": movement.krw,
        "timestamp": movement.timestamp,
        "policy_version": movement.policy_version,
        "institution_id": movement.institution_id,
        "activity": movement.activity,
        "service_code": movement.service_code,
        "cash_krw": movement.cash_krw,
    }
