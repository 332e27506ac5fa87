"""Institutions' terminals and kiosks: a district-issued API key per terminal, bound to one institution's
staff identity (held by the service) and to scopes. A terminal acts only for its own institution.

POSTs are idempotent by request id: the first definite outcome (committed, or refused by the chaincode) is
kept, a retry with the same body gets it again and moves no coin, one with another body gets 409.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from seocho.coin import Coin
from seocho.errors import RejectedError, SeochoError

from seocho_http.links import PAYMENT_REQUEST_CREATED, with_links
from seocho_http.problems import Problem, from_sdk, language
from seocho_http.schemas import EarnRequest, Id, PaymentRequestCreate
from seocho_http.service import Service, problem_responses
from seocho_http.store import Terminal

router = APIRouter(prefix="/v1", tags=["terminals"])
bearer = HTTPBearer(
    auto_error=False, description="The terminal's API key, issued by `seocho serve terminals add`"
)
InstitutionId = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
_key_locks: dict[tuple[str, str], threading.Lock] = {}
_key_locks_guard = threading.Lock()


def terminal(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> Terminal:
    service: Service = request.app.state.service
    found = None if credentials is None else service.store.authenticate(credentials.credentials)
    if found is None:
        raise Problem("unauthenticated")
    service.limit_credential("terminal:" + found.terminal_id)
    return found


def _allowed(who: Terminal, institution_id: str, scope: str) -> None:
    if scope not in who.scopes:
        raise Problem("forbidden", f"this terminal has no {scope!r} scope")
    if institution_id != who.institution_id:
        raise Problem("forbidden", "a terminal acts only for its own institution")


def _run(service: Service, who: Terminal, call: Callable[[Coin], Any]) -> Any:
    try:
        return call(service.upstream.coin_as(who.identity))
    except SeochoError as exc:
        raise from_sdk(exc) from None


def _idempotent(
    service: Service, request: Request, who: Terminal, request_id: str, body: Any, call: Callable[[Coin], Any]
) -> JSONResponse:
    scope = f"institution:{who.institution_id}"
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
    with _key_locks_guard:
        lock = _key_locks.setdefault((scope, request_id), threading.Lock())
    with lock:
        recorded = service.store.recorded(scope, request_id)
        if recorded is None:
            try:
                document = call(service.upstream.coin_as(who.identity))
                recorded = service.store.record(scope, request_id, digest, 201, document)
            except RejectedError as exc:  # a definite refusal: the same answer to every retry
                problem = from_sdk(exc)
                doc = problem.document("en")
                recorded = service.store.record(scope, request_id, digest, problem.status, doc)
            except SeochoError as exc:
                raise from_sdk(exc) from None
    if recorded.body_sha256 != digest:
        raise Problem("request_id_reused")
    if recorded.status >= 400:
        doc = dict(recorded.document)
        problem = Problem(doc["code"], doc.get("detail", ""), chaincode_status=doc.get("chaincode_status"))
        return problem.response(language(request.headers.get("accept-language")), request.url.path)
    return JSONResponse(recorded.document, status_code=recorded.status)


@router.post(
    "/institutions/{institution_id}/earnings",
    status_code=201,
    responses=problem_responses(401, 403, 404, 409, 503, 504),
)
def earn(
    institution_id: InstitutionId,
    body: EarnRequest,
    request: Request,
    who: Annotated[Terminal, Depends(terminal)],
) -> Any:
    """Attest a deed: the member earns the activity's rate × quantity (scope `earn`)."""
    _allowed(who, institution_id, "earn")
    return _idempotent(
        request.app.state.service, request, who, body.request_id, body.model_dump(),
        lambda coin: coin.earn(body.member_id, body.activity, body.quantity, body.evidence_hash,
                               body.request_id, body.lane),
    )  # fmt: skip


@router.post(
    "/institutions/{institution_id}/payment-requests",
    status_code=201,
    responses=with_links(problem_responses(401, 403, 404, 409, 503, 504), 201, **PAYMENT_REQUEST_CREATED),
)
def create_payment_request(
    institution_id: InstitutionId,
    body: PaymentRequestCreate,
    request: Request,
    who: Annotated[Terminal, Depends(terminal)],
) -> Any:
    """A kiosk's payment request, which the member then pays with a signed `pay_request` (scope `kiosk`)."""
    _allowed(who, institution_id, "kiosk")
    return _idempotent(
        request.app.state.service, request, who, body.request_id, body.model_dump(),
        lambda coin: coin.create_payment_request(body.request_id, body.price_krw, body.coins,
                                                 body.service_code, body.expires_at),
    )  # fmt: skip


@router.get(
    "/institutions/{institution_id}/payment-requests/{request_id}",
    responses=problem_responses(401, 403, 404, 503),
)
def get_payment_request(
    institution_id: InstitutionId,
    request_id: Annotated[Id, Path()],
    request: Request,
    who: Annotated[Terminal, Depends(terminal)],
) -> Any:
    """A payment request of the terminal's institution, and whether it was paid (scope `kiosk`)."""
    _allowed(who, institution_id, "kiosk")
    return _run(request.app.state.service, who, lambda c: c.get_payment_request(institution_id, request_id))


@router.get("/institutions/{institution_id}/statement", responses=problem_responses(401, 403, 404, 503))
def statement(
    institution_id: InstitutionId, request: Request, who: Annotated[Terminal, Depends(terminal)]
) -> Any:
    """The institution's statement: coins attested, received, settled (scope `statement`)."""
    _allowed(who, institution_id, "statement")
    return _run(request.app.state.service, who, lambda c: c.get_institution_statement(institution_id))


@router.get("/report", responses=problem_responses(401, 403, 503))
def report(request: Request, who: Annotated[Terminal, Depends(terminal)]) -> Any:
    """The district report, for officials' terminals (scope `report`, a district auditor's identity)."""
    if "report" not in who.scopes:
        raise Problem("forbidden", "this terminal has no 'report' scope")
    return _run(request.app.state.service, who, lambda c: c.get_report())
