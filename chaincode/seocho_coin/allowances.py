"""Yearly issuance quotas and the staff allowances carved from them.

An institution's annual quota is strictly enforced without a shared counter on the earning path: the
quota pool (`quota~<institution>~<year>`) is written only when the district sets the quota or when
the district or the institution's manager allocates part of it to a staff identity, or reclaims an
unused part; an earning touches only the attesting staff's allowance. So the sum of all earnings
attested for an institution in a year never exceeds its quota, and concurrent earnings by different
staff never conflict.

Invariants, for every institution and year (proved by `tests/coin/test_coin_allowance_properties.py`):
Σ allowance.allocated = pool.allocated ≤ pool.quota, and 0 ≤ allowance.used ≤ allowance.allocated.
An allowance's `allocated` is what the staff holds now (given minus reclaimed); `reclaimed` keeps
the total taken back, for the record. Reclaiming moves issuance capacity only, never coins, so it
emits no event.
"""

from __future__ import annotations

from typing import Any

from fabric_shim.contract_errors import BadRequest, Conflict, Forbidden

from seocho_coin import ids, keys, roles
from seocho_coin.records import Allowance, Institution, QuotaPool
from seocho_coin.txn import Tx, client_digest


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
    institution, pool, key, allowance = _load_for_change(tx, institution_id, staff_client_id, year, coins)
    if pool.allocated + coins > pool.quota:
        raise Conflict(
            f"institution {institution_id} has {pool.quota - pool.allocated} coins left to allocate in {year}"
        )
    allowance.allocated += coins
    pool.allocated += coins
    tx.put(key, allowance)
    tx.put(keys.quota(institution.institution_id, year), pool)
    return _allowance_view(allowance) | _pool_summary(pool)


def reclaim_allowance(
    tx: Tx, institution_id: str, staff_client_id: str, year: str, coins: int
) -> dict[str, Any]:
    """Return `coins` of a staff identity's unused allowance to the institution's pool for `year`.

    Same callers and year rule as `allocate_allowance` (e.g. when the staff leaves); 409 when the
    allowance has fewer than `coins` unused.
    """
    institution, pool, key, allowance = _load_for_change(tx, institution_id, staff_client_id, year, coins)
    if coins > allowance.remaining:
        raise Conflict(f"the staff's {year} allowance has {allowance.remaining} unused coins, not {coins}")
    allowance.allocated -= coins
    allowance.reclaimed += coins
    pool.allocated -= coins
    pool.reclaimed += coins
    tx.put(key, allowance)
    tx.put(keys.quota(institution.institution_id, year), pool)
    return _allowance_view(allowance) | _pool_summary(pool)


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
    return _allowance_view(allowance)


def _load_for_change(
    tx: Tx, institution_id: str, staff_client_id: str, year: str, coins: int
) -> tuple[Institution, QuotaPool, str, Allowance]:
    """Validate and authorise an allocation or reclaim; the pool, the allowance key and the allowance."""
    ids.require_id("institution_id", institution_id)
    ids.require_client_id("staff_client_id", staff_client_id)
    ids.require_year("year", year)
    ids.require_amount("coins", coins)
    if not roles.has_district_role(tx, roles.ADMIN):
        roles.require_staff_of(tx, institution_id, manager=True)
    institution = roles.active_institution(tx, institution_id)
    if year < tx.policy.local_year(tx.now):
        # Earnings draw on the current year only, so a past year's figures are final.
        raise BadRequest(f"year {year} is over; allowances can only change for this year or later")
    pool = _pool(tx, institution, year)
    digest = client_digest(staff_client_id)
    key = keys.allowance(institution_id, year, digest)
    allowance = tx.get(Allowance, key) or Allowance(institution_id, year, digest)
    return institution, pool, key, allowance


def _pool(tx: Tx, institution: Institution, year: str) -> QuotaPool:
    found = tx.get(QuotaPool, keys.quota(institution.institution_id, year))
    return found or QuotaPool(institution.institution_id, year, institution.annual_quota)


def _pool_view(pool: QuotaPool) -> dict[str, Any]:
    return {
        "institution_id": pool.institution_id,
        "year": pool.year,
        "quota": pool.quota,
        "allocated": pool.allocated,
        "reclaimed": pool.reclaimed,
        "unallocated": pool.quota - pool.allocated,
    }


def _pool_summary(pool: QuotaPool) -> dict[str, Any]:
    return {"quota": pool.quota, "unallocated": pool.quota - pool.allocated}


def _allowance_view(allowance: Allowance) -> dict[str, Any]:
    return {
        "institution_id": allowance.institution_id,
        "year": allowance.year,
        "staff_digest": allowance.staff_digest,
        "allocated": allowance.allocated,
        "used": allowance.used,
        "remaining": allowance.remaining,
        "reclaimed": allowance.reclaimed,
    }
