"""The ASGI application: FastAPI over the coin SDK.

FastAPI (on Starlette, served by uvicorn) because the API is a contract for app developers: its pydantic
models validate every body and generate the OpenAPI 3.1 document that is kept in the repository, so the
schema Schemathesis fuzzes against is the one the code enforces.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.staticfiles import StaticFiles

from seocho_http import routes_residents, routes_signed, routes_terminals
from seocho_http.config import ServiceConfig
from seocho_http.limits import LimitsMiddleware, RateLimiter
from seocho_http.metrics import MetricsMiddleware
from seocho_http.pending import PendingTransactions
from seocho_http.problems import Problem, language
from seocho_http.schemas import Health
from seocho_http.schemas import Problem as ProblemSchema
from seocho_http.service import Service
from seocho_http.store import ServiceStore
from seocho_http.upstream import Upstream

OPENAPI_FILE = Path(__file__).with_name("openapi.json")
WALLET_DIR = Path(__file__).with_name("wallet")
logger = logging.getLogger(__name__)


def create_app(upstream: Upstream, config: ServiceConfig) -> FastAPI:
    """The service over `upstream`; it closes the upstream and its store when the app shuts down."""
    service = Service(
        config=config,
        upstream=upstream,
        store=ServiceStore(config.state_dir / "http.sqlite"),
        pending=PendingTransactions(config.pending_seconds),
        per_credential=RateLimiter(config.rate_per_credential),
        per_address=RateLimiter(config.rate_per_address),
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        service.close()

    app = FastAPI(
        title="Seocho Coin API",
        version="1.0.0",
        summary="서초코인: residents sign on their own device; terminals act for their own institution",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url="/v1/openapi.json",
    )
    app.state.service = service
    app.include_router(routes_residents.router)
    app.include_router(routes_signed.router)
    app.include_router(routes_terminals.router)
    _add_operations(app, service)
    # The resident wallet page (static; everything it signs is signed in the browser).
    app.mount("/wallet", StaticFiles(directory=WALLET_DIR, html=True), name="wallet")
    _add_error_handlers(app, service)
    app.openapi = lambda: openapi_document(app)  # type: ignore[method-assign]
    # Outermost first: metrics see every answer, limits refuse before anything reads a body.
    app.add_middleware(
        CORSMiddleware, allow_origins=list(config.cors_origins), allow_methods=["GET", "POST"],
        allow_headers=["Authorization", "Content-Type", "Accept-Language"],
    )  # fmt: skip
    app.add_middleware(
        LimitsMiddleware, max_body=config.max_body_bytes, timeout=config.request_timeout_seconds,
        per_address=service.per_address,
    )  # fmt: skip
    app.add_middleware(MetricsMiddleware, metrics=service.metrics)
    return app


def _add_operations(app: FastAPI, service: Service) -> None:
    @app.get("/healthz", response_model=Health, tags=["operations"])
    def healthz() -> Health:
        """The service runs."""
        return Health(status="ok")

    @app.get("/readyz", response_model=Health, tags=["operations"], responses={503: {"model": Health}})
    def readyz() -> Any:
        """The ledger (embedded) or the Gateway's peer answers."""
        try:
            ready = service.upstream.ready()
        except Exception:  # a readiness probe answers, whatever failed
            ready = False
        if ready:
            return Health(status="ok")
        return JSONResponse({"status": "unavailable"}, status_code=503)

    @app.get("/metrics", tags=["operations"], include_in_schema=False)
    def metrics() -> Response:
        return Response(generate_latest(service.metrics.registry), media_type=CONTENT_TYPE_LATEST)


def _add_error_handlers(app: FastAPI, service: Service) -> None:
    def answer(request: Request, problem: Problem) -> Response:
        service.metrics.outcomes.labels(problem.code).inc()
        return problem.response(language(request.headers.get("accept-language")), request.url.path)

    @app.exception_handler(Problem)
    async def on_problem(request: Request, problem: Problem) -> Response:
        return answer(request, problem)

    @app.exception_handler(RequestValidationError)
    async def on_invalid(request: Request, error: RequestValidationError) -> Response:
        fields = sorted({".".join(str(p) for p in e.get("loc", ())[1:]) or "body" for e in error.errors()})
        return answer(request, Problem("malformed_body", "invalid: " + ", ".join(fields)[:300]))

    @app.exception_handler(StarletteHTTPException)
    async def on_http(request: Request, error: StarletteHTTPException) -> Response:
        code = {404: "not_found", 405: "bad_request"}.get(error.status_code, "bad_request")
        return answer(request, Problem(code, str(error.detail)[:200]))

    @app.exception_handler(Exception)
    async def on_unexpected(request: Request, error: Exception) -> Response:
        logger.error("unexpected %s on %s", type(error).__name__, request.url.path)
        return answer(request, Problem("internal"))


def openapi_document(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI 3.1 document (cached), with the problem-details schema the responses refer to."""
    if app.openapi_schema is None:
        document = get_openapi(
            title=app.title, version=app.version, summary=app.summary, routes=app.routes,
            description=(
                "Errors are RFC 9457 problem details (`application/problem+json`) with a stable `code` and, "
                "for refusals of the ledger, the chaincode's status. Titles follow `Accept-Language` "
                "(Korean or English)."
            ),
        )  # fmt: skip
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        schemas["Problem"] = ProblemSchema.model_json_schema()
        app.openapi_schema = document
    return app.openapi_schema
