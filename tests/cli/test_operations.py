"""`seocho.operations` declares every coin transaction once; this holds the declarations to the contract's
metadata (the chaincode's own list of transactions, their arguments and submit/evaluate), to the SDK's
`Coin` methods, to the `seocho` commands and to the HTTP service's routes and residents' operations.
A transaction added to the contract without a declaration, or a declared method, command or route that
is missing, fails here."""

from __future__ import annotations

import inspect
import typing
from collections.abc import Sequence
from typing import Any

import click
import pytest
import seocho_http.cli  # noqa: F401  (registers `seocho serve` beside the coin commands)
from fabric_shim.contract import Context, ContractChaincode, transaction
from seocho.backend import open_embedded_ledger
from seocho.cli import cli
from seocho.coin import Coin
from seocho.operations import BY_NAME, TRANSACTIONS, NotOffered, Parameter, Resident, Route, Transaction
from seocho_coin.contract import SeochoCoinContract
from seocho_http import ServiceConfig, create_app
from seocho_http.schemas import QUERIES, Operation
from seocho_http.upstream import EmbeddedUpstream

JSON_TYPES: dict[type, str] = {str: "string", int: "integer", bool: "boolean", list: "array", dict: "object"}


def metadata_of(contract: SeochoCoinContract) -> list[dict[str, Any]]:
    transactions: list[dict[str, Any]] = ContractChaincode(contract).metadata()["contracts"]["SeochoCoin"][
        "transactions"
    ]
    return transactions


METADATA = metadata_of(SeochoCoinContract())


def undeclared(metadata: Sequence[dict[str, Any]]) -> set[str]:
    """Transactions of the contract that `seocho.operations` does not declare."""
    return {t["name"] for t in metadata} - set(BY_NAME)


def test_every_contract_transaction_is_declared_once_and_nothing_else_is() -> None:
    assert undeclared(METADATA) == set()
    assert set(BY_NAME) == {t["name"] for t in METADATA}
    assert len(TRANSACTIONS) == len(BY_NAME)


def test_a_transaction_added_to_the_contract_without_a_declaration_is_found() -> None:
    class Grown(SeochoCoinContract):
        name = "SeochoCoin"

        @transaction
        def grant_bonus(self, ctx: Context, member_id: str) -> dict[str, Any]:
            return {}

    assert undeclared(metadata_of(Grown())) == {"grant_bonus"}


@pytest.mark.parametrize("contract", METADATA, ids=lambda t: str(t["name"]))
def test_the_declaration_has_the_contracts_arguments_types_and_kind(contract: dict[str, Any]) -> None:
    declared = BY_NAME[contract["name"]]
    assert declared.kind == contract["tag"][0]
    assert [(p.name, JSON_TYPES[p.type]) for p in declared.parameters] == [
        (p["name"], p["schema"]["type"]) for p in contract["parameters"]
    ]
    # Optional arguments are the ones the contract gives a default.
    signature = inspect.signature(getattr(SeochoCoinContract, declared.name)).parameters
    defaults = {name for name, p in signature.items() if p.default is not inspect.Parameter.empty}
    assert {p.name for p in declared.parameters if p.optional} == defaults


def test_every_omission_says_why() -> None:
    for declared in TRANSACTIONS:
        for where in (declared.sdk, declared.cli, declared.http):
            if isinstance(where, NotOffered):
                assert len(where.reason.split()) >= 4, (declared.name, where.reason)
        assert declared.roles, declared.name


# ---- the SDK -----------------------------------------------------------------------------------------


class Recorder:
    """A Backend that records what `Coin` asks it (the names and bytes it would send) and answers `{}`."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, list[str]]] = []

    def submit(self, function: str, args: Sequence[str]) -> bytes:
        self.calls.append(("submit", function, list(args)))
        return b"{}"

    def evaluate(self, function: str, args: Sequence[str]) -> bytes:
        self.calls.append(("evaluate", function, list(args)))
        return b"{}"


def sample(parameter: Parameter, position: int) -> object:
    """A value of the parameter's type that no other parameter of the call has, so order shows."""
    values: dict[type, object] = {
        str: f"<{parameter.name}>", int: 7 + position, bool: position % 2 == 0,
        list: [parameter.name], dict: {parameter.name: position},
    }  # fmt: skip
    return values[parameter.type]


DIRECT = [t for t in TRANSACTIONS if t.sdk == t.name]


@pytest.mark.parametrize("declared", DIRECT, ids=lambda t: t.name)
def test_the_coin_method_sends_the_declared_arguments_in_order(declared: Transaction) -> None:
    method = getattr(Coin, declared.name)
    parameters = list(inspect.signature(method).parameters.values())[1:]
    assert [p.name for p in parameters] == [p.name for p in declared.parameters]
    for parameter, sdk_parameter in zip(declared.parameters, parameters, strict=True):
        if parameter.optional:
            assert sdk_parameter.default is not inspect.Parameter.empty, parameter.name
    values = {p.name: sample(p, i) for i, p in enumerate(declared.parameters)}
    required = {p.name: values[p.name] for p in declared.parameters if not p.optional}
    for given in ({**required}, values):
        recorder = Recorder()
        getattr(Coin(recorder), declared.name)(**given)
        assert recorder.calls == [(declared.kind, declared.name, declared.arguments(given))]


@pytest.mark.parametrize("declared", [t for t in TRANSACTIONS if t not in DIRECT], ids=lambda t: t.name)
def test_a_method_that_pages_names_the_transaction_it_sends(declared: Transaction) -> None:
    if isinstance(declared.sdk, NotOffered):  # then no method of Coin sends it
        assert f'"{declared.name}"' not in inspect.getsource(Coin)
        return
    assert f'"{declared.name}"' in inspect.getsource(getattr(Coin, declared.sdk))


# ---- the CLI -----------------------------------------------------------------------------------------


def command_at(path: Sequence[str]) -> click.Command:
    command: click.Command = cli
    for name in path:
        assert isinstance(command, click.Group), f"{command.name} is not a group"
        found = command.commands.get(name)
        assert found is not None, f"no command `seocho {' '.join(path)}`"
        command = found
    return command


@pytest.mark.parametrize("declared", TRANSACTIONS, ids=lambda t: t.name)
def test_the_declared_command_exists_and_calls_the_sdk(declared: Transaction) -> None:
    if isinstance(declared.cli, NotOffered):
        return
    command = command_at(declared.cli.path)
    assert not isinstance(command, click.Group) and command.callback is not None
    calls = declared.cli.via or declared.sdk
    assert isinstance(calls, str)
    assert f".{calls}(" in inspect.getsource(command.callback), (declared.cli.path, calls)


# ---- the HTTP service ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def routes(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Any]:
    app = create_app(
        EmbeddedUpstream(open_embedded_ledger(None)), ServiceConfig(state_dir=tmp_path_factory.mktemp("s"))
    )
    found: dict[tuple[str, str], Any] = {}

    def walk(routes: Sequence[Any]) -> None:
        for route in routes:
            if hasattr(route, "original_router"):  # an included router (FastAPI >= 0.16x keeps them apart)
                walk(route.original_router.routes)
            for method in getattr(route, "methods", ()) or ():
                found[(method.lower(), getattr(route, "path", ""))] = getattr(route, "endpoint", None)

    walk(app.routes)
    return found


def resident_models() -> dict[str, Any]:
    union = typing.get_args(typing.get_args(Operation)[0])
    return {typing.get_args(model.model_fields["name"].annotation)[0]: model for model in union}


@pytest.mark.parametrize("declared", TRANSACTIONS, ids=lambda t: t.name)
def test_the_declared_routes_exist_and_call_the_sdk(
    declared: Transaction, routes: dict[tuple[str, str], Any]
) -> None:
    if isinstance(declared.http, NotOffered):
        assert declared.name not in resident_models()
        return
    for exposure in declared.http:
        if isinstance(exposure, Route):
            endpoint = routes.get((exposure.method, exposure.path))
            assert endpoint is not None, f"no route {exposure.method.upper()} {exposure.path}"
            assert f".{declared.sdk}(" in inspect.getsource(endpoint)
        else:
            assert isinstance(exposure, Resident)
            model = resident_models()[declared.name]
            fields = [name for name in model.model_fields if name != "name"]
            assert fields == [p.name for p in declared.parameters]
            values = {p.name: sample(p, i) for i, p in enumerate(declared.parameters)}
            values.update({k: v for k, v in _valid_resident_values().items() if k in values})
            operation = model(name=declared.name, **values)
            assert operation.call() == (declared.name, declared.arguments(values))
            assert (declared.name in QUERIES) == (declared.kind == "evaluate")


def test_every_residents_operation_is_declared_as_one() -> None:
    declared = {t.name for t in TRANSACTIONS if isinstance(t.http, tuple) and Resident() in t.http}
    assert set(resident_models()) == declared


def _valid_resident_values() -> dict[str, object]:
    # The resident models validate their fields (ids, codes, hex transaction ids): values they accept.
    return {"member_id": "M-0001", "institution_id": "wc-01", "charity_id": "chest-01", "request_id": "R-1",
            "service_code": "gym", "tx_id": "ab" * 32, "bookmark": "", "page_size": 20,
            "price_krw": 3000, "coins": 5}  # fmt: skip
