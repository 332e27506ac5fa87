"""What every route shares: the upstream ledger, the service's store, pending signatures, limits, metrics."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from starlette.requests import Request

from seocho_http.config import ServiceConfig
from seocho_http.limits import RateLimiter
from seocho_http.metrics import Metrics
from seocho_http.pending import PendingTransactions
from seocho_http.store import ServiceStore
from seocho_http.upstream import Upstream

PROBLEM_JSON = "application/problem+json"
WORKERS = 40  # as many as anyio's default thread limiter, which FastAPI's synchronous endpoints use
T = TypeVar("T")


@dataclass
class Service:
    config: ServiceConfig
    upstream: Upstream
    store: ServiceStore
    pending: PendingTransactions
    per_credential: RateLimiter
    per_address: RateLimiter
    metrics: Metrics = field(default_factory=Metrics)
    workers: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(WORKERS, thread_name_prefix="seocho-http")
    )

    def limit_credential(self, key: str) -> None:
        self.per_credential.check(key)

    def limit_certificate(self, creator: bytes) -> None:
        """The per-credential limit of a resident's certificate (the serialized identity it signs as)."""
        self.limit_credential("cert:" + hashlib.sha256(creator).hexdigest())

    def close(self) -> None:
        self.workers.shutdown(wait=True)
        self.upstream.close()
        self.store.close()


async def in_workers(request: Request, work: Callable[..., T], *args: Any) -> T:
    """Run a route's blocking work (the ledger, the Gateway) on the service's worker threads.

    The payment routes do this instead of being synchronous endpoints, which FastAPI hands to anyio's
    thread pool: that hand-off (capacity limiter, cancel scope, context copy) was ~16 % of a two-request
    payment's CPU in benchmarks.http's profile. The request's deadline still applies: it stops waiting."""
    service: Service = request.app.state.service
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(service.workers, work, *args)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the problem details a route may answer with (and the 4xx every route may)."""
    every = {400, 413, 429, *statuses}
    return {
        status: {
            "description": "Problem details (RFC 9457)",
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in sorted(every)
    }
