"""The one chaincode event, member history line and statistics row every coin movement leaves.

Event names are the movement kinds below; the payload is JSON with the transaction id, the policy
version used, coins, their KRW value and the pseudonymous member/institution ids — no personal data.
"""

from __future__ import annotations

from typing import Any

from seocho_coin import keys
from seocho_coin.records import Movement, StatRow
from seocho_coin.txn import Tx

EARN = "earn"
PAY = "pay"
DONATE = "donate"
REDEEM = "redeem"
EXPIRE = "expire"
KINDS = (EARN, PAY, DONATE, REDEEM, EXPIRE)


def record_movement(
    tx: Tx,
    kind: str,
    coins: int,
    krw: int,
    *,
    member_id: str = "",
    institution_id: str = "",
    activity: str = "",
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Write the stat row and (for member movements) the history line, emit the event, return its payload.

    `coins` and `krw` are positive amounts; the history line signs them from the member's side.
    """
    version = tx.policy.version
    tx.put(
        keys.stat(tx.policy.local_month(tx.now), tx.timestamp, tx.tx_id),
        StatRow(
            kind,
            coins,
            krw,
            version,
            institution_id=institution_id,
            activity=activity,
            member_id=member_id,
        ),
    )
    if member_id:
        sign = 1 if kind == EARN else -1
        extra_fields = extra or {}
        tx.put(
            keys.movement(member_id, tx.timestamp, tx.tx_id),
            Movement(
                tx_id=tx.tx_id,
                kind=kind,
                coins=sign * coins,
                krw=sign * krw,
                timestamp=tx.timestamp,
                policy_version=version,
                institution_id=institution_id,
                activity=activity,
                service_code=str(extra_fields.get("service_code", "")),
                cash_krw=int(extra_fields.get("cash_krw", 0)),
            ),
        )
    payload: dict[str, Any] = {
        "tx_id": tx.tx_id,
        "kind": kind,
        "timestamp": tx.timestamp,
        "policy_version": version,
        "coins": coins,
        "krw": krw,
        "member_id": member_id,
        "institution_id": institution_id,
        "activity": activity,
    }
    payload.update(extra or {})
    tx.emit(kind, payload)
    return payload
