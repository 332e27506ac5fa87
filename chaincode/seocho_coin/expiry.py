"""Expiry: coins earned under a policy with `expiry_years` N leave circulation as "expired".

A lot earned in local year Y under such a version is valid through the end of Y + N, by the rule of
the version it was earned under (see `seocho_coin.balances`). Spending already ignores expired lots;
`expire_coins` records the expiry (one movement, one event) so that the supply figures show it.
"""

from __future__ import annotations

from typing import Any

from fabric_shim.contract_errors import Conflict

from seocho_coin import balances, events, ids, roles
from seocho_coin.txn import Tx


def expire_coins(tx: Tx, member_id: str) -> dict[str, Any]:
    """Move the member's expired lots out of circulation (the member or an admin)."""
    ids.require_id("member_id", member_id)
    roles.require_member_or_roles(tx, member_id, roles.ADMIN)
    balance = balances.load_for_movement(tx, member_id)
    expired = balances.expired_lots(tx, balance)
    if not expired:
        raise Conflict(f"member {member_id} has no expired coins")
    coins = sum(expired.values())
    for lot in expired:
        del balance.lots[lot]
    balances.save(tx, balance)
    return events.record_movement(
        tx,
        events.EXPIRE,
        coins,
        coins * tx.policy.coin_value_krw,
        member_id=member_id,
        extra={"lots": expired},
    )
