"""Stateful Schemathesis on the embedded ledger: sequences that follow the document's OpenAPI links (a
proposal -> its endorsement -> its submission -> the transaction's status; a kiosk's payment request -> its
look-up and a member's `pay_request` proposal), with no 5xx and every answer as documented.

The machine plays the two parties the document cannot: the resident's phone (its certificate goes into each
proposal and it signs whatever `to_sign` an answer handed out for the step it names in `next`), and the
welfare centre's kiosk (its API key, its own institution, an expiry in the future). Everything else —
operations, amounts, codes, signatures for steps nobody handed out — is what Schemathesis generates.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import schemathesis
from http_service import serve
from hypothesis import HealthCheck, settings
from hypothesis.stateful import Bundle
from schemathesis.checks import not_a_server_error
from schemathesis.core.transport import Response
from schemathesis.generation.stateful import run_state_machine_as_test
from schemathesis.generation.stateful.state_machine import StepInput
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.specs.openapi.stateful import transition
from seocho_http.app import OPENAPI_FILE
from world import build_world

_TRANSPORT = {"method", "url", "headers", "params", "json", "content", "data", "cookies"}
_CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
schema = schemathesis.openapi.from_path(OPENAPI_FILE)
# Where sequences start. Schemathesis' own guess (from names) takes only the submission, whose random
# transaction ids lead nowhere; a proposal and a kiosk's payment request are where an app's flows begin.
ROOTS = [("/v1/proposals", "POST"), ("/v1/institutions/{institution_id}/payment-requests", "POST")]
# Moderate on purpose (CI time): a few dozen sequences of up to 8 steps, the same ones on every run.
SEQUENCES = settings(
    max_examples=25, stateful_step_count=8, deadline=None, derandomize=True,
    suppress_health_check=list(HealthCheck),
)  # fmt: skip


def test_linked_sequences_never_answer_5xx_and_answer_as_documented(tmp_path: Path) -> None:
    seen: dict[str, int] = {}
    worlds = itertools.count()

    workflow = schema.as_state_machine()

    class Sequences(workflow):  # type: ignore[misc, valid-type]
        locals().update(_roots(workflow))

        def setup(self) -> None:
            # A world of its own for each sequence: Hypothesis replays a sequence and expects its answers.
            place = tmp_path / str(next(worlds))
            self.serving = serve(build_world(place / "ledger"), place / "state")
            self.served = next(self.serving)
            self.handed_out: dict[str, str] = {}  # a step's path -> the bytes the phone was given for it

        def teardown(self) -> None:
            for _ in self.serving:  # closes the service and its ledger
                pass
            super().teardown()

        def before_call(self, case: schemathesis.Case) -> None:
            phone = self.served.world.phones["M-0001"]
            body = case.body
            if (
                case.path == "/v1/proposals"
                and isinstance(body, dict)
                and isinstance(body.get("operation"), dict)
            ):
                body.update(msp_id=phone.msp_id, certificate=phone.certificate_pem)
                operation = body["operation"]
                for field, value in (("member_id", phone.member_id), ("charity_id", "chest-01")):
                    if field in operation:
                        operation[field] = value
                if operation.get("name") == "pay":
                    operation["institution_id"] = "wc-01"
            elif case.path.endswith("/payment-requests") and isinstance(body, dict):
                case.path_parameters = {**(case.path_parameters or {}), "institution_id": "wc-01"}
                body["expires_at"] = (datetime.now(UTC) + timedelta(days=1)).isoformat(timespec="seconds")
                if isinstance(body.get("coins"), int) and isinstance(body.get("price_krw"), int):
                    # A kiosk asks at most the price's worth of coins (200 KRW each, the default policy).
                    body["coins"] = max(1, min(body["coins"], body["price_krw"] // 200))
            elif case.formatted_path in self.handed_out:
                # A linked step: the phone signs what it was handed (the stateless Schemathesis test
                # fuzzes these bodies; here the sequence must go on to the chaincode).
                to_sign = self.handed_out[case.formatted_path]
                case.body = {"signature": self.served.world.phones["M-0001"].sign(to_sign)}

        def call(self, case: schemathesis.Case, **kwargs: Any) -> Response:
            kiosk = self.served.terminal("wc-kiosk")
            transport = case.as_transport_kwargs(base_url="http://127.0.0.1", headers=kiosk)
            answered = self.served.client.request(**{k: v for k, v in transport.items() if k in _TRANSPORT})
            key = f"{case.method} {case.path} {answered.status_code}"
            seen[key] = seen.get(key, 0) + 1
            if case.path.endswith("/endorsement") and _reached_the_chaincode(answered):
                seen["signed proposal endorsed or refused by the chaincode"] = 1
            return Response.from_any(answered)

        def after_call(self, response: Response, case: schemathesis.Case) -> None:
            document = _json(response)
            if isinstance(document, dict) and {"to_sign", "next"} <= set(document):
                self.handed_out[str(document["next"])] = str(document["to_sign"])

        def validate_response(
            self, response: Response, case: schemathesis.Case, *args: Any, **kwargs: Any
        ) -> None:
            case.validate_response(response, checks=_CHECKS)

    run_state_machine_as_test(Sequences, settings=SEQUENCES)
    # The links were followed: a proposal's id took the phone's signature to the chaincode, and a kiosk's
    # new request was looked up by its id.
    assert seen.get("signed proposal endorsed or refused by the chaincode"), seen
    assert seen.get("GET /v1/institutions/{institution_id}/payment-requests/{request_id} 200"), seen


def _roots(workflow: type) -> dict[str, Any]:
    rules: dict[str, Any] = dict.fromkeys(workflow.root_rules)  # Schemathesis' guesses: none
    for n, (path, method) in enumerate(ROOTS):
        name = f"start_{n}"
        strategy = schema[path][method].as_strategy().map(StepInput.initial)
        rules[name] = transition(
            name=name, target=Bundle("catch_all"), input=strategy, precondition=lambda machine: True
        )
    return rules


def _reached_the_chaincode(answered: Any) -> bool:
    if answered.status_code == 200:
        return True
    document = answered.json() if answered.headers.get("content-type", "").endswith("json") else {}
    return isinstance(document, dict) and document.get("chaincode_status") is not None


def _json(response: Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None
