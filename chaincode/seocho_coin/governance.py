"""Initialising the ledger and changing the policy: district admins only.

`init_ledger` runs once and names the district MSP; from then on admin, registrar and auditor roles
count only from that MSP. `set_policy` appends a new policy version taking effect now or later, never
in the past and never before the latest version, so the version in force at any moment never changes
after the fact and every recorded transaction keeps the rules it was made under.
"""

from __future__ import annotations

import json
from typing import Any

from fabric_shim.contract_errors import BadRequest, Conflict, Forbidden

from seocho_coin import ids, keys, roles
from seocho_coin.census import CURRENT_SCHEMA
from seocho_coin.policy import Policy, decode_index, default_policy_data, encode_index
from seocho_coin.records import Config
from seocho_coin.txn import Tx

NOW = "now"


def init_ledger(tx: Tx, district_msp: str, expected_district_msp: str | None = None) -> dict[str, Any]:
    """Write the config and policy version 1 (the 2023 rules).

    The caller must be an admin of `district_msp` itself. When the chaincode was started with an
    expected district MSP, any other value is refused, so a partner org cannot claim the district role
    by initialising first.
    """
    ids.require_id("district_msp", district_msp)
    if tx.caller.msp_id != district_msp or tx.caller.role != roles.ADMIN:
        raise Forbidden("only an admin of the district MSP may initialise the ledger")
    if expected_district_msp is not None and district_msp != expected_district_msp:
        raise Forbidden(f"this chaincode serves district MSP {expected_district_msp}")
    if tx.exists(keys.CONFIG):
        raise Conflict("the ledger is already initialised")
    policy = Policy.from_dict(default_policy_data())
    tx.put(keys.CONFIG, Config(district_msp, tx.tx_id, tx.timestamp, CURRENT_SCHEMA))
    tx.put_raw(keys.policy(policy.version), _encode_policy(policy))
    tx.put_raw(keys.POLICY_INDEX, encode_index([(policy.version, policy.effective_from)]))
    return {"district_msp": district_msp, "policy": policy.to_dict()}


def set_policy(tx: Tx, changes: dict[str, Any]) -> dict[str, Any]:
    """Append a policy version: the latest version with `changes` applied (top-level fields replaced).

    `effective_from` is required: an ISO date-time not before the proposal's timestamp, or "now".
    """
    if not isinstance(changes, dict):
        raise BadRequest("changes must be a JSON object")
    if "version" in changes:
        raise BadRequest("the version number is assigned by the ledger")
    if "effective_from" not in changes:
        raise BadRequest('effective_from is required (an ISO date-time with a zone, or "now")')
    roles.require_district_role(tx, roles.ADMIN)
    return _append(tx, changes)


def open_earning_to_all(tx: Tx, effective_from: str) -> dict[str, Any]:
    """The governance step of the 2023 ordinance: every registered member may earn (a new version)."""
    roles.require_district_role(tx, roles.ADMIN)
    return _append(tx, {"effective_from": effective_from, "open_to_all": True})


def get_policy(tx: Tx, version: int) -> dict[str, Any]:
    """Policy `version`, or the one in force now when version is 0. Public within the channel."""
    ids.require_amount("version", version, minimum=0)
    policy = tx.policy if version == 0 else tx.policy_version(version)
    return policy.to_dict()


def list_policies(tx: Tx) -> list[dict[str, Any]]:
    """Every version with its effective moment, and which one is in force now. Public within the channel."""
    in_force = tx.policy.version
    return [{"version": v, "effective_from": e, "in_force": v == in_force} for v, e in tx.policy_versions()]


def _append(tx: Tx, changes: dict[str, Any]) -> dict[str, Any]:
    entries = tx.policy_versions()
    if not entries:
        raise Conflict("the ledger is not initialised")
    latest_version, latest_effective = entries[-1]
    data = tx.policy_version(latest_version).to_dict()
    data.update(changes)
    data["version"] = latest_version + 1
    if data["effective_from"] == NOW:
        data["effective_from"] = tx.timestamp
    policy = Policy.from_dict(data)
    if policy.effective_from < tx.timestamp:
        raise BadRequest(f"effective_from {policy.effective_from} is in the past (now is {tx.timestamp})")
    if policy.effective_from < latest_effective:
        raise BadRequest(f"effective_from must not precede version {latest_version}'s {latest_effective}")
    tx.put_raw(keys.policy(policy.version), _encode_policy(policy))
    raw_index = tx.raw(keys.POLICY_INDEX)
    index = decode_index(raw_index) if raw_index is not None else []
    tx.put_raw(keys.POLICY_INDEX, encode_index([*index, (policy.version, policy.effective_from)]))
    return policy.to_dict()


def _encode_policy(policy: Policy) -> bytes:
    return json.dumps(policy.to_dict(), sort_keys=True, separators=(",", ":")).encode("utf-8")
