"""Every contract transaction has an HTTP route, or a documented reason to have none: held against the
running service. The transactions are the ones the chaincode's metadata function lists; the routes are the
ones the app the factory builds registers and describes in the OpenAPI document it serves; and calling a
terminal's route sends its transaction (to a recording upstream) with the contract's arguments.
A transaction added to the contract without a route or a reason, or a declared route the app does not
serve, fails here."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from fabric_shim.contract import ContractChaincode
from fastapi import FastAPI
from fastapi.testclient import TestClient
from recording_backend import Recorder
from seocho.coin import Coin
from seocho.operations import BY_NAME
from seocho_coin.contract import SeochoCoinContract
from seocho_http import ServiceConfig, create_app
from seocho_http.coverage import EXCLUDED, RESIDENT_OPERATIONS, TERMINAL_ROUTES
from seocho_http.store import SCOPES, ServiceStore

INSTITUTION = "wc-01"
# Values the service's request models accept, by the contract's parameter names.
VALUES: dict[str, object] = {
    "institution_id": INSTITUTION, "member_id": "M-0001", "activity": "gym", "quantity": 3, "lane": 5,
    "evidence_hash": "ab" * 32, "request_id": "R-7", "price_krw": 3000, "coins": 4, "service_code": "gym",
    "expires_at": "2026-12-31T23:59:00+09:00",
}  # fmt: skip


def contract_transactions() -> set[str]:
    """What the chaincode says it exposes (its metadata function, as a peer's GetMetadata answers it)."""
    metadata = ContractChaincode(SeochoCoinContract()).metadata()
    contract = metadata["contracts"]["SeochoCoin"]
    return {t["name"] for t in contract["transactions"]}


class RecordingUpstream:
    """The service's upstream for terminals: every identity's `Coin` sends to the one recorder. The
    residents' steps are not used here (their operations are checked through their models)."""

    def __init__(self) -> None:
        self.recorder = Recorder()

    def coin_as(self, identity_name: str) -> Coin:
        return Coin(self.recorder)

    def ready(self) -> bool:
        return True

    def close(self) -> None:
        pass


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FastAPI, TestClient, str]]:
    state: Path = tmp_path_factory.mktemp("service")
    key = ServiceStore(state / "http.sqlite").add_terminal("t-1", INSTITUTION, "wc-staff", list(SCOPES))
    app = create_app(RecordingUpstream(), ServiceConfig(state_dir=state))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield app, client, key


@pytest.fixture(scope="module")
def served_document(service: tuple[FastAPI, TestClient, str]) -> dict[str, Any]:
    answer = service[1].get("/v1/openapi.json")
    assert answer.status_code == 200
    document: dict[str, Any] = answer.json()
    return document


def registered_routes(app: FastAPI) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()

    def walk(routes: Sequence[Any]) -> None:
        for route in routes:
            if hasattr(route, "original_router"):  # an included router (FastAPI >= 0.16x keeps them apart)
                walk(route.original_router.routes)
            for method in getattr(route, "methods", ()) or ():
                found.add((method.lower(), getattr(route, "path", "")))

    walk(app.routes)
    return found


def test_every_transaction_is_routed_or_excluded_with_a_reason() -> None:
    routed = set(RESIDENT_OPERATIONS) | set(TERMINAL_ROUTES)
    assert routed.isdisjoint(EXCLUDED)
    assert routed | set(EXCLUDED) == contract_transactions()
    assert all(reason.strip() for reason in EXCLUDED.values())


@pytest.mark.parametrize("name", sorted(TERMINAL_ROUTES))
def test_the_terminals_route_is_registered_served_and_takes_the_contracts_arguments(
    name: str, service: tuple[FastAPI, TestClient, str], served_document: dict[str, Any]
) -> None:
    method, path = TERMINAL_ROUTES[name]
    assert (method, path) in registered_routes(service[0]), f"the app has no {method.upper()} {path}"
    operation = served_document["paths"].get(path, {}).get(method)
    assert operation is not None, f"the served document has no {method.upper()} {path}"
    taken = [p["name"] for p in operation.get("parameters", []) if p["in"] == "path"]
    if "requestBody" in operation:
        reference = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        taken += list(served_document["components"]["schemas"][reference.rsplit("/", 1)[1]]["properties"])
    # A terminal's routes name the institution it acts for; the chaincode may take that from its identity.
    acting = {"institution_id"} if "{institution_id}" in path else set()
    assert sorted(taken) == sorted({p.name for p in BY_NAME[name].parameters} | acting)


@pytest.mark.parametrize("name", sorted(TERMINAL_ROUTES))
def test_calling_the_terminals_route_sends_its_transaction(
    name: str, service: tuple[FastAPI, TestClient, str]
) -> None:
    app, client, key = service
    declared = BY_NAME[name]
    method, path = TERMINAL_ROUTES[name]
    # Each its own request id: the service keeps the first outcome of an institution's request id.
    values = {p.name: VALUES[p.name] for p in declared.parameters}
    if "request_id" in values:
        values["request_id"] = f"R-{name}"
    in_path = {k: v for k, v in {**VALUES, **values}.items() if "{" + k + "}" in path}
    body = {k: v for k, v in values.items() if k not in in_path}
    recorder = app.state.service.upstream.recorder
    recorder.calls.clear()
    answer = client.request(
        method, path.format(**in_path), json=body if method == "post" else None,
        headers={"Authorization": f"Bearer {key}"},
    )  # fmt: skip
    # `{}` is no document the route answers with (a 5xx then); what it sent is what counts here.
    assert recorder.calls == [(declared.kind, name, declared.arguments(values))], answer.text


def test_the_residents_operations_are_the_served_documents(served_document: dict[str, Any]) -> None:
    """The operations a resident may sign are the document's, each with the contract's arguments."""
    schemas = served_document["components"]["schemas"]
    mapping = schemas["ProposalRequest"]["properties"]["operation"]["discriminator"]["mapping"]
    assert set(mapping) == set(RESIDENT_OPERATIONS)
    for name, reference in mapping.items():
        properties = list(schemas[reference.rsplit("/", 1)[1]]["properties"])
        assert sorted(properties) == sorted(["name", *(p.name for p in BY_NAME[name].parameters)]), name
