"""OpenAPI links: where one answer's values feed the next request (the offline-signing steps, a kiosk's
payment request and its look-up). App developers read them as the flow; Schemathesis follows them."""

from __future__ import annotations

from typing import Any

PROPOSE = "propose_v1_proposals_post"
ENDORSE = "endorse_v1_proposals__transaction_id__endorsement_post"
EVALUATE = "evaluate_v1_proposals__transaction_id__evaluation_post"
SUBMIT = "submit_v1_transactions__transaction_id__submission_post"
STATUS = "transaction_status_v1_transactions__transaction_id__get"
GET_PAYMENT_REQUEST = "get_payment_request_v1_institutions__institution_id__payment_requests__request_id__get"

_TX_ID = {"transaction_id": "$response.body#/transaction_id"}


def _link(operation_id: str, description: str, **fields: Any) -> dict[str, Any]:
    return {"operationId": operation_id, "description": description, **fields}


def with_links(responses: dict[int | str, dict[str, Any]], status: int, **links: dict[str, Any]) -> Any:
    """`responses` with `links` on the entry of `status` (the route's success)."""
    return {**responses, status: {**responses.get(status, {}), "links": links}}


PROPOSED = {
    "Endorse": _link(ENDORSE, "A transaction's signed proposal goes to its endorsement", parameters=_TX_ID),
    "Evaluate": _link(EVALUATE, "A query's signed proposal goes to its evaluation", parameters=_TX_ID),
    "Status": _link(STATUS, "The transaction's outcome (unknown until submitted)", parameters=_TX_ID),
}
ENDORSED = {
    "Submit": _link(SUBMIT, "The signed transaction goes to its submission", parameters=_TX_ID),
    "Status": _link(STATUS, "The transaction's outcome", parameters=_TX_ID),
}
SUBMITTED = {"Status": _link(STATUS, "The transaction's outcome, asked again", parameters=_TX_ID)}
PAYMENT_REQUEST_CREATED = {
    "Get": _link(
        GET_PAYMENT_REQUEST, "The request, and whether it was paid",
        parameters={"institution_id": "$request.path.institution_id",
                    "request_id": "$request.body#/request_id"},
    ),
    "Pay": _link(
        PROPOSE, "The member pays it: a signed `pay_request` proposal",
        requestBody={"operation": {"name": "pay_request", "institution_id": "$request.path.institution_id",
                                   "request_id": "$request.body#/request_id"}},
    ),
}  # fmt: skip
