"""Partner institutions: registration, what they may do, (de)activation and their staff MSP.

Their yearly issuance quotas and the staff allowances carved from them are in `seocho_coin.allowances`.

Every institution names, when it is registered, the one MSP whose identities may act as its staff
(`staff_msp`): the staff attributes are only certificate attributes, which any organisation's CA
could mint, so they count only from that MSP. `set_institution_staff_msp` changes it.
"""

from __future__ import annotations

from typing import Any

from fabric_shim.contract_errors import BadRequest, Conflict

from seocho_coin import census, ids, keys, roles
from seocho_coin.records import Institution, Tally, decode
from seocho_coin.txn import Tx


def register_institution(
    tx: Tx,
    institution_id: str,
    institution_type: str,
    activities: list[str],
    sells_services: bool,
    takes_donations: bool,
    annual_quota: int,
    staff_msp: str,
) -> dict[str, Any]:
    ids.require_id("institution_id", institution_id)
    if institution_type not in ids.INSTITUTION_TYPES:
        raise BadRequest(f"institution type must be one of {sorted(ids.INSTITUTION_TYPES)}")
    codes = ids.require_codes("activities", activities)
    ids.require_bool("sells_services", sells_services)
    ids.require_bool("takes_donations", takes_donations)
    ids.require_amount("annual_quota", annual_quota, minimum=0)
    ids.require_id("staff_msp", staff_msp)
    roles.require_district_role(tx, roles.ADMIN)
    unknown = [code for code in codes if code not in tx.policy.activities]
    if unknown:
        raise BadRequest(f"activities {unknown} are not in the policy in force")
    key = keys.institution(institution_id)
    if tx.exists(key):
        raise Conflict(f"institution {institution_id} is already registered")
    institution = Institution(
        institution_id=institution_id,
        type=institution_type,
        activities=codes,
        sells_services=sells_services,
        takes_donations=takes_donations,
        annual_quota=annual_quota,
        active=True,
        registered_at=tx.timestamp,
        staff_msp=staff_msp,
    )
    tx.put(key, institution)
    census.record(tx, Tally(institutions=1))
    return _view(institution)


def update_institution(
    tx: Tx, institution_id: str, activities: list[str], sells_services: bool, takes_donations: bool
) -> dict[str, Any]:
    """Change what an institution may attest, sell and receive (admin)."""
    ids.require_id("institution_id", institution_id)
    codes = ids.require_codes("activities", activities)
    ids.require_bool("sells_services", sells_services)
    ids.require_bool("takes_donations", takes_donations)
    roles.require_district_role(tx, roles.ADMIN)
    institution = tx.require(Institution, keys.institution(institution_id), f"institution {institution_id}")
    unknown = [code for code in codes if code not in tx.policy.activities]
    if unknown:
        raise BadRequest(f"activities {unknown} are not in the policy in force")
    institution.activities = codes
    institution.sells_services = sells_services
    institution.takes_donations = takes_donations
    tx.put(keys.institution(institution_id), institution)
    return _view(institution)


def deactivate_institution(tx: Tx, institution_id: str) -> dict[str, Any]:
    ids.require_id("institution_id", institution_id)
    roles.require_district_role(tx, roles.ADMIN)
    institution = tx.require(Institution, keys.institution(institution_id), f"institution {institution_id}")
    if not institution.active:
        raise Conflict(f"institution {institution_id} is already deactivated")
    institution.active = False
    tx.put(keys.institution(institution_id), institution)
    return _view(institution)


def reactivate_institution(tx: Tx, institution_id: str) -> dict[str, Any]:
    """Let a deactivated institution attest, sell and receive donations again (admin).

    Its quota pools, staff allowances and unsettled receipts were kept while it was inactive, so
    they apply again as they were.
    """
    ids.require_id("institution_id", institution_id)
    roles.require_district_role(tx, roles.ADMIN)
    institution = tx.require(Institution, keys.institution(institution_id), f"institution {institution_id}")
    if institution.active:
        raise Conflict(f"institution {institution_id} is already active")
    institution.active = True
    tx.put(keys.institution(institution_id), institution)
    return _view(institution)


def set_institution_staff_msp(tx: Tx, institution_id: str, msp_id: str) -> dict[str, Any]:
    """Change the MSP whose identities may act as the institution's staff and managers (admin)."""
    ids.require_id("institution_id", institution_id)
    ids.require_id("msp_id", msp_id)
    roles.require_district_role(tx, roles.ADMIN)
    institution = tx.require(Institution, keys.institution(institution_id), f"institution {institution_id}")
    institution.staff_msp = msp_id
    tx.put(keys.institution(institution_id), institution)
    return _view(institution)


def get_institution(tx: Tx, institution_id: str) -> dict[str, Any]:
    """Public within the channel: apps list where members can earn, pay and donate."""
    ids.require_id("institution_id", institution_id)
    institution = tx.require(Institution, keys.institution(institution_id), f"institution {institution_id}")
    return _view(institution)


def list_institutions(tx: Tx) -> list[dict[str, Any]]:
    return [_view(decode(Institution, raw)) for _key, raw in tx.scan_all(keys.INSTITUTION, [])]


def _view(institution: Institution) -> dict[str, Any]:
    return {
        "institution_id": institution.institution_id,
        "type": institution.type,
        "activities": institution.activities,
        "sells_services": institution.sells_services,
        "takes_donations": institution.takes_donations,
        "annual_quota": institution.annual_quota,
        "active": institution.active,
        "registered_at": institution.registered_at,
        "staff_msp": institution.staff_msp,
    }
