"""Donating coins to a charity; the donor (and the district's admin or auditor) can read the receipt."""

from __future__ import annotations

from typing import Any

from fabric_shim.contract_errors import BadRequest, Forbidden, NotFound

from seocho_coin import balances, events, ids, keys, request_ids, roles
from seocho_coin.records import DonationReceipt, Member, Receipt, RequestClaim
from seocho_coin.txn import Tx


def donate(tx: Tx, member_id: str, charity_id: str, coins: int, request_id: str) -> dict[str, Any]:
    ids.require_id("member_id", member_id)
    ids.require_id("charity_id", charity_id)
    ids.require_amount("coins", coins)
    ids.require_id("request_id", request_id)
    roles.require_member_self(tx, member_id)
    charity = roles.active_institution(tx, charity_id)
    if not charity.takes_donations:
        raise BadRequest(f"institution {charity_id} does not take donations")
    policy = tx.policy
    if coins % policy.payment_unit:
        raise BadRequest(f"coins must be a multiple of {policy.payment_unit} under policy {policy.version}")
    claim_key = request_ids.require_new(tx, charity_id, request_id)
    balance = balances.load_for_movement(tx, member_id)
    balances.debit(tx, balance, coins)
    value = policy.coin_value_krw
    krw = coins * value
    balances.save(tx, balance)
    tx.put(claim_key, RequestClaim(charity_id, request_id, events.DONATE, tx.tx_id))
    tx.put(
        keys.receipt(charity_id, tx.timestamp, tx.tx_id),
        Receipt(charity_id, tx.tx_id, events.DONATE, coins, value, krw, policy.version, tx.timestamp),
    )
    tx.put(
        keys.donation(tx.tx_id),
        DonationReceipt(tx.tx_id, member_id, charity_id, coins, value, krw, policy.version, tx.timestamp),
    )
    return events.record_movement(
        tx,
        events.DONATE,
        coins,
        krw,
        member_id=member_id,
        institution_id=charity_id,
        extra={"request_id": request_id, "coin_value_krw": value},
    )


def get_donation_receipt(tx: Tx, tx_id: str) -> dict[str, Any]:
    """The receipt of donation `tx_id`: the donor's bound identity, an admin or an auditor."""
    ids.require_code("tx_id", tx_id)
    receipt = tx.get(DonationReceipt, keys.donation(tx_id))
    if not roles.has_district_role(tx, roles.ADMIN, roles.AUDITOR):
        donor = None if receipt is None else tx.get(Member, keys.member(receipt.member_id))
        if donor is None or not roles.is_member_self(tx, donor):
            # Same answer whether or not the receipt exists, so outsiders learn nothing.
            raise Forbidden("only the donor, an admin or an auditor may read a donation receipt")
    if receipt is None:
        raise NotFound(f"no donation receipt for transaction {tx_id}")
    return {
        "tx_id": receipt.tx_id,
        "member_id": receipt.member_id,
        "charity_id": receipt.charity_id,
        "coins": receipt.coins,
        "coin_value_krw": receipt.coin_value_krw,
        "krw": receipt.krw,
        "policy_version": receipt.policy_version,
        "timestamp": receipt.timestamp,
    }
