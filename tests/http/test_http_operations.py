"""Operations and the contract: health, readiness, metrics, CORS, the OpenAPI document kept in the repo."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from http_service import Served, serve
from seocho_http.app import OPENAPI_FILE
from world import World


def test_health_readiness_and_metrics(served: Served) -> None:
    assert served.client.get("/healthz").json() == {"status": "ok"}
    assert served.client.get("/readyz").status_code == 200
    served.client.get("/v1/report")
    metrics = served.client.get("/metrics").text
    assert 'seocho_http_requests_total{method="GET",route="/v1/report",status="401"}' in metrics
    assert "seocho_http_request_duration_seconds_bucket" in metrics
    assert 'seocho_http_outcomes_total{code="unauthenticated"}' in metrics


def test_readiness_fails_when_the_ledger_is_closed(served: Served) -> None:
    served.world.ledger.close()
    assert served.client.get("/readyz").status_code == 503


def test_cors_allows_only_the_listed_origin(world: World, tmp_path: Path) -> None:
    for served in serve(world, tmp_path / "state", cors_origins=("https://app.seocho.example",)):
        allowed = served.client.get("/healthz", headers={"Origin": "https://app.seocho.example"})
        other = served.client.get("/healthz", headers={"Origin": "https://evil.example"})
        assert allowed.headers["access-control-allow-origin"] == "https://app.seocho.example"
        assert "access-control-allow-origin" not in other.headers


def test_the_openapi_document_in_the_repository_is_the_one_served(served: Served) -> None:
    served_document = served.client.get("/v1/openapi.json").json()
    assert served_document["openapi"].startswith("3.1")
    kept = json.loads(OPENAPI_FILE.read_text())
    assert kept == served_document, (
        "regenerate: python -m seocho_http.openapi > client/seocho_http/openapi.json"
    )


def test_a_request_past_the_deadline_answers_504_problem(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for served in serve(world, tmp_path / "state", request_timeout_seconds=0.2):
        upstream = served.client.app.state.service.upstream  # type: ignore[attr-defined]
        monkeypatch.setattr(upstream, "ready", lambda: time.sleep(1.0) or True)
        answered = served.client.get("/readyz")
        assert answered.status_code == 504 and answered.json()["code"] == "timeout"
        assert answered.headers["content-type"] == "application/problem+json"
        assert served.client.get("/healthz").status_code == 200  # the service goes on answering
