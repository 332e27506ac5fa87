"""Contract routing: names, typed arguments, JSON results, errors and the metadata document."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from fabric_protos.peer import chaincode_pb2
from fabric_shim.chaincode import Response
from fabric_shim.contract import Context, Contract, ContractChaincode, NotFound, transaction
from fabric_shim.stub import ChaincodeStub
from hypothesis import given
from hypothesis import strategies as st


class NoPeer:
    """Routing needs no ledger; any ledger call from these contracts is a test failure."""

    def call(self, msg_type: int, payload: bytes, channel_id: str, txid: str) -> bytes:
        raise AssertionError("routing must not touch the ledger")


@dataclass
class Pair:
    left: int
    right: str


class Calculator(Contract):
    title = "calculator"

    def __init__(self) -> None:
        self.hooks: list[str] = []

    def before_transaction(self, ctx: Context) -> None:
        self.hooks.append(ctx.stub.function)

    @transaction
    def add(self, ctx: Context, a: int, b: int) -> int:
        return a + b

    @transaction(evaluate=True)
    def echo(self, ctx: Context, text: str, flag: bool, ratio: float) -> dict[str, Any]:
        return {"text": text, "flag": flag, "ratio": ratio}

    @transaction(evaluate=True, name="Pair")
    def make_pair(self, ctx: Context, items: list[int], label: str | None) -> Pair:
        return Pair(sum(items), label or "none")

    @transaction
    def raw(self, ctx: Context, blob: bytes) -> bytes:
        return blob[::-1]

    @transaction
    def missing(self, ctx: Context, key: str) -> None:
        raise NotFound(f"{key} is not registered")

    @transaction
    def scaled(self, ctx: Context, value: int, factor: int = 10) -> int:
        return value * factor

    @transaction
    def crash(self, ctx: Context) -> None:
        raise RuntimeError("secret internal detail")

    def not_a_transaction(self, ctx: Context) -> None:
        raise AssertionError("must not be routable")


class Notes(Contract):
    name = "notes"

    @transaction(evaluate=True)
    def count(self, ctx: Context, words: list[str]) -> int:
        return len(words)


def invoke(chaincode: ContractChaincode, *args: str | bytes) -> Response:
    encoded = [a.encode() if isinstance(a, str) else a for a in args]
    stub = ChaincodeStub(NoPeer(), "ch", "tx1", chaincode_pb2.ChaincodeInput(args=encoded), None)
    return chaincode.invoke(stub)


@pytest.fixture
def calculator() -> Calculator:
    return Calculator()


@pytest.fixture
def chaincode(calculator: Calculator) -> ContractChaincode:
    return ContractChaincode(calculator, Notes())


def test_bare_name_goes_to_the_default_contract(chaincode: ContractChaincode) -> None:
    assert invoke(chaincode, "add", "2", "40") == Response(200, "", b"42")
    assert invoke(chaincode, "Calculator:add", "-2", "1").payload == b"-1"


def test_named_contract(chaincode: ContractChaincode) -> None:
    assert invoke(chaincode, "notes:count", '["a","b","c"]').payload == b"3"
    assert invoke(chaincode, "count", "[]").status == 400  # not in the default contract


def test_typed_arguments_and_json_results(chaincode: ContractChaincode) -> None:
    result = invoke(chaincode, "echo", "서초", "true", "2.5")
    assert result.status == 200
    assert json.loads(result.payload) == {"text": "서초", "flag": True, "ratio": 2.5}
    assert json.loads(invoke(chaincode, "Pair", "[1,2]", "").payload) == {"left": 3, "right": "none"}
    assert invoke(chaincode, "raw", b"\x00\xff").payload == b"\xff\x00"


def test_a_trailing_parameter_with_a_default_may_be_left_out(chaincode: ContractChaincode) -> None:
    assert invoke(chaincode, "scaled", "4").payload == b"40"
    assert invoke(chaincode, "scaled", "4", "3").payload == b"12"
    for args in ((), ("1", "2", "3")):
        refused = invoke(chaincode, "scaled", *args)
        assert (refused.status, "takes 1 to 2 argument(s)" in refused.message) == (400, True)


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("add", "1"), "takes 2 argument(s)"),
        (("add", "1", "x"), "argument 'b': expected an integer"),
        (("add", "1", "1.0"), "expected an integer"),
        (("echo", "t", "yes", "1"), "expected true or false"),
        (("echo", "t", "true", "nan"), "finite"),
        (("Pair", "{}", "x"), "expected a JSON array"),
        (("Pair", '[1, "2"]', "x"), "expected items of type int"),
        (("Pair", "[1,", "x"), "is not valid JSON"),
        (("Pair", "[" * 100_000 + "]" * 100_000, "x"), "nested too deeply"),
        # Beyond Python's 4,300-digit int conversion limit json.loads raises a bare ValueError.
        (("Pair", "[" + "9" * 4301 + "]", "x"), "too large"),
        (("notes:count", '[["x", ' + "1" * 5000 + "]]"), "too large"),
        # Not JSON (RFC 8259), though Python's json accepts them; and a float beyond double range.
        (("Pair", "[NaN]", "x"), "not finite"),
        (("notes:count", "[-Infinity]"), "not finite"),
        (("notes:count", "[1e999]"), "not finite"),
        (("notes:count", '["ok", "\\ud800"]'), "unpaired surrogate"),
        (("notes:count", '[{"\\udfff": 1}]'), "unpaired surrogate"),
        (("echo", b"\xff", "true", "1"), "UTF-8"),
        (("nope",), "'nope' is not defined"),
        (("Other:add", "1", "2"), "contract 'Other' is not defined"),
        (("not_a_transaction",), "is not defined"),
    ],
)
def test_bad_calls_are_400_with_a_clear_message(
    chaincode: ContractChaincode, args: tuple[str | bytes, ...], fragment: str
) -> None:
    result = invoke(chaincode, *args)
    assert result.status == 400
    assert fragment in result.message


def test_contract_errors_keep_their_status(chaincode: ContractChaincode) -> None:
    assert invoke(chaincode, "missing", "M-1") == Response(404, "M-1 is not registered", b"")


def test_unexpected_exceptions_fail_without_leaking_details(chaincode: ContractChaincode) -> None:
    result = invoke(chaincode, "crash")
    assert result.status == 500
    assert "secret" not in result.message


def test_before_transaction_hook_runs(chaincode: ContractChaincode, calculator: Calculator) -> None:
    invoke(chaincode, "add", "1", "1")
    assert calculator.hooks == ["add"]


def test_metadata_describes_every_transaction(chaincode: ContractChaincode) -> None:
    result = invoke(chaincode, "org.hyperledger.fabric:GetMetadata")
    metadata = json.loads(result.payload)
    calc = metadata["contracts"]["Calculator"]
    assert calc["default"] is True
    names = [t["name"] for t in calc["transactions"]]
    assert names == sorted(["add", "echo", "Pair", "raw", "missing", "scaled", "crash"])
    add = next(t for t in calc["transactions"] if t["name"] == "add")
    assert add["tag"] == ["submit", "SUBMIT"]  # as fabric-contract-api-go tags transactions
    assert add["parameters"] == [
        {"name": "a", "schema": {"type": "integer"}},
        {"name": "b", "schema": {"type": "integer"}},
    ]
    pair = next(t for t in calc["transactions"] if t["name"] == "Pair")
    assert pair["tag"] == ["evaluate", "EVALUATE"]
    assert calc["info"]["version"] == "latest"  # Go's default for a contract without a version
    assert pair["parameters"][0]["schema"] == {"type": "array", "items": {"type": "integer"}}
    assert metadata["contracts"]["notes"]["default"] is False
    assert "org.hyperledger.fabric" in metadata["contracts"]


def test_contract_names_must_be_unique() -> None:
    with pytest.raises(ValueError, match="duplicate"):
        ContractChaincode(Notes(), Notes())


@given(st.integers(min_value=-(10**30), max_value=10**30), st.integers(min_value=-(10**30), max_value=10**30))
def test_integers_round_trip(a: int, b: int) -> None:
    chaincode = ContractChaincode(Calculator())
    assert json.loads(invoke(chaincode, "add", str(a), str(b)).payload) == a + b
