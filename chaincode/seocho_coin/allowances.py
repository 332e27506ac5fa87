"""Yearly issuance quotas and the staff allowances carved from them.

An institution's annual quota is strictly enforced without a shared counter on the earning path: the
quota pool is written only when the district sets the quota or when the district or the
institution's manager allocates part of it to a staff identity, or reclaims an unused part; an
earning touches only the attesting staff's allowance. So the sum of all earnings attested for an
institution in a year never exceeds its quota.

Both the pool and each allowance are budgets split into `lanes.LANES` lanes (see `seocho_coin.lanes`
for why): an earning draws on ONE lane of its staff's allowance and an allocation on ONE lane of the
pool, so 50 earnings entered at once by one operator, or 50 allocations made at once by the admin,
commit in one block without MVCC conflicts when each names its own lane (or, by default, spread by
their ids' hashes). An allocation spreads the coins it gives over every lane of the staff's allowance,
so every lane can draw; a lane that runs short borrows free capacity from the others.

Invariants, for every institution and year (over the sums of the lanes):
Σ allowance.allocated = pool.allocated ≤ pool.quota, and 0 ≤ allowance.used ≤ allowance.allocated
(and so lane by lane: 0 ≤ used ≤ allocated). An allowance's `allocated` is what the staff holds now
(given minus reclaimed); `reclaimed` keeps the total taken back, for the record. Reclaiming moves
issuance capacity only, never coins, so it emits no event.
"""

from __future__ import annotations

import json
from typing import Any

from fabric_shim.contract_errors import BadRequest, Conflict, Forbidden

from seocho_coin import ids, keys, lanes, roles
from seocho_coin.lanes import Budget, Totals
from seocho_coin.records import AllowanceLane, Institution, QuotaLane
from seocho_coin.txn import Tx, client_digest


def set_annual_quota(tx: Tx, institution_id: str, year: str, quota: int) -> dict[str, Any]:
    """Set one year's quota (admin); it can never drop below what is already allocated."""
    ids.require_id("institution_id", institution_id)
    ids.require_year("year", year)
    ids.require_amount("quota", quota, minimum=0)
    roles.require_district_role(tx, roles.ADMIN)
    institution = roles.active_institution(tx, institution_id)
    pool = pool_budget(tx, institution, year)
    totals = pool.totals()
    if quota < totals.taken:
        raise Conflict(f"{totals.taken} coins of {year} are already allocated; the quota cannot be lower")
    return _pool_view(institution_id, year, pool.set_limit(quota))


def allocate_allowance(
    tx: Tx, institution_id: str, staff_client_id: str, year: str, coins: int, lane: int = lanes.AUTO
) -> dict[str, Any]:
    """Give a staff identity `coins` more to attest in `year` (admin, or a manager of the institution).

    The coins come from lane `lane` of the pool (AUTO: picked by the transaction id's hash): an
    admin allocating to many staff at once gives each allocation its own lane.
    """
    institution, digest = _authorise_change(tx, institution_id, staff_client_id, year, coins)
    index = lanes.lane_index(lane, tx.tx_id)
    pool = pool_budget(tx, institution, year)
    if not pool.draw(index, coins):
        left = pool.totals().free
        raise Conflict(f"institution {institution_id} has {left} coins left to allocate in {year}")
    allowance = allowance_budget(tx, institution_id, year, digest).grow(coins)
    return _allowance_view(institution_id, year, digest, allowance) | _pool_summary_lane(pool, index)


def reclaim_allowance(
    tx: Tx, institution_id: str, staff_client_id: str, year: str, coins: int
) -> dict[str, Any]:
    """Return `coins` of a staff identity's unused allowance to the institution's pool for `year`.

    Same callers and year rule as `allocate_allowance` (e.g. when the staff leaves); 409 when the
    allowance has fewer than `coins` unused. It reads every lane of both budgets (it is rare).
    """
    institution, digest = _authorise_change(tx, institution_id, staff_client_id, year, coins)
    allowance = allowance_budget(tx, institution_id, year, digest)
    remaining = allowance.totals().free
    if coins > remaining:
        raise Conflict(f"the staff's {year} allowance has {remaining} unused coins, not {coins}")
    after = allowance.shrink_free(coins)
    pool = pool_budget(tx, institution, year).release(coins)
    return _allowance_view(institution_id, year, digest, after) | _pool_summary(pool)


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
    totals = allowance_budget(tx, institution_id, year, digest).totals()
    return _allowance_view(institution_id, year, digest, totals)


def allowance_budget(tx: Tx, institution_id: str, year: str, digest: str) -> Budget[AllowanceLane]:
    """A staff identity's allowance for `year` (lanes start empty: an allocation fills them)."""
    return Budget(
        tx,
        AllowanceLane,
        lambda i: keys.allowance_lane(institution_id, year, digest, i),
        lambda i: AllowanceLane(institution_id, year, digest, i),
        limit_field="allocated",
        taken_field="used",
        legacy_key=keys.allowance(institution_id, year, digest),
        legacy=lambda raw: _legacy(raw, "allocated", "used"),
    )


def pool_budget(tx: Tx, institution: Institution, year: str) -> Budget[QuotaLane]:
    """An institution's quota pool for `year`; unwritten lanes hold their share of the annual quota."""
    institution_id = institution.institution_id
    return Budget(
        tx,
        QuotaLane,
        lambda i: keys.quota_lane(institution_id, year, i),
        lambda i: QuotaLane(institution_id, year, i, lanes.share(institution.annual_quota, i)),
        limit_field="quota",
        taken_field="allocated",
        legacy_key=keys.quota(institution_id, year),
        legacy=lambda raw: _legacy(raw, "quota", "allocated"),
    )


def _legacy(raw: bytes, limit: str, taken: str) -> tuple[int, int, int]:
    data = json.loads(raw)
    return int(data.get(limit, 0)), int(data.get(taken, 0)), int(data.get("reclaimed", 0))


def _authorise_change(
    tx: Tx, institution_id: str, staff_client_id: str, year: str, coins: int
) -> tuple[Institution, str]:
    """Validate and authorise an allocation or reclaim; the institution and the staff's digest."""
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
    return institution, client_digest(staff_client_id)


def _pool_view(institution_id: str, year: str, pool: Totals) -> dict[str, Any]:
    return {
        "institution_id": institution_id,
        "year": year,
        "quota": pool.limit,
        "allocated": pool.taken,
        "reclaimed": pool.reclaimed,
        "unallocated": pool.free,
    }


def _pool_summary(pool: Totals) -> dict[str, Any]:
    return {"quota": pool.limit, "unallocated": pool.free}


def _pool_summary_lane(pool: Budget[QuotaLane], lane: int) -> dict[str, Any]:
    """The pool lane drawn on, without reading the others (which would make allocations conflict)."""
    record = pool.tx.get(QuotaLane, pool.key(lane))
    assert record is not None  # just written by the draw
    return {"lane": lane, "lane_unallocated": record.quota - record.allocated}


def _allowance_view(institution_id: str, year: str, digest: str, allowance: Totals) -> dict[str, Any]:
    return {
        "institution_id": institution_id,
        "year": year,
        "staff_digest": digest,
        "allocated": allowance.limit,
        "used": allowance.taken,
        "remaining": allowance.free,
        "reclaimed": allowance.reclaimed,
    }
