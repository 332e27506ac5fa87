"""Balances, member history, the district report and the supply audit.

All of them are evaluate-only transactions, so they never contend with coin movements; the report
reads aggregates (`aggregates`), the audit recounts the rows themselves in pages.
"""

from __future__ import annotations

from typing import Any

from fabric_shim.contract_errors import BadRequest

from seocho_coin import aggregates, balances, ids, keys, roles
from seocho_coin.records import Balance, Member, Movement, Receipt, decode
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


def audit_supply(tx: Tx) -> dict[str, Any]:
    """Check that every coin and every count is accounted for (auditor, admin).

    outstanding = earned - redeemed - expired must equal the member balances plus the institutions'
    unredeemed receipts, and each side must match its own flows. The balances, receipts, members
    and institutions are recounted row by row, a page at a time (so past the peer's
    `totalQueryLimit` too), independently of the aggregates the report uses, and the counts must
    match those aggregates.
    """
    roles.require_district_role(tx, roles.ADMIN, roles.AUDITOR)
    member_coins = negative = participants = 0
    for _key, raw in tx.scan_all(keys.BALANCE, []):
        balance = decode(Balance, raw)
        member_coins += balance.total
        negative += sum(1 for c in balance.lots.values() if c < 0)
        participants += balance.earned_total > 0
    members = active = 0
    categories: dict[str, int] = {}
    for _key, raw in tx.scan_all(keys.MEMBER, []):
        member = decode(Member, raw)
        members += 1
        active += member.active
        for name in member.categories:
            categories[name] = categories.get(name, 0) + 1
    institutions = sum(1 for _ in tx.scan_all(keys.INSTITUTION, []))
    receipt_coins = sum(decode(Receipt, raw).coins for _key, raw in tx.scan_range_all(*keys.receipt_range()))
    sums = aggregates.totals(tx)
    flows = sums.coins
    outstanding = flows["earn"] - flows["redeem"] - flows["expire"]
    expected_members = flows["earn"] - flows["pay"] - flows["donate"] - flows["expire"]
    expected_receipts = flows["pay"] + flows["donate"] - flows["redeem"]
    counted = {
        "members": members,
        "active_members": active,
        "participants": participants,
        "institutions": institutions,
    }
    aggregated_categories = {name: n for name, n in sums.categories.items() if n != 0}
    counts_ok = counted == sums.counts and categories == aggregated_categories
    ok = (
        negative == 0
        and outstanding == member_coins + receipt_coins
        and member_coins == expected_members
        and receipt_coins == expected_receipts
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
        "member_balances": member_coins,
        "institution_unredeemed": receipt_coins,
        "negative_lots": negative,
        "counted": counted,
        "aggregated": dict(sums.counts),
        "counts_ok": counts_ok,
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
