"""Settlement: an institution redeems the coins it received for won; redeemed coins leave circulation.

`request_settlement` range-reads the institution's receipt rows, deletes them and records one
settlement valued row by row at the coin value in force when each was received. Payments never read
that range, so they are not slowed by a settlement; a payment committed in the same block before the
settlement makes the settlement (not the payment) fail with a phantom read, and it is simply retried.
"""

from __future__ import annotations

from typing import Any

from fabric_shim.contract_errors import Conflict, Forbidden

from seocho_coin import events, ids, keys, roles
from seocho_coin.records import Institution, Receipt, Settlement, decode
from seocho_coin.txn import Tx

MAX_RECEIPTS_PER_SETTLEMENT = 5_000
"""Bounds one transaction's read set; the rest is left for the next settlement."""

REQUESTED = "requested"
PAID = "paid"


def request_settlement(tx: Tx, institution_id: str, settlement_id: str) -> dict[str, Any]:
    ids.require_id("institution_id", institution_id)
    ids.require_id("settlement_id", settlement_id)
    roles.require_staff_of(tx, institution_id, manager=True)
    key = keys.settlement(institution_id, settlement_id)
    if tx.exists(key):
        raise Conflict(f"settlement {settlement_id} of institution {institution_id} already exists")
    coins = krw = count = 0
    for row_key, raw in tx.scan(keys.RECEIPT, [institution_id]):
        if count == MAX_RECEIPTS_PER_SETTLEMENT:
            break
        receipt = decode(Receipt, raw)
        coins += receipt.coins
        krw += receipt.krw
        count += 1
        tx.delete(row_key)
    if count == 0:
        raise Conflict(f"institution {institution_id} has no unredeemed coins")
    settlement = Settlement(
        institution_id=institution_id,
        settlement_id=settlement_id,
        coins=coins,
        krw=krw,
        receipts=count,
        status=REQUESTED,
        requested_tx=tx.tx_id,
        requested_at=tx.timestamp,
        policy_version=tx.policy.version,
    )
    tx.put(key, settlement)
    events.record_movement(
        tx,
        events.REDEEM,
        coins,
        krw,
        institution_id=institution_id,
        extra={"settlement_id": settlement_id, "receipts": count},
    )
    return view(settlement)


def mark_settlement_paid(
    tx: Tx, institution_id: str, settlement_id: str, payment_reference: str
) -> dict[str, Any]:
    ids.require_id("institution_id", institution_id)
    ids.require_id("settlement_id", settlement_id)
    ids.require_code("payment_reference", payment_reference)
    roles.require_district_role(tx, roles.ADMIN)
    key = keys.settlement(institution_id, settlement_id)
    settlement = tx.require(Settlement, key, f"settlement {settlement_id} of institution {institution_id}")
    if settlement.status != REQUESTED:
        raise Conflict(f"settlement {settlement_id} is already {settlement.status}")
    settlement.status = PAID
    settlement.payment_reference = payment_reference
    settlement.paid_at = tx.timestamp
    settlement.paid_tx = tx.tx_id
    tx.put(key, settlement)
    return view(settlement)


def get_institution_statement(tx: Tx, institution_id: str) -> dict[str, Any]:
    """Unredeemed receipts and settlements: staff of the institution, admin, auditor."""
    ids.require_id("institution_id", institution_id)
    if not (roles.is_staff_of(tx, institution_id) or roles.has_district_role(tx, roles.ADMIN, roles.AUDITOR)):
        raise Forbidden(f"only staff of institution {institution_id}, an admin or an auditor may read it")
    tx.require(Institution, keys.institution(institution_id), f"institution {institution_id}")
    unredeemed = {"coins": 0, "krw": 0, "receipts": 0, "payments": 0, "donations": 0}
    for _key, raw in tx.scan(keys.RECEIPT, [institution_id]):
        receipt = decode(Receipt, raw)
        unredeemed["coins"] += receipt.coins
        unredeemed["krw"] += receipt.krw
        unredeemed["receipts"] += 1
        unredeemed["payments" if receipt.kind == events.PAY else "donations"] += receipt.coins
    settlements = [view(decode(Settlement, raw)) for _key, raw in tx.scan(keys.SETTLEMENT, [institution_id])]
    return {"institution_id": institution_id, "unredeemed": unredeemed, "settlements": settlements}


def view(settlement: Settlement) -> dict[str, Any]:
    return {
        "institution_id": settlement.institution_id,
        "settlement_id": settlement.settlement_id,
        "coins": settlement.coins,
        "krw": settlement.krw,
        "receipts": settlement.receipts,
        "status": settlement.status,
        "requested_at": settlement.requested_at,
        "requested_tx": settlement.requested_tx,
        "policy_version": settlement.policy_version,
        "payment_reference": settlement.payment_reference,
        "paid_at": settlement.paid_at,
    }
