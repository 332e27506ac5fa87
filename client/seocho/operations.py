"""One declaration per coin transaction: its arguments, who may call it, and where it is offered.

Each entry names the transaction as the chaincode's contract metadata does, its arguments in order with
their types, whether it is submitted or evaluated, the roles the chaincode lets call it, and the `Coin`
method, the `seocho` command and the HTTP route that carry it, or why one of them is not offered.
`tests/cli/test_operations.py` holds the table to the contract's metadata (a transaction added to the
contract without an entry fails), to the SDK, the CLI and the HTTP
service (an entry whose method, command or route is missing fails).

The HTTP service is generated from it where that keeps the code typed: which residents' operations are
queries, how an operation's fields become the transaction's arguments, and the route coverage map.

Roles: `admin`, `registrar`, `auditor` (the district's), `staff` and `manager` (of the institution the
transaction is about), `member` (the member the transaction is about, signing for themself), `anyone`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

Kind = Literal["submit", "evaluate"]
ROLES = frozenset({"admin", "registrar", "auditor", "staff", "manager", "member", "anyone"})
_TYPES: dict[str, type] = {"str": str, "int": int, "bool": bool, "list": list, "dict": dict}


@dataclass(frozen=True)
class Parameter:
    """One argument, as the contract declares it; `optional` ones come last and may be left out."""

    name: str
    type: type
    optional: bool = False


@dataclass(frozen=True)
class NotOffered:
    """Why a transaction has no SDK method, command or route of its own."""

    reason: str


@dataclass(frozen=True)
class Command:
    """A `seocho` command: its path under `seocho`, and the `Coin` method it calls when that is not
    the declaration's own (a command that pages through a transaction calls the paging method)."""

    path: tuple[str, ...]
    via: str | None = None


@dataclass(frozen=True)
class Route:
    """A terminal's HTTP route (the service signs as the terminal's staff identity)."""

    method: Literal["get", "post"]
    path: str


@dataclass(frozen=True)
class Resident:
    """Signed by the resident on their own device: `POST /v1/proposals` with `operation.name`."""


RESIDENT = Resident()
Exposure = Route | Resident


@dataclass(frozen=True)
class Transaction:
    name: str
    kind: Kind
    parameters: tuple[Parameter, ...]
    roles: frozenset[str]
    sdk: str | NotOffered
    """The `Coin` method that performs it (its own name, or a method that pages through it)."""
    cli: Command | NotOffered
    http: tuple[Exposure, ...] | NotOffered

    def arguments(self, values: Mapping[str, object]) -> list[str]:
        """The transaction's arguments from `values` by parameter name, in order, encoded as the
        contract's metadata declares them; optional parameters missing from `values` are left out."""
        present = [p for p in self.parameters if not p.optional or p.name in values]
        return [encode_argument(values[p.name]) for p in present]


def encode_argument(value: object) -> str:
    """An argument as the chaincode reads it: decimal integers, true/false, JSON for lists and objects."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | str):
        return str(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _parameters(signature: str) -> tuple[Parameter, ...]:
    """`"member_id:str quantity:int lane:int?"` as parameters (`?`: optional)."""
    parameters = []
    for word in signature.split():
        name, _, type_name = word.partition(":")
        optional = type_name.endswith("?")
        parameters.append(Parameter(name, _TYPES[type_name.rstrip("?")], optional))
    return tuple(parameters)


def _declare(
    name: str,
    kind: Kind,
    signature: str,
    roles: str,
    cli: Command | NotOffered,
    http: tuple[Exposure, ...] | NotOffered,
    sdk: str | NotOffered | None = None,
) -> Transaction:
    declared = frozenset(roles.split())
    if not declared <= ROLES:
        raise ValueError(f"{name}: unknown roles {sorted(declared - ROLES)}")
    return Transaction(name, kind, _parameters(signature), declared, name if sdk is None else sdk, cli, http)


def _cmd(*path: str, via: str | None = None) -> Command:
    return Command(tuple(path), via)


_ADMINISTRATION = NotOffered(
    "district administration: the CLI or SDK as an admin, registrar or auditor identity"
)
_PAGED_AUDIT = NotOffered(
    "the SDK's audit_supply and `seocho audit` page through audit_supply_page: the one-shot audit "
    "would keep one evaluation busy for many seconds at district size (it stays for small ledgers)"
)
_INSTITUTIONS = "/v1/institutions/{institution_id}"
S: Kind = "submit"
E: Kind = "evaluate"

TRANSACTIONS: tuple[Transaction, ...] = (
    # governance (district admin)
    _declare("init_ledger", S, "district_msp:str", "admin", _cmd("init"), _ADMINISTRATION),
    _declare("migration_page", E, "cursor:str", "admin", _cmd("migrate", via="migrate"), _ADMINISTRATION),
    _declare("migrate_ledger", S, "version:int backfill:dict", "admin", _cmd("migrate"), _ADMINISTRATION,
             sdk="migrate"),
    _declare("set_policy", S, "changes:dict", "admin", _cmd("policy", "set"), _ADMINISTRATION),
    _declare("open_earning_to_all", S, "effective_from:str", "admin", _cmd("policy", "open-to-all"),
             _ADMINISTRATION),
    _declare("get_policy", E, "version:int", "anyone", _cmd("policy", "show"),
             NotOffered("not yet routed: the app reads rates from the report; planned as GET /v1/policy")),
    _declare("list_policies", E, "", "anyone", _cmd("policy", "list"),
             NotOffered("not yet routed (district administration)")),
    # institutions
    _declare("register_institution", S,
             "institution_id:str institution_type:str activities:list sells_services:bool "
             "takes_donations:bool annual_quota:int staff_msp:str", "admin", _cmd("institution", "register"),
             _ADMINISTRATION),
    _declare("update_institution", S,
             "institution_id:str activities:list sells_services:bool takes_donations:bool", "admin",
             NotOffered("not a command yet: the SDK's update_institution (district admin)"), _ADMINISTRATION),
    _declare("deactivate_institution", S, "institution_id:str", "admin", _cmd("institution", "deactivate"),
             _ADMINISTRATION),
    _declare("reactivate_institution", S, "institution_id:str", "admin", _cmd("institution", "reactivate"),
             _ADMINISTRATION),
    _declare("set_institution_staff_msp", S, "institution_id:str msp_id:str", "admin",
             _cmd("institution", "staff-msp"), _ADMINISTRATION),
    _declare("set_annual_quota", S, "institution_id:str year:str quota:int", "admin",
             _cmd("institution", "quota"), _ADMINISTRATION),
    _declare("allocate_allowance", S, "institution_id:str staff_client_id:str year:str coins:int lane:int?",
             "admin manager", _cmd("institution", "allowance"), _ADMINISTRATION),
    _declare("reclaim_allowance", S, "institution_id:str staff_client_id:str year:str coins:int",
             "admin manager", _cmd("institution", "reclaim"), _ADMINISTRATION),
    _declare("get_allowance", E, "institution_id:str staff_client_id:str year:str",
             "admin auditor staff manager",
             NotOffered("not a command yet: the SDK's get_allowance"),
             NotOffered("not yet routed: planned for terminals with the statement scope")),
    _declare("get_institution", E, "institution_id:str", "anyone", _cmd("institution", "show"),
             NotOffered("not yet routed: planned as GET /v1/institutions/{id}")),
    _declare("list_institutions", E, "", "anyone", _cmd("institution", "list"),
             NotOffered("not yet routed: planned as GET /v1/institutions")),
    # members (registrar)
    _declare("register_member", S, "member_id:str categories:list client_id:str", "registrar",
             _cmd("member", "register"), _ADMINISTRATION),
    _declare("register_members", S, "entries:list", "registrar",
             NotOffered("bulk registration is a script's: the SDK's register_members (1,000 at a time); "
                        "one member at a time: `seocho member register`"), _ADMINISTRATION),
    _declare("rebind_member", S, "member_id:str client_id:str", "registrar", _cmd("member", "rebind"),
             _ADMINISTRATION),
    _declare("set_member_categories", S, "member_id:str categories:list", "registrar",
             _cmd("member", "categories"), _ADMINISTRATION),
    _declare("deactivate_member", S, "member_id:str", "registrar", _cmd("member", "deactivate"),
             _ADMINISTRATION),
    _declare("reactivate_member", S, "member_id:str", "registrar", _cmd("member", "reactivate"),
             _ADMINISTRATION),
    _declare("get_member", E, "member_id:str", "registrar admin auditor member", _cmd("member", "show"),
             NotOffered("registrar's view of a member: district administration")),
    # coin movements
    _declare("earn", S, "member_id:str activity:str quantity:int evidence_hash:str request_id:str lane:int?",
             "staff manager", _cmd("earn"), (Route("post", _INSTITUTIONS + "/earnings"),)),
    _declare("pay", S,
             "member_id:str institution_id:str price_krw:int coins:int service_code:str request_id:str",
             "member", _cmd("pay"), (RESIDENT,)),
    _declare("create_payment_request", S,
             "request_id:str price_krw:int coins:int service_code:str expires_at:str", "staff manager",
             _cmd("payment-request", "create"), (Route("post", _INSTITUTIONS + "/payment-requests"),)),
    _declare("pay_request", S, "institution_id:str request_id:str member_id:str", "member",
             _cmd("payment-request", "pay"), (RESIDENT,)),
    _declare("get_payment_request", E, "institution_id:str request_id:str", "anyone",
             NotOffered("not a command yet: the SDK's get_payment_request (kiosks and apps read it "
                        "over HTTP)"),
             (RESIDENT, Route("get", _INSTITUTIONS + "/payment-requests/{request_id}"))),
    _declare("donate", S, "member_id:str charity_id:str coins:int request_id:str", "member", _cmd("donate"),
             (RESIDENT,)),
    _declare("get_donation_receipt", E, "tx_id:str", "member admin auditor", _cmd("receipt"), (RESIDENT,)),
    _declare("request_settlement", S, "institution_id:str settlement_id:str cutoff:str", "manager",
             _cmd("settle", "request"),
             NotOffered("settlement is a back-office step of the institution's manager (CLI or SDK)")),
    _declare("mark_settlement_paid", S, "institution_id:str settlement_id:str payment_reference:str", "admin",
             _cmd("settle", "paid"),
             NotOffered("settlement is a back-office step of the district (CLI or SDK)")),
    _declare("expire_coins", S, "member_id:str", "member admin", _cmd("expire"), _ADMINISTRATION),
    # queries and reports
    _declare("get_balance", E, "member_id:str", "member admin auditor registrar", _cmd("balance"),
             (RESIDENT,)),
    _declare("get_member_history", E, "member_id:str page_size:int bookmark:str", "member admin auditor",
             _cmd("history"), (RESIDENT,)),
    _declare("get_institution_statement", E, "institution_id:str", "staff manager admin auditor",
             _cmd("institution", "statement"), (Route("get", _INSTITUTIONS + "/statement"),)),
    _declare("get_report", E, "", "admin auditor", _cmd("report"), (Route("get", "/v1/report"),)),
    _declare("audit_supply", E, "", "admin auditor", _PAGED_AUDIT, _ADMINISTRATION, sdk=_PAGED_AUDIT),
    _declare("audit_supply_page", E, "cursor:str", "admin auditor", _cmd("audit", via="audit_supply"),
             _ADMINISTRATION),
    _declare("compact_stats", S, "month:str", "admin", _cmd("compact-stats", via="compact_month"),
             _ADMINISTRATION),
)  # fmt: skip

BY_NAME: dict[str, Transaction] = {t.name: t for t in TRANSACTIONS}


def transaction(name: str) -> Transaction:
    """The declaration of the transaction `name` (KeyError when the contract has none by that name)."""
    return BY_NAME[name]
