"""Security: nobody pays from another's balance, replays answer the first outcome, bad bodies change
nothing, signatures are checked before anything reaches the ledger, no secret reaches a log line."""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flows import balance, query, transact, transact_signed
from http_service import Served, serve, state_of
from test_http_residents import pay
from world import World

from benchmarks.http.flows import Phone

Flow = Callable[[Any, Phone, dict[str, Any]], tuple[Any, dict[str, Any]]]


@pytest.mark.parametrize("flow", [transact, transact_signed], ids=["three-requests", "two-requests"])
def test_a_resident_cannot_pay_from_another_members_balance(served: Served, flow: Flow) -> None:
    client, thief, victim = served.client, served.world.phones["M-0002"], served.world.phones["M-0001"]
    before = balance(client, victim)
    refused, _ = flow(client, thief, pay("M-0001", 3, f"STEAL-{flow.__name__}"))
    assert refused.status_code == 403 and refused.json()["chaincode_status"] == 403
    assert balance(client, victim) == before


def test_a_resident_cannot_read_another_members_balance(served: Served) -> None:
    answered = query(
        served.client, served.world.phones["M-0002"], {"name": "get_balance", "member_id": "M-0001"}
    )
    assert answered.status_code == 403


def test_a_replayed_signed_transaction_gives_the_first_outcome_and_commits_once(served: Served) -> None:
    client, phone = served.client, served.world.phones["M-0001"]
    before = balance(client, phone)
    first, submission = transact(client, phone, pay("M-0001", 2, "PAY-R"))
    replayed = client.post(submission["url"], json=submission["json"])
    assert first.status_code == replayed.status_code == 200
    assert first.json() == replayed.json() and first.json()["status"] == "committed"
    assert balance(client, phone) == before - 2


def test_a_signature_by_another_key_is_refused_before_the_ledger(served: Served) -> None:
    client, owner, other = served.client, served.world.phones["M-0001"], served.world.phones["M-0002"]
    height = served.world.ledger.height
    proposed = client.post("/v1/proposals", json=owner.proposal(pay("M-0001", 1, "PAY-S"))).json()
    forged = client.post(proposed["next"], json={"signature": other.sign(proposed["to_sign"])})
    assert forged.status_code == 400 and forged.json()["code"] == "bad_signature"
    endorsed = client.post(proposed["next"], json={"signature": owner.sign(proposed["to_sign"])}).json()
    bad = client.post(endorsed["next"], json={"signature": other.sign(endorsed["to_sign"])})
    assert bad.status_code == 400 and bad.json()["code"] == "bad_signature"
    assert served.world.ledger.height == height


PROPOSALS, SIGNED_PROPOSALS = "/v1/proposals", "/v1/signed-proposals"


@pytest.mark.parametrize(
    ("route", "body"),
    [(PROPOSALS, b"{"), (PROPOSALS, b"[]"), (PROPOSALS, b'{"msp_id": 1}'),
     (PROPOSALS, b'{"msp_id": "X", "certificate": "no", "operation": {"name": "mint"}}'),
     (SIGNED_PROPOSALS, b"{"), (SIGNED_PROPOSALS, b"[]"), (SIGNED_PROPOSALS, b'{"proposal": 1}'),
     (SIGNED_PROPOSALS, b'{"proposal": "not base64!", "signature": "AA=="}'),
     (SIGNED_PROPOSALS, b'{"proposal": "AA==", "signature": "AA==", "extra": 1}'),
     (SIGNED_PROPOSALS, b'{"signature": "AA=="}')],
)  # fmt: skip
def test_malformed_bodies_are_4xx_problems_and_change_nothing(
    served: Served, route: str, body: bytes
) -> None:
    before = state_of(served)
    answered = served.client.post(route, content=body, headers={"Content-Type": "application/json"})
    assert 400 <= answered.status_code < 500
    assert answered.headers["content-type"] == "application/problem+json"
    assert state_of(served) == before


def _oversized_proposal(served: Served) -> dict[str, Any]:
    huge = served.world.phones["M-0001"].proposal(pay("M-0001", 1, "P-1"))
    return {**huge, "certificate": "x" * 5000}


def _oversized_signed_proposal(served: Served) -> dict[str, Any]:
    return {"proposal": base64.b64encode(b"x" * 4000).decode(), "signature": "AA=="}


@pytest.mark.parametrize(
    ("route", "oversized"), [(PROPOSALS, _oversized_proposal), (SIGNED_PROPOSALS, _oversized_signed_proposal)]
)
def test_an_oversized_body_is_413_and_changes_nothing(
    world: World, tmp_path: Path, route: str, oversized: Callable[[Served], dict[str, Any]]
) -> None:
    for served in serve(world, tmp_path / "state", max_body_bytes=2048):
        before = state_of(served)
        answered = served.client.post(route, json=oversized(served))
        assert answered.status_code == 413 and answered.json()["code"] == "body_too_large"
        assert state_of(served) == before


def test_rate_limits_per_credential(world: World, tmp_path: Path) -> None:
    for served in serve(world, tmp_path / "state", rate_per_credential=1.0):
        headers = served.terminal("wc-viewer")
        codes = [served.client.get("/v1/institutions/wc-01/statement", headers=headers).status_code
                 for _ in range(4)]  # fmt: skip
        assert codes[0] == 200 and 429 in codes


def test_no_key_signature_or_certificate_in_any_log_line(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client, phone = served.client, served.world.phones["M-0001"]
    _, submission = transact(client, phone, pay("M-0001", 1, "PAY-L"))
    client.get("/v1/institutions/wc-01/statement", headers=served.terminal("wc-kiosk"))
    text = caplog.text
    signature = submission["json"]["signature"]
    cert_body = phone.certificate_pem.splitlines()[1]
    for secret in (
        served.keys["wc-kiosk"],
        signature,
        base64.b64decode(signature).hex(),
        cert_body,
        "M-0001",
    ):
        assert secret not in text
    assert "POST /v1/transactions/{transaction_id}/submission 200" in text
