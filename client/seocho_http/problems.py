"""Errors as RFC 9457 problem details: a stable `code`, the chaincode's status, Korean or English titles.

The title is chosen by `Accept-Language` (Korean first when the caller prefers it); the detail keeps the
chaincode's own English words, as the CLI does after its translated prefix.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from seocho.errors import (
    BadRequestError,
    CommitConflictError,
    ConflictError,
    ConnectionFailedError,
    NotFoundError,
    OutcomeUnknownError,
    PermissionDeniedError,
    RejectedError,
    SeochoError,
)
from starlette.responses import JSONResponse

MEDIA_TYPE = "application/problem+json"

# code -> (HTTP status, English title, Korean title)
CODES: dict[str, tuple[int, str, str]] = {
    "bad_request": (400, "The request is not valid", "요청이 올바르지 않습니다"),
    "malformed_body": (400, "The body is not valid JSON for this operation", "요청 본문이 올바르지 않습니다"),
    "bad_signature": (400, "The signature does not verify", "서명을 확인할 수 없습니다"),
    "unauthenticated": (401, "A valid terminal key is needed", "유효한 단말기 키가 필요합니다"),
    "bad_secret": (401, "The one-time secret does not match", "일회용 비밀번호가 맞지 않습니다"),
    "forbidden": (403, "This credential may not do this", "이 자격으로는 할 수 없습니다"),
    "permission_denied": (403, "The ledger refused: permission denied", "원장이 거부했습니다: 권한 없음"),
    "not_found": (404, "Not found", "찾을 수 없습니다"),
    "conflict": (409, "The ledger refused: conflict", "원장이 거부했습니다: 충돌"),
    "request_id_reused": (
        409, "This request id was used with another body", "이 요청 ID는 다른 내용으로 이미 사용되었습니다",
    ),
    "wrong_step": (409, "The transaction is not at this step", "거래가 이 단계에 있지 않습니다"),
    "body_too_large": (413, "The request body is too large", "요청 본문이 너무 큽니다"),
    "invalidated": (
        409, "The transaction was invalidated at commit; submit it again",
        "거래가 커밋 시 무효화되었습니다. 다시 제출하십시오",
    ),
    "rate_limited": (429, "Too many requests", "요청이 너무 많습니다"),
    "unavailable": (503, "The ledger does not answer", "원장이 응답하지 않습니다"),
    "ca_unavailable": (
        503, "The district's certificate authority does not answer", "구청 인증기관이 응답하지 않습니다",
    ),
    "outcome_unknown": (
        504, "The outcome is not known yet; ask GET /v1/transactions/{id}",
        "결과를 아직 알 수 없습니다. GET /v1/transactions/{id}로 확인하십시오",
    ),
    "timeout": (504, "The request took too long", "요청 시간이 초과되었습니다"),
    "internal": (500, "Something went wrong in the service", "서비스 내부 오류입니다"),
}  # fmt: skip


def language(accept_language: str | None) -> str:
    """ "ko" or "en", whichever `Accept-Language` ranks higher ("ko" when neither is named)."""
    best, best_q = "ko", -1.0
    for part in (accept_language or "").split(","):
        tag, _, params = part.strip().partition(";")
        primary = tag.strip().lower().split("-")[0]
        if primary not in ("ko", "en"):
            continue
        q = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                q = float(params[2:])
            except ValueError:
                q = 0.0
        if q > best_q:
            best, best_q = primary, q
    return best


@dataclass
class Problem(Exception):
    """A refusal the service answers with; `code` is one of `CODES`."""

    code: str
    detail: str = ""
    chaincode_status: int | None = None
    transaction_id: str | None = None
    retry_after: int | None = None

    @property
    def status(self) -> int:
        return CODES[self.code][0]

    def document(self, lang: str, instance: str | None = None) -> dict[str, Any]:
        _status, english, korean = CODES[self.code]
        doc: dict[str, Any] = {
            "type": f"urn:seocho:problem:{self.code}",
            "title": korean if lang == "ko" else english,
            "status": self.status,
            "code": self.code,
        }
        if self.detail:
            doc["detail"] = self.detail
        if instance:
            doc["instance"] = instance
        if self.chaincode_status is not None:
            doc["chaincode_status"] = self.chaincode_status
        if self.transaction_id:
            doc["transaction_id"] = self.transaction_id
        return doc

    def response(self, lang: str, instance: str | None = None) -> JSONResponse:
        headers = {"Content-Language": lang}
        if self.retry_after is not None:
            headers["Retry-After"] = str(self.retry_after)
        return JSONResponse(
            self.document(lang, instance), status_code=self.status, media_type=MEDIA_TYPE, headers=headers
        )


def from_sdk(error: SeochoError) -> Problem:
    """The problem for an SDK error: the chaincode's refusals keep their status and message."""
    if isinstance(error, RejectedError):
        code = {
            BadRequestError: "bad_request",
            PermissionDeniedError: "permission_denied",
            NotFoundError: "not_found",
            ConflictError: "conflict",
        }.get(type(error), "bad_request")
        return Problem(code, error.message, chaincode_status=error.status)
    if isinstance(error, CommitConflictError):
        return Problem("invalidated", error.validation_code, transaction_id=error.tx_id)
    if isinstance(error, OutcomeUnknownError):
        return Problem("outcome_unknown", "", transaction_id=error.tx_id)
    if isinstance(error, ConnectionFailedError):
        return Problem("unavailable", "")
    return Problem("internal", "")
