"""Settlement: an institution redeems the coins it received for won; redeemed coins leave circulation.

`request_settlement` range-reads the institution's receipt rows stamped before a cutoff, deletes
them and records one settlement valued row by row at the coin value in force when each was
received. Payments never read that range, so a settlement never slows or fails a payment.

Why a cutoff: Fabric re-executes a range read at validation, and a row that an earlier transaction
of the same block added inside the range makes the reader a PHANTOM_READ_CONFLICT. Reading every
receipt of a busy institution, a settlement would lose to any concurrent payment and might never
commit. Receipt rows are keyed by time (`keys.receipt`), and the range ends at a cutoff before the
settlement's own timestamp — by default the policy's `settlement_cutoff_seconds` (60) earlier —
so payments in flight, stamped around now, fall outside it. A payment stamped before the cutoff
but committed after the settlement is simply left for the next one; one committed before it, in
the same block, still makes the settlement retry (never a wrong total).

A deactivated institution can still settle the coins it received, and the district can still mark
its settlements paid: deactivation stops new deeds, sales and donations, not the money owed.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fabric_shim.contract_errors import BadRequest, Conflict, Forbidden

from seocho_coin import events, ids, keys, roles
from seocho_coin.records import Institution, Receipt, Settlement, decode
from seocho_coin.txn import Tx

MAX_RECEIPTS_PER_SETTLEMENT = 5_000
"""Bounds one transaction's read set; the rest is left for the next settlement."""

REQUESTED = "requested"
PAID = "paid"


def request_settlement(tx: Tx, institution_id: str, settlement_id: str, cutoff: str) -> dict[str, Any]:
    """Redeem the receipts stamped before `cutoff` (a manager of the institution, active or not).

    `cutoff` is an ISO date-time before the transaction's own timestamp, or "" for the policy's
    default: `settlement_cutoff_seconds` before it.
    """
    ids.require_id("institution_id", institution_id)
    ids.require_id("settlement_id", settlement_id)
    explicit = ids.require_timestamp("cutoff", cutoff) if cutoff != "" else None
    roles.require_staff_of(tx, institution_id, manager=True, allow_inactive=True)
    if explicit is not None and ids.format_timestamp(explicit) >= tx.timestamp:
        raise BadRequest(f"cutoff must lie before the transaction's own timestamp {tx.timestamp}")
    moment = explicit or tx.now - timedelta(seconds=tx.policy.settlement_cutoff_seconds)
    before = ids.format_timestamp(moment)
    key = keys.settlement(institution_id, settlement_id)
    if tx.exists(key):
        raise Conflict(f"settlement {settlement_id} of institution {institution_id} already exists")
    coins = krw = count = 0
    for row_key, raw in tx.scan_range(*keys.receipt_range(institution_id, before)):
        if count == MAX_RECEIPTS_PER_SETTLEMENT:
            break
        receipt = decode(Receipt, raw)
        coins += receipt.coins
        krw += receipt.krw
        count += 1
        tx.delete(row_key)
    if count == 0:
        raise Conflict(f"institution {institution_id} has no unredeemed coins received before {before}")
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
        cutoff=before,
    )
    tx.put(key, settlement)
    events.record_movement(
        tx,
        events.REDEEM,
        coins,
        krw,
        institution_id=institution_id,
        extra={"settlement_id": settlement_id, "receipts": count, "cutoff": before},
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
    for _key, raw in tx.scan_range_all(*keys.receipt_range(institution_id)):
        receipt = decode(Receipt, raw)
        unredeemed["coins"] += receipt.coins
        unredeemed["krw"] += receipt.krw
        unredeemed["receipts"] += 1
        unredeemed["payments" if receipt.kind == events.PAY else "donations"] += receipt.coins
    rows = tx.scan_all(keys.SETTLEMENT, [institution_id])
    settlements = [view(decode(Settlement, raw)) for _key, raw in rows]
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
        "cutoff": settlement.cutoff,
        "payment_reference": settlement.payment_reference,
        "paid_at": settlement.paid_at,
    }
