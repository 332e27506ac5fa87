"""Paying for a service with coins, directly or through a kiosk's payment request.

Only the member's bound identity can pay. The coins must be a multiple of the payment unit and worth
no more than the price; the rest of the price is paid in cash and recorded. The institution's side is
a blind receipt row (`receipt|institution|time|txid`), so payments by different members to one
institution never share a written key.

A kiosk request is paid on the terms it was created under, or not at all: it records the coin value
and payment unit in force at creation, and `pay_request` refuses (409) when the version in force
then values a coin differently or has another payment unit. Otherwise a request for 15 coins of a
3,000 KRW fee, made at 200 KRW a coin, would take the same 15 coins after the value fell to 100 KRW,
now worth 1,500 KRW, and leave 1,500 KRW to cash that the member never saw. The institution creates
a new request, which the member's app shows with the new split.
"""

from __future__ import annotations

from typing import Any

from fabric_shim.contract_errors import BadRequest, Conflict, Forbidden, NotFound

from seocho_coin import balances, events, ids, keys, request_ids, roles
from seocho_coin.records import Institution, Member, PaymentRequest, Receipt, RequestClaim
from seocho_coin.txn import Tx


def pay(
    tx: Tx,
    member_id: str,
    institution_id: str,
    price_krw: int,
    coins: int,
    service_code: str,
    request_id: str,
) -> dict[str, Any]:
    ids.require_id("member_id", member_id)
    ids.require_id("institution_id", institution_id)
    ids.require_amount("price_krw", price_krw)
    ids.require_amount("coins", coins)
    ids.require_code("service_code", service_code)
    ids.require_id("request_id", request_id)
    roles.require_member_self(tx, member_id)
    institution = _seller(tx, institution_id)
    request_ids.require_no_payment_request(tx, institution_id, request_id)
    return _settle_payment(tx, member_id, institution, price_krw, coins, service_code, request_id)


def create_payment_request(
    tx: Tx, request_id: str, price_krw: int, coins: int, service_code: str, expires_at: str
) -> dict[str, Any]:
    """A kiosk (staff of a selling institution) asks for a payment that one member will sign."""
    ids.require_id("request_id", request_id)
    ids.require_amount("price_krw", price_krw)
    ids.require_amount("coins", coins)
    ids.require_code("service_code", service_code)
    expiry = ids.require_timestamp("expires_at", expires_at)
    institution = roles.require_staff(tx)
    if not institution.sells_services:
        raise Forbidden(f"institution {institution.institution_id} does not sell services")
    if expiry <= tx.now:
        raise BadRequest("expires_at must be in the future")
    _check_amounts(tx, price_krw, coins)
    institution_id = institution.institution_id
    key = keys.payment_request(institution_id, request_id)
    if tx.exists(key) or tx.exists(keys.request(institution_id, request_id)):
        raise Conflict(f"request {request_id} of institution {institution_id} already exists")
    policy = tx.policy
    request = PaymentRequest(
        institution_id=institution_id,
        request_id=request_id,
        price_krw=price_krw,
        coins=coins,
        service_code=service_code,
        expires_at=ids.format_timestamp(expiry),
        created_tx=tx.tx_id,
        policy_version=policy.version,
        coin_value_krw=policy.coin_value_krw,
        payment_unit=policy.payment_unit,
    )
    tx.put(key, request)
    return payment_request_view(request)


def pay_request(tx: Tx, institution_id: str, request_id: str, member_id: str) -> dict[str, Any]:
    """The member signs a kiosk's payment request; it is paid at most once."""
    ids.require_id("institution_id", institution_id)
    ids.require_id("request_id", request_id)
    ids.require_id("member_id", member_id)
    roles.require_member_self(tx, member_id)
    key = keys.payment_request(institution_id, request_id)
    request = tx.get(PaymentRequest, key)
    if request is None:
        raise NotFound(f"payment request {request_id} of institution {institution_id} does not exist")
    if request.status != "open":
        raise Conflict(f"payment request {request_id} was already paid")
    if request.expires_at <= tx.timestamp:
        raise Conflict(f"payment request {request_id} expired at {request.expires_at}")
    _require_same_terms(tx, request)
    institution = _seller(tx, institution_id)
    result = _settle_payment(
        tx, member_id, institution, request.price_krw, request.coins, request.service_code, request_id
    )
    request.status = "paid"
    request.paid_by = member_id
    request.paid_tx = tx.tx_id
    tx.put(key, request)
    return result


def _require_same_terms(tx: Tx, request: PaymentRequest) -> None:
    """409 unless the version in force prices coins as it did when the request was created."""
    policy = tx.policy
    if (request.coin_value_krw, request.payment_unit) == (policy.coin_value_krw, policy.payment_unit):
        return
    if not request.policy_version:
        made = "before requests recorded their coin value"
    else:
        made = (
            f"at {request.coin_value_krw} KRW a coin, payment unit {request.payment_unit} "
            f"(policy version {request.policy_version})"
        )
    raise Conflict(
        f"payment request {request.request_id} was created {made}; policy version {policy.version} "
        f"now in force has {policy.coin_value_krw} KRW a coin, payment unit {policy.payment_unit}: "
        "the institution must create a new request"
    )


def get_payment_request(tx: Tx, institution_id: str, request_id: str) -> dict[str, Any]:
    """Readable by any channel identity: the member's app shows it before the member signs pay_request.

    Who paid it (a pseudonymous member id, still linkable to a service and a price) is shown only to the
    payer, the institution's staff, admins and auditors.
    """
    ids.require_id("institution_id", institution_id)
    ids.require_id("request_id", request_id)
    request = tx.get(PaymentRequest, keys.payment_request(institution_id, request_id))
    if request is None:
        raise NotFound(f"payment request {request_id} of institution {institution_id} does not exist")
    view = payment_request_view(request)
    if request.paid_by and not _may_see_payer(tx, request):
        view["paid_by"] = None
    return view


def _may_see_payer(tx: Tx, request: PaymentRequest) -> bool:
    if roles.has_district_role(tx, roles.ADMIN, roles.AUDITOR):
        return True
    if roles.is_staff_of(tx, request.institution_id):
        return True
    payer = tx.get(Member, keys.member(request.paid_by)) if request.paid_by else None
    return payer is not None and roles.is_member_self(tx, payer)


def payment_request_view(request: PaymentRequest) -> dict[str, Any]:
    return {
        "institution_id": request.institution_id,
        "request_id": request.request_id,
        "price_krw": request.price_krw,
        "coins": request.coins,
        "service_code": request.service_code,
        "expires_at": request.expires_at,
        "status": request.status,
        "paid_by": request.paid_by,
        "paid_tx": request.paid_tx,
        "policy_version": request.policy_version,
        "coin_value_krw": request.coin_value_krw,
        "payment_unit": request.payment_unit,
    }


def _seller(tx: Tx, institution_id: str) -> Institution:
    institution = roles.active_institution(tx, institution_id)
    if not institution.sells_services:
        raise Forbidden(f"institution {institution_id} does not accept coin payments")
    return institution


def _check_amounts(tx: Tx, price_krw: int, coins: int) -> None:
    policy = tx.policy
    if coins % policy.payment_unit:
        raise BadRequest(f"coins must be a multiple of {policy.payment_unit} under policy {policy.version}")
    if coins * policy.coin_value_krw > price_krw:
        raise BadRequest(
            f"{coins} coins are worth {coins * policy.coin_value_krw} KRW, over the price {price_krw}"
        )


def _settle_payment(
    tx: Tx,
    member_id: str,
    institution: Institution,
    price_krw: int,
    coins: int,
    service_code: str,
    request_id: str,
) -> dict[str, Any]:
    institution_id = institution.institution_id
    _check_amounts(tx, price_krw, coins)
    claim_key = request_ids.require_unclaimed(tx, institution_id, request_id)
    balance = balances.load_for_movement(tx, member_id)
    balances.debit(tx, balance, coins)
    value = tx.policy.coin_value_krw
    krw = coins * value
    balances.save(tx, balance)
    tx.put(claim_key, RequestClaim(institution_id, request_id, events.PAY, tx.tx_id))
    tx.put(
        keys.receipt(institution_id, tx.timestamp, tx.tx_id),
        Receipt(institution_id, tx.tx_id, events.PAY, coins, value, krw, tx.policy.version, tx.timestamp),
    )
    return events.record_movement(
        tx,
        events.PAY,
        coins,
        krw,
        member_id=member_id,
        institution_id=institution_id,
        extra={
            "price_krw": price_krw,
            "cash_krw": price_krw - krw,
            "service_code": service_code,
            "request_id": request_id,
            "coin_value_krw": value,
        },
    )
