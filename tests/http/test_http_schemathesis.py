"""Schemathesis against the OpenAPI document on the embedded ledger: no 5xx, every answer as documented."""

from __future__ import annotations

import schemathesis
from http_service import Served
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from seocho_http.app import OPENAPI_FILE

# The document kept in the repository (a test holds it equal to the one served).
_TRANSPORT = {"method", "url", "headers", "params", "json", "content", "data", "cookies"}
schema = schemathesis.openapi.from_path(OPENAPI_FILE)


@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_never_answers_5xx_and_answers_as_documented(case: schemathesis.Case, served: Served) -> None:
    headers = {"Authorization": f"Bearer {served.keys['wc-kiosk']}"}
    kwargs = case.as_transport_kwargs(base_url="http://127.0.0.1", headers=headers)
    response = served.client.request(**{k: v for k, v in kwargs.items() if k in _TRANSPORT})
    case.validate_response(
        response,
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
    )
