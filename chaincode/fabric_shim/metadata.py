"""The contract metadata document returned by ``org.hyperledger.fabric:GetMetadata``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fabric_shim.conversion import json_schema

TransactionShape = tuple[str, bool, Sequence[tuple[str, Any]], Any]
DEFAULT_VERSION = "latest"  # what fabric-contract-api-go reports for a contract without a version


def contract_metadata(
    name: str, contract: Any, transactions: Sequence[TransactionShape], *, default: bool
) -> dict[str, Any]:
    entries = []
    for wire_name, evaluate, parameters, returns in sorted(transactions, key=lambda t: t[0]):
        entry: dict[str, Any] = {
            "name": wire_name,
            # fabric-contract-api-go tags each transaction with the old and the new spelling.
            "tag": ["evaluate", "EVALUATE"] if evaluate else ["submit", "SUBMIT"],
            "parameters": [{"name": p, "schema": json_schema(a)} for p, a in parameters],
        }
        if returns is not None and returns is not type(None):
            entry["returns"] = json_schema(returns)
        entries.append(entry)
    return {
        "name": name,
        "default": default,
        "info": {
            "title": getattr(contract, "title", "") or name,
            "version": getattr(contract, "version", "") or DEFAULT_VERSION,
        },
        "transactions": entries,
    }


def system_metadata() -> dict[str, Any]:
    return {
        "name": "org.hyperledger.fabric",
        "default": False,
        "info": {"title": "org.hyperledger.fabric", "version": DEFAULT_VERSION},
        "transactions": [
            {
                "name": "GetMetadata",
                "tag": ["evaluate", "EVALUATE"],
                "parameters": [],
                "returns": {"type": "object"},
            }
        ],
    }
