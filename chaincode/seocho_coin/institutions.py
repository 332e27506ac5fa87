"""Partner institutions, their yearly issuance quotas and the staff allowances carved from them.

An institution's annual quota is strictly enforced without a shared counter on the earning path: the
quota pool is written only when the district or the institution's manager allocates part of it to a
staff identity, and an earning touches only the attesting staff's allowance. So the sum of all
earnings attested for an institution in a year never exceeds its quota, and concurrent earnings by
different staff never conflict.

Every institution names, when it is registered, the one MSP whose identities may act as its staff
(`staff_msp`): the staff attributes are only certificate attributes, which any organisation's CA
could mint, so they count only from that MSP. `set_institution_staff_msp` changes it.
"""

from __future__ import annotations

from typing import Any

from fabric_shim.contract_errors import BadRequest, Conflict, Forbidden

from seocho_coin import ids, keys, roles
from seocho_coin.records import Allowance, Institution, QuotaPool, decode
from seocho_coin.txn import Tx, client_digest


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


def set_institution_staff_msp(tx: Tx, institution_id: str, msp_id: str) -> dict[str, Any]:
    """Change the MSP whose identities may act as the institution's staff and managers (admin)."""
    ids.require_id("institution_id", institution_id)
    ids.require_id("msp_id", msp_id)
    roles.require_district_role(tx, roles.ADMIN)
    institution = tx.require(Institution, keys.institution(institution_id), f"institution {institution_id}")
    institution.staff_msp = msp_id
    tx.put(keys.institution(institution_id), institution)
    return _view(institution)


def set_annual_quota(tx: Tx, institution_id: str, year: str, quota: int) -> dict[str, Any]:
    """Set one year's quota (admin); it can never drop below what is already allocated."""
    ids.require_id("institution_id", institution_id)
    ids.require_year("year", year)
    ids.require_amount("quota", quota, minimum=0)
    roles.require_district_role(tx, roles.ADMIN)
    institution = roles.active_institution(tx, institution_id)
    pool = _pool(tx, institution, year)
    if quota < pool.allocated:
        raise Conflict(f"{pool.allocated} coins of {year} are already allocated; the quota cannot be lower")
    pool.quota = quota
    tx.put(keys.quota(institution_id, year), pool)
    return _pool_view(pool)


def allocate_allowance(
    tx: Tx, institution_id: str, staff_client_id: str, year: str, coins: int
) -> dict[str, Any]:
    """Give a staff identity `coins` more to attest in `year` (admin, or a manager of the institution)."""
    ids.require_id("institution_id", institution_id)
    ids.require_client_id("staff_client_id", staff_client_id)
    ids.require_year("year", year)
    ids.require_amount("coins", coins)
    if not roles.has_district_role(tx, roles.ADMIN):
        roles.require_staff_of(tx, institution_id, manager=True)
    institution = roles.active_institution(tx, institution_id)
    if year < tx.policy.local_year(tx.now):
        raise BadRequest(f"year {year} is over; allowances can only be given for this year or later")
    pool = _pool(tx, institution, year)
    if pool.allocated + coins > pool.quota:
        raise Conflict(
            f"institution {institution_id} has {pool.quota - pool.allocated} coins left to allocate in {year}"
        )
    digest = client_digest(staff_client_id)
    key = keys.allowance(institution_id, year, digest)
    allowance = tx.get(Allowance, key) or Allowance(institution_id, year, digest)
    allowance.allocated += coins
    pool.allocated += coins
    tx.put(key, allowance)
    tx.put(keys.quota(institution_id, year), pool)
    return {
        "institution_id": institution_id,
        "year": year,
        "staff_digest": digest,
        "allocated": allowance.allocated,
        "used": allowance.used,
        "remaining": allowance.remaining,
        "quota": pool.quota,
        "unallocated": pool.quota - pool.allocated,
    }


def get_allowance(tx: Tx, institution_id: str, staff_client_id: str, year: str) -> dict[str, Any]:
    """A staff allowance: the staff itself, managers of the institution, admin, auditor."""
    ids.require_id("institution_id", institution_id)
    ids.require_client_id("staff_client_id", staff_client_id)
    ids.require_year("year", year)
    own = roles.is_staff_of(tx, institution_id) and tx.caller.id == staff_client_id
    manager = roles.is_staff_of(tx, institution_id) and tx.caller.is_manager
    if not (own or manager or roles.has_district_role(tx, roles.ADMIN, roles.AUDITOR)):
        raise Forbidden("only the staff itself, its managers, an admin or an auditor may read an allowance")
    digest = client_digest(staff_client_id)
    allowance = tx.get(Allowance, keys.allowance(institution_id, year, digest)) or Allowance(
        institution_id, year, digest
    )
    return {
        "institution_id": institution_id,
        "year": year,
        "staff_digest": digest,
        "allocated": allowance.allocated,
        "used": allowance.used,
        "remaining": allowance.remaining,
    }


def get_institution(tx: Tx, institution_id: str) -> dict[str, Any]:
    """Public within the channel: apps list where members can earn, pay and donate."""
    ids.require_id("institution_id", institution_id)
    institution = tx.require(Institution, keys.institution(institution_id), f"institution {institution_id}")
    return _view(institution)


def list_institutions(tx: Tx) -> list[dict[str, Any]]:
    return [_view(decode(Institution, raw)) for _key, raw in tx.scan(keys.INSTITUTION, [])]


def _pool(tx: Tx, institution: Institution, year: str) -> QuotaPool:
    found = tx.get(QuotaPool, keys.quota(institution.institution_id, year))
    return found or QuotaPool(institution.institution_id, year, institution.annual_quota)


def _pool_view(pool: QuotaPool) -> dict[str, Any]:
    return {
        "institution_id": pool.institution_id,
        "year": pool.year,
        "quota": pool.quota,
        "allocated": pool.allocated,
        "unallocated": pool.quota - pool.allocated,
    }


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
