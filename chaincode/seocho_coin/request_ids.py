"""Request ids: one namespace per institution, shared by every kind of request.

An institution's request id names one thing: an earning it attested, a payment or donation it
received, or a kiosk payment request it created (`payreq~<institution>~<id>`). The claim row
(`request~<institution>~<id>`) marks an id as processed; a movement whose id is an open kiosk
request's would claim that id, and the request could then never be paid (its `pay_request`
would find the id processed while the request still shows "open"). So every movement checks both.
Both keys belong to the one request id, so the extra read adds no contention.
"""

from __future__ import annotations

from fabric_shim.contract_errors import Conflict

from seocho_coin import keys
from seocho_coin.txn import Tx


def require_new(tx: Tx, institution_id: str, request_id: str) -> str:
    """The claim key of an id no movement and no kiosk request uses yet (409 otherwise)."""
    require_no_payment_request(tx, institution_id, request_id)
    return require_unclaimed(tx, institution_id, request_id)


def require_no_payment_request(tx: Tx, institution_id: str, request_id: str) -> None:
    if tx.exists(keys.payment_request(institution_id, request_id)):
        raise Conflict(
            f"request {request_id} of institution {institution_id} is a payment request; "
            "only pay_request can use it"
        )


def require_unclaimed(tx: Tx, institution_id: str, request_id: str) -> str:
    """The claim key of an id no movement has used yet (409 otherwise)."""
    claim_key = keys.request(institution_id, request_id)
    if tx.exists(claim_key):
        raise Conflict(f"request {request_id} of institution {institution_id} was already processed")
    return claim_key
