"""Every contract transaction has an HTTP route, or a documented reason to have none."""

from __future__ import annotations

import json
import typing

from fabric_shim.contract import ContractChaincode
from seocho_coin.contract import SeochoCoinContract
from seocho_http.app import OPENAPI_FILE
from seocho_http.coverage import EXCLUDED, RESIDENT_OPERATIONS, TERMINAL_ROUTES
from seocho_http.schemas import Operation


def contract_transactions() -> set[str]:
    metadata = ContractChaincode(SeochoCoinContract()).metadata()
    contract = metadata["contracts"]["SeochoCoin"]
    return {t["name"] for t in contract["transactions"]}


def test_every_transaction_is_routed_or_excluded_with_a_reason() -> None:
    routed = set(RESIDENT_OPERATIONS) | set(TERMINAL_ROUTES)
    assert routed.isdisjoint(EXCLUDED)
    assert routed | set(EXCLUDED) == contract_transactions()
    assert all(reason.strip() for reason in EXCLUDED.values())


def test_the_declared_routes_exist_in_the_openapi_document() -> None:
    paths = json.loads(OPENAPI_FILE.read_text())["paths"]
    for method, path in TERMINAL_ROUTES.values():
        assert method in paths[path], path
    union = typing.get_args(typing.get_args(Operation)[0])
    names = {typing.get_args(model.model_fields["name"].annotation)[0] for model in union}
    assert names == set(RESIDENT_OPERATIONS)
