"""What every route shares: the upstream ledger, the service's store, pending signatures, limits, metrics."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from seocho_http.config import ServiceConfig
from seocho_http.limits import RateLimiter
from seocho_http.metrics import Metrics
from seocho_http.pending import PendingTransactions
from seocho_http.store import ServiceStore
from seocho_http.upstream import Upstream

PROBLEM_JSON = "application/problem+json"


@dataclass
class Service:
    config: ServiceConfig
    upstream: Upstream
    store: ServiceStore
    pending: PendingTransactions
    per_credential: RateLimiter
    per_address: RateLimiter
    metrics: Metrics = field(default_factory=Metrics)

    def limit_credential(self, key: str) -> None:
        self.per_credential.check(key)

    def close(self) -> None:
        self.upstream.close()
        self.store.close()


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
