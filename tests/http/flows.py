"""The resident's side of the offline-signing flow, as an app does it over HTTP."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from benchmarks.http.flows import Phone


def query(client: TestClient, phone: Phone, operation: dict[str, Any]) -> Any:
    proposed = client.post("/v1/proposals", json=phone.proposal(operation))
    assert proposed.status_code == 201, proposed.text
    body = proposed.json()
    answered = client.post(body["next"], json={"signature": phone.sign(body["to_sign"])})
    return answered


def transact(client: TestClient, phone: Phone, operation: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """(the submission's response, or the endorsement's when it was refused), and the signed submission."""
    proposed = client.post("/v1/proposals", json=phone.proposal(operation))
    assert proposed.status_code == 201, proposed.text
    body = proposed.json()
    endorsed = client.post(body["next"], json={"signature": phone.sign(body["to_sign"])})
    return _submitted(client, phone, endorsed, 200)


def transact_signed(
    client: TestClient, phone: Phone, operation: dict[str, Any]
) -> tuple[Any, dict[str, Any]]:
    """The two-request flow: the app builds and signs the proposal. Same answers as `transact`."""
    target = client.get("/v1/proposal-target").json()
    proposal = phone.built_proposal(target["channel"], target["chaincode"], operation)
    endorsed = client.post("/v1/signed-proposals", json=phone.signed_proposal(proposal))
    return _submitted(client, phone, endorsed, 201)


def _submitted(
    client: TestClient, phone: Phone, endorsed: Any, endorsed_status: int
) -> tuple[Any, dict[str, Any]]:
    """Both flows' tail: sign the endorsed transaction and submit it (or hand back the refusal)."""
    if endorsed.status_code != endorsed_status:
        return endorsed, {}
    step = endorsed.json()
    submission = {"url": step["next"], "json": {"signature": phone.sign(step["to_sign"])}}
    return client.post(submission["url"], json=submission["json"]), submission


def balance(client: TestClient, phone: Phone) -> int:
    answered = query(client, phone, {"name": "get_balance", "member_id": phone.member_id})
    assert answered.status_code == 200, answered.text
    return int(answered.json()["result"]["coins"])
