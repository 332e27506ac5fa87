"""`seocho.operations` declares every coin transaction once; this holds the declarations to the contract's
metadata (the chaincode's own list of transactions, their arguments and submit/evaluate), to the SDK's
`Coin` methods, to the `seocho` commands as the root group registers them (each run: its `--help`, and
with values, what it sends) and to the HTTP service's routes and residents' operations (the app the
factory builds; tests/http/test_http_coverage.py calls the routes and reads the document it serves).
A transaction added to the contract without a declaration, or a declared method, command or route that
is missing, fails here."""

from __future__ import annotations

import inspect
import json
import typing
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import click
import pytest
from click.testing import CliRunner
from fabric_shim.contract import Context, ContractChaincode, transaction
from recording_backend import Recorder
from seocho.backend import open_embedded_ledger
from seocho.cli import Settings, cli
from seocho.coin import Coin
from seocho.operations import (
    BY_NAME,
    TRANSACTIONS,
    Command,
    NotOffered,
    Parameter,
    Resident,
    Route,
    Transaction,
)
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


def registered_commands() -> dict[tuple[str, ...], click.Command]:
    """The command tree as `seocho` registers it: every command under the root group `main` runs, as
    click resolves them (`seocho.cli` imports the modules that register theirs, `seocho serve` among them)."""
    found: dict[tuple[str, ...], click.Command] = {}

    def walk(group: click.Group, path: tuple[str, ...]) -> None:
        context = click.Context(group, info_name=path[-1] if path else "seocho")
        for name in group.list_commands(context):
            command = group.get_command(context, name)
            assert command is not None, name
            found[(*path, name)] = command
            if isinstance(command, click.Group):
                walk(command, (*path, name))

    walk(cli, ())
    return found


REGISTERED = registered_commands()


@pytest.mark.parametrize("path", sorted(REGISTERED), ids=" ".join)
def test_every_registered_command_answers_help(path: tuple[str, ...]) -> None:
    answer = CliRunner().invoke(cli, [*path, "--help"], prog_name="seocho")
    assert answer.exit_code == 0, answer.output
    assert f"Usage: seocho {' '.join(path)} " in answer.output


# Values the commands accept (before anything is sent), by parameter name; other text is `x-<name>`.
TEXT_VALUES = {
    "member_id": "S-0001", "changes": '{"earn_rates":{}}', "categories": "resident", "year": "2026",
    "month": "2026-11", "expires_at": "2026-12-31T23:00:00+09:00", "tx_id": "ab" * 32,
}  # fmt: skip


def command_line(command: click.Command) -> list[str]:
    """The command's required arguments and options, each with a value of its type."""

    def value(parameter: click.Parameter) -> str:
        if isinstance(parameter.type, click.Choice):
            return str(parameter.type.choices[0])
        if parameter.type.name.startswith("integer"):
            return "7"
        return TEXT_VALUES.get(str(parameter.name), f"x-{parameter.name}")

    words: list[str] = []
    for parameter in command.params:
        if isinstance(parameter, click.Argument) and parameter.required:
            words.append(value(parameter))
        elif isinstance(parameter, click.Option) and parameter.required:
            words += [parameter.opts[0], value(parameter)]
    return words


class Answering(Recorder):
    """A Recorder that answers `migration_page` as a ledger one migration behind (then up to date)."""

    def answer(self, function: str) -> bytes:
        if function == "migration_page":
            pending = sum(1 for _, name, _ in self.calls if name == "migration_page") == 1
            return json.dumps({"done": True, "pending": pending, "version": 2, "backfill": {}}).encode()
        return b"{}"


@pytest.mark.parametrize("declared", [t for t in TRANSACTIONS if not isinstance(t.cli, NotOffered)],
                         ids=lambda t: t.name)  # fmt: skip
def test_the_declared_command_is_registered_and_sends_the_transaction(
    declared: Transaction, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`seocho <command>` run with values of its parameters' types sends the declared transaction, as
    the declared kind, with as many arguments as the contract takes (to a recording backend)."""
    assert declared.name in {t["name"] for t in METADATA}
    assert isinstance(declared.cli, Command)
    command = REGISTERED.get(declared.cli.path)
    assert command is not None, f"seocho registers no `seocho {' '.join(declared.cli.path)}`"
    assert not isinstance(command, click.Group)
    recorder = Answering()

    @contextmanager
    def recording(_settings: Settings) -> Iterator[Coin]:
        yield Coin(recorder)

    monkeypatch.setattr(Settings, "coin", recording)
    argv = ["--as", "someone", *declared.cli.path, *command_line(command)]
    answer = CliRunner().invoke(cli, argv, prog_name="seocho")
    # `{}` is no answer the command can print (it may fail after sending); what it sent counts here.
    sent = [(kind, len(args)) for kind, name, args in recorder.calls if name == declared.name]
    required = sum(1 for p in declared.parameters if not p.optional)
    assert sent, f"`seocho {' '.join(argv)}` sent {recorder.calls}: {answer.output}"
    assert all(kind == declared.kind and required <= n <= len(declared.parameters) for kind, n in sent)


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
            # That calling it sends the transaction: tests/http/test_http_coverage.py, through the app.
            assert (exposure.method, exposure.path) in routes, (
                f"no route {exposure.method.upper()} {exposure.path}"
            )
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
