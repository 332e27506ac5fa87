"""Balances, member history and the district report (the supply audit is `seocho_coin.audit`).

All of them are evaluate-only transactions, so they never contend with coin movements; the report
reads aggregates (`aggregates`).
"""

from __future__ import annotations

from typing import Any

from fabric_shim.contract_errors import BadRequest

from seocho_coin import aggregates, balances, ids, keys, roles
from seocho_coin.records import Movement, decode
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


def get_report(tx: Tx) -> dict[str, Any]:
    """The district report (admin, auditor): members, participants, coins and KRW by kind and more.

    Every figure comes from the aggregates (`aggregates.totals`), never from counting members,
    balances or institutions, so it is right and equally fast at any size.
    """
    roles.require_district_role(tx, roles.ADMIN, roles.AUDITOR)
    sums = aggregates.totals(tx)
    value = tx.policy.coin_value_krw
    coins = supply_view(sums.coins)
    krw = supply_view(sums.krw)
    # Outstanding coins are valued at today's coin value: they have not been priced yet.
    krw["outstanding"] = coins["outstanding"] * value
    counts = sums.counts
    return {
        "members": counts["members"],
        "active_members": counts["active_members"],
        "participants": counts["participants"],
        "institutions": counts["institutions"],
        "coin_value_krw": value,
        "policy_version": tx.policy.version,
        "coins": coins,
        "krw": krw,
        "by_activity": sums.by_activity,
        "by_institution": sums.by_institution,
        "by_month": sums.by_month,
        "by_category": {name: n for name, n in sorted(sums.categories.items()) if n != 0},
        "members_by_month": sums.members_by_month,
    }


def supply_view(by_kind: dict[str, int]) -> dict[str, int]:
    """The supply figures from coins by movement kind (the off-chain index reports the same)."""
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
