"""Contract routing: typed transaction functions on classes, dispatched by name.

The Python twin of the Go/Node/Java contract APIs. A chaincode is one or more `Contract` subclasses whose
methods are marked with `@transaction`; `ContractChaincode` implements the `Chaincode` protocol on top of
them. A transaction is addressed as ``"Contract:fn"``, or as bare ``"fn"`` for the first (default) contract,
and ``org.hyperledger.fabric:GetMetadata`` returns the metadata JSON generic tools use to discover the API.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, TypeVar, get_type_hints, overload

from fabric_shim.chaincode import Response, error, success
from fabric_shim.contract_errors import BadRequest, Conflict, ContractError, Forbidden, NotFound
from fabric_shim.conversion import ConversionError, decode_argument, encode_result
from fabric_shim.metadata import contract_metadata, system_metadata
from fabric_shim.stub import ChaincodeStub

__all__ = [
    "BadRequest",
    "Conflict",
    "Context",
    "Contract",
    "ContractChaincode",
    "ContractError",
    "Forbidden",
    "NotFound",
    "TransactionInfo",
    "transaction",
]

log = logging.getLogger(__name__)

SYSTEM_CONTRACT = "org.hyperledger.fabric"
_TRANSACTION_ATTR = "__fabric_transaction__"

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class TransactionInfo:
    """What `@transaction` records about a method."""

    evaluate: bool = False
    name: str | None = None


class Context:
    """Everything a transaction function may use: the stub and the caller's identity."""

    def __init__(self, stub: ChaincodeStub) -> None:
        self.stub = stub

    @cached_property
    def client_identity(self) -> Any:
        # Imported here so that contracts which never ask for the identity don't parse certificates.
        from fabric_shim.cid import ClientIdentity

        return ClientIdentity.from_stub(self.stub)


@overload
def transaction(func: F) -> F: ...


@overload
def transaction(*, evaluate: bool = False, name: str | None = None) -> Callable[[F], F]: ...


def transaction(
    func: F | None = None, *, evaluate: bool = False, name: str | None = None
) -> F | Callable[[F], F]:
    """Mark a contract method as a transaction function.

    ``@transaction`` marks a submit transaction (it may write); ``@transaction(evaluate=True)`` a query
    that clients should evaluate rather than submit. ``name`` overrides the method name on the wire.
    """

    def mark(f: F) -> F:
        setattr(f, _TRANSACTION_ATTR, TransactionInfo(evaluate=evaluate, name=name))
        return f

    return mark(func) if func is not None else mark


class Contract:
    """Base class of a contract. Subclasses define `@transaction` methods taking `ctx` first."""

    name: str = ""
    version: str = "latest"
    title: str = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not cls.__dict__.get("name"):
            cls.name = cls.__name__

    def before_transaction(self, ctx: Context) -> None:
        """Hook run before every transaction function of this contract."""

    def unknown_transaction(self, ctx: Context, function: str) -> Any:
        """Called for a function this contract does not define; refuses it by default."""
        raise BadRequest(f"function {function!r} is not defined in contract {self.name!r}")


@dataclass(frozen=True)
class _Parameter:
    name: str
    annotation: Any
    default: Any = inspect.Parameter.empty
    """A parameter with a Python default may be left out by the caller (trailing ones only)."""

    @property
    def required(self) -> bool:
        return self.default is inspect.Parameter.empty


@dataclass(frozen=True)
class _Route:
    contract: Contract
    method_name: str
    wire_name: str
    info: TransactionInfo
    parameters: tuple[_Parameter, ...]
    returns: Any

    def call(self, ctx: Context, raw_args: list[bytes]) -> Any:
        total = len(self.parameters)
        required = sum(1 for p in self.parameters if p.required)
        if not required <= len(raw_args) <= total:
            count = str(total) if required == total else f"{required} to {total}"
            raise BadRequest(
                f"{self.wire_name} takes {count} argument(s) "
                f"({', '.join(p.name for p in self.parameters)}), got {len(raw_args)}"
            )
        values = []
        for parameter, raw in zip(self.parameters, raw_args, strict=False):
            try:
                values.append(decode_argument(raw, parameter.annotation))
            except ConversionError as exc:
                raise BadRequest(f"argument {parameter.name!r}: {exc}") from None
        # Left-out trailing parameters take their Python defaults (a transaction can grow an
        # optional argument without breaking the clients that do not send it).
        return getattr(self.contract, self.method_name)(ctx, *values)


@dataclass
class _ContractRoutes:
    contract: Contract
    routes: dict[str, _Route] = field(default_factory=dict)


def _routes_of(contract: Contract) -> _ContractRoutes:
    table = _ContractRoutes(contract)
    for attr_name, member in inspect.getmembers(type(contract), predicate=inspect.isfunction):
        info = getattr(member, _TRANSACTION_ATTR, None)
        if not isinstance(info, TransactionInfo):
            continue
        hints = get_type_hints(member)
        signature = inspect.signature(member)
        params = list(signature.parameters.values())[2:]  # skip self, ctx
        parameters: list[_Parameter] = []
        for p in params:
            if p.kind not in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
                raise TypeError(f"{contract.name}.{attr_name}: transaction parameters must be positional")
            parameters.append(_Parameter(p.name, hints.get(p.name, str), p.default))
        wire_name = info.name or attr_name
        if wire_name in table.routes:
            raise TypeError(f"{contract.name}: two transactions named {wire_name!r}")
        table.routes[wire_name] = _Route(
            contract, attr_name, wire_name, info, tuple(parameters), hints.get("return", None)
        )
    return table


class ContractChaincode:
    """A `Chaincode` made of contracts; the first one is the default for bare function names."""

    def __init__(self, *contracts: Contract, title: str = "", version: str = "latest") -> None:
        if not contracts:
            raise ValueError("a chaincode needs at least one contract")
        self._tables: dict[str, _ContractRoutes] = {}
        for contract in contracts:
            if contract.name in self._tables or contract.name == SYSTEM_CONTRACT or ":" in contract.name:
                raise ValueError(f"invalid or duplicate contract name {contract.name!r}")
            self._tables[contract.name] = _routes_of(contract)
        self._default = contracts[0].name
        self.title = title or self._default
        self.version = version

    def init(self, stub: ChaincodeStub) -> Response:
        # Fabric 2.x lifecycle calls Init only with --init-required; treat it as an ordinary invocation.
        return self.invoke(stub)

    def invoke(self, stub: ChaincodeStub) -> Response:
        function = stub.function
        contract_name, _, fn = function.rpartition(":")
        if contract_name == SYSTEM_CONTRACT:
            return self._system(fn)
        table = self._tables.get(contract_name or self._default)
        if table is None:
            return error(f"contract {contract_name!r} is not defined", 400)
        ctx = Context(stub)
        try:
            table.contract.before_transaction(ctx)
            route = table.routes.get(fn)
            if route is None:
                result = table.contract.unknown_transaction(ctx, fn)
            else:
                result = route.call(ctx, stub.args[1:])
            return success(encode_result(result))
        except ContractError as exc:
            return error(exc.message, exc.status)
        except Exception as exc:
            log.warning("transaction %s failed with %s", function, type(exc).__name__)
            log.debug("transaction %s failed", function, exc_info=True)
            return error(f"internal error in {function}", 500)

    def _system(self, fn: str) -> Response:
        if fn != "GetMetadata":
            return error(f"function {fn!r} is not defined in contract {SYSTEM_CONTRACT!r}", 400)
        return success(encode_result(self.metadata()))

    def metadata(self) -> dict[str, Any]:
        """The contract metadata document (contracts → transactions → parameters with JSON schemas)."""
        contracts = {
            name: contract_metadata(
                name,
                table.contract,
                [
                    (r.wire_name, r.info.evaluate, [(p.name, p.annotation) for p in r.parameters], r.returns)
                    for r in table.routes.values()
                ],
                default=name == self._default,
            )
            for name, table in self._tables.items()
        }
        contracts[SYSTEM_CONTRACT] = system_metadata()
        return {
            "$schema": "https://hyperledger.github.io/fabric-chaincode-node/main/api/contract-schema.json",
            "info": {"title": self.title, "version": self.version},
            "contracts": contracts,
            "components": {"schemas": {}},
        }
