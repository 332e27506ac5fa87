"""Residents sign on their own device: propose -> sign -> endorse (or evaluate) -> sign -> submit.

The service holds no resident key. It builds the proposal with the resident's certificate, hands out the
exact bytes to sign (WebCrypto hashes what it signs), checks each signature before passing it on, and
keeps every submission's outcome by transaction id: the same signed transaction sent again answers the
first outcome, and can commit at most once (Fabric refuses a duplicate transaction id).
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse, Response
from seocho.errors import SeochoError

from seocho_http.enrolment import checked_request
from seocho_http.links import ENDORSED, PROPOSED, SUBMITTED, with_links
from seocho_http.pending import Pending
from seocho_http.problems import Problem, from_sdk
from seocho_http.schemas import (
    QUERIES,
    Endorsement,
    EnrolmentRequest,
    EnrolmentResult,
    Evaluation,
    ProposalRequest,
    Signature,
    ToSign,
    TransactionOutcome,
)
from seocho_http.service import Service, in_workers, problem_responses
from seocho_http.signatures import check_signature, creator_of
from seocho_http.upstream import NOT_COMMITTED

router = APIRouter(prefix="/v1", tags=["residents"])
TX_SCOPE = "tx"
TxId = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$", description="Fabric transaction id (hex)")]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def decoded(text: str, what: str) -> bytes:
    """`text`'s bytes, or malformed_body naming `what` (the schemas' pattern lets bad padding by)."""
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise Problem("malformed_body", f"the {what} is not base64") from None


def _signature(body: Signature) -> bytes:
    return decoded(body.signature, "signature")


def _json(payload: bytes) -> Any:
    return json.loads(payload) if payload else None


@router.post(
    "/enrolments", status_code=201, response_model=EnrolmentResult, responses=problem_responses(401, 503)
)
def enrol(body: EnrolmentRequest, request: Request) -> EnrolmentResult:
    """Have the resident's certificate request signed, with the registrar's one-time secret.

    On a network the service relays it to the district's Fabric CA, whose registration secret it is.
    """
    service: Service = request.app.state.service
    service.limit_credential("enrol:" + body.enrollment_id)
    checked_request(body.enrollment_id, body.csr)  # a malformed request does not use up the secret
    certificate = service.upstream.enrol(
        body.msp_id, body.enrollment_id, body.secret, body.csr, service.store.enrolment_secrets
    )
    return EnrolmentResult(msp_id=body.msp_id, certificate=certificate)


@router.post(
    "/proposals",
    status_code=201,
    response_model=ToSign,
    responses=with_links(problem_responses(400, 404, 429), 201, **PROPOSED),
)
async def propose(body: ProposalRequest, request: Request) -> ToSign:
    """Build the proposal for an operation, as the resident whose certificate is given; sign `to_sign`."""
    return await in_workers(request, _propose, body, request)


def _propose(body: ProposalRequest, request: Request) -> ToSign:
    service: Service = request.app.state.service
    creator = creator_of(body.msp_id, body.certificate)
    service.limit_certificate(creator)
    function, args = body.operation.call()
    proposed = service.upstream.propose(creator, function, args)
    kind: Literal["query", "transaction"] = "query" if function in QUERIES else "transaction"
    service.pending.add(Pending(creator, kind, proposed))
    step = "evaluation" if kind == "query" else "endorsement"
    return ToSign(
        transaction_id=proposed.transaction_id,
        kind=kind,
        to_sign=_b64(proposed.message),
        next=f"/v1/proposals/{proposed.transaction_id}/{step}",
    )


@router.post(
    "/proposals/{transaction_id}/evaluation",
    response_model=Evaluation,
    responses=problem_responses(400, 403, 404, 409, 429, 503),
)
def evaluate(transaction_id: TxId, body: Signature, request: Request) -> Evaluation:
    """Run a signed query: the chaincode answers only what the signer may read."""
    service: Service = request.app.state.service
    item = service.pending.get(transaction_id, "query")
    signature = _signature(body)
    check_signature(item.creator, item.proposed.message, signature)
    service.pending.drop(transaction_id)
    try:
        payload = service.upstream.evaluate(item.proposed, signature)
    except SeochoError as exc:
        raise from_sdk(exc) from None
    return Evaluation(transaction_id=transaction_id, result=_json(payload))


@router.post(
    "/proposals/{transaction_id}/endorsement",
    response_model=Endorsement,
    responses=with_links(problem_responses(400, 403, 404, 409, 429, 503), 200, **ENDORSED),
)
async def endorse(transaction_id: TxId, body: Signature, request: Request) -> Response:
    """Endorse a signed proposal; sign the returned `to_sign` (the transaction) to submit it."""
    return await in_workers(request, _endorse, transaction_id, body, request)


def _endorse(transaction_id: str, body: Signature, request: Request) -> Response:
    service: Service = request.app.state.service
    item = service.pending.get(transaction_id, "transaction")
    signature = _signature(body)
    check_signature(item.creator, item.proposed.message, signature)
    return JSONResponse(endorsement_of(service, item, signature))


def endorsement_of(service: Service, item: Pending, signature: bytes) -> dict[str, Any]:
    """Endorse `item` once (its checked `signature`); a refusal is recorded as not committed.

    The hot routes answer plain JSON (an `Endorsement` / a `TransactionOutcome`, as their response models
    document and the Schemathesis tests check): FastAPI would validate each answer against its model
    again, a few hundred microseconds per request for bytes the service has just built itself."""
    transaction_id = item.proposed.transaction_id
    with item.lock:
        if item.endorsed is None:
            try:
                item.endorsed = service.upstream.endorse(item.proposed, signature)
            except SeochoError as exc:
                problem = from_sdk(exc)
                service.pending.drop(transaction_id)
                if problem.chaincode_status is not None:  # refused: definitely not committed
                    outcome = {"transaction_id": transaction_id, "status": NOT_COMMITTED,
                               "validation_code": None, "block_number": None, "result": None}  # fmt: skip
                    service.store.record(TX_SCOPE, transaction_id, "", 200, outcome)
                raise problem from None
            except Problem:
                service.pending.drop(transaction_id)
                raise
    endorsed = item.endorsed
    return {
        "transaction_id": transaction_id,
        "to_sign": _b64(endorsed.message),
        "result": _json(endorsed.result),
        "next": f"/v1/transactions/{transaction_id}/submission",
    }


@router.post(
    "/transactions/{transaction_id}/submission",
    response_model=TransactionOutcome,
    responses=with_links(problem_responses(400, 404, 409, 429, 503, 504), 200, **SUBMITTED),
)
async def submit(transaction_id: TxId, body: Signature, request: Request) -> Response:
    """Submit the signed transaction and wait for its commit. Sent again, it answers the first outcome."""
    return await in_workers(request, _submit, transaction_id, body, request)


def _submit(transaction_id: str, body: Signature, request: Request) -> Response:
    service: Service = request.app.state.service
    signature = _signature(body)
    recorded = service.store.recorded(TX_SCOPE, transaction_id)
    if recorded is not None:
        return JSONResponse(recorded.document)
    item = service.pending.get(transaction_id, "transaction")
    if item.endorsed is None:
        raise Problem("wrong_step", "endorse the proposal first")
    check_signature(item.creator, item.endorsed.message, signature)
    with item.lock:
        recorded = service.store.recorded(TX_SCOPE, transaction_id)
        if recorded is not None:
            return JSONResponse(recorded.document)
        try:
            outcome = service.upstream.submit(item.endorsed, signature)
        except SeochoError as exc:
            raise from_sdk(exc) from None
        document = {**outcome.document(), "result": None}
        if outcome.status == "committed":
            document["result"] = _json(item.endorsed.result)
        if outcome.status != "unknown":
            service.store.record(TX_SCOPE, transaction_id, "", 200, document)
            service.pending.drop(transaction_id)
    service.metrics.outcomes.labels(outcome.status).inc()
    return JSONResponse(document)


@router.get(
    "/transactions/{transaction_id}", response_model=TransactionOutcome, responses=problem_responses(503)
)
def transaction_status(transaction_id: TxId, request: Request) -> Any:
    """committed, not_committed (refused, or invalidated at commit) or unknown (not seen committed)."""
    service: Service = request.app.state.service
    recorded = service.store.recorded(TX_SCOPE, transaction_id)
    if recorded is not None:
        return recorded.document
    try:
        outcome = service.upstream.status(transaction_id)
    except SeochoError as exc:
        raise from_sdk(exc) from None
    return {**outcome.document(), "result": None}
