"""Earning: staff of an institution attest a member's deed and the member is credited at the policy rate.

Checks, in order: arguments; the caller is staff of an active institution allowed the activity; the
request id is new for that institution; the member is registered, active and eligible; the daily hour
cap (hourly activities), yearly cap and balance cap; the staff's allowance for the year. Keys written:
one lane of the staff's allowance (`lane`, or one picked by the request id's hash: see
`seocho_coin.lanes`), the member's balance and day-hours, the request claim and blind delta rows.
So earnings entered at once by one staff member conflict only when they name the same member or lane.
"""

from __future__ import annotations

from typing import Any

from fabric_shim.contract_errors import Conflict, Forbidden, NotFound

from seocho_coin import allowances, balances, census, events, ids, keys, lanes, request_ids, roles
from seocho_coin.records import DailyHours, Member, RequestClaim, Tally
from seocho_coin.txn import Tx


def earn(
    tx: Tx,
    member_id: str,
    activity: str,
    quantity: int,
    evidence_hash: str,
    request_id: str,
    lane: int = lanes.AUTO,
) -> dict[str, Any]:
    ids.require_id("member_id", member_id)
    ids.require_code("activity", activity)
    ids.require_amount("quantity", quantity, maximum=10_000)
    ids.require_sha256_hex("evidence_hash", evidence_hash)
    ids.require_id("request_id", request_id)
    index = lanes.lane_index(lane, request_id)
    institution = roles.require_staff(tx)
    institution_id = institution.institution_id
    policy = tx.policy
    rule = policy.activity(activity)
    if activity not in institution.activities:
        raise Forbidden(f"institution {institution_id} may not attest {activity}")

    claim_key = request_ids.require_new(tx, institution_id, request_id)

    member = tx.get(Member, keys.member(member_id))
    if member is None:
        raise NotFound(f"member {member_id} does not exist")
    if not member.active:
        raise Conflict(f"member {member_id} is deactivated")
    if not policy.is_eligible(activity, member.categories):
        raise Forbidden(f"member {member_id} is not eligible for {activity} under policy {policy.version}")

    coins = rule.coins_per_unit * quantity
    year = policy.local_year(tx.now)
    balance = balances.load_for_movement(tx, member_id)
    caps = policy.caps
    if (
        caps.yearly_earning_cap is not None
        and balance.earned_by_year.get(year, 0) + coins > caps.yearly_earning_cap
    ):
        raise Conflict(f"yearly earning cap of {caps.yearly_earning_cap} coins would be exceeded")
    if caps.balance_cap is not None and balance.total + coins > caps.balance_cap:
        raise Conflict(f"balance cap of {caps.balance_cap} coins would be exceeded")

    hours: DailyHours | None = None
    if rule.counts_toward_daily_hours:
        date = policy.local_date(tx.now)
        hours = tx.get(DailyHours, keys.hours(member_id, date)) or DailyHours(member_id, date)
        limit = caps.daily_volunteer_hours
        if limit is not None and hours.hours + quantity > limit:
            raise Conflict(
                f"daily cap of {limit} hours would be exceeded ({hours.hours} already counted on {date})"
            )
        hours.hours += quantity

    allowance = allowances.allowance_budget(tx, institution_id, year, tx.caller.digest)
    if not allowance.draw(index, coins):
        left = allowance.totals().free
        raise Conflict(f"the attesting staff's {year} allowance has {left} coins left, {coins} needed")

    if balance.earned_total == 0:
        census.record(tx, Tally(participants=1))  # the member's first earning
    balances.credit(tx, balance, coins)
    balances.save(tx, balance)
    if hours is not None:
        tx.put(keys.hours(member_id, hours.date), hours)
    tx.put(claim_key, RequestClaim(institution_id, request_id, events.EARN, tx.tx_id))
    return events.record_movement(
        tx,
        events.EARN,
        coins,
        coins * policy.coin_value_krw,
        member_id=member_id,
        institution_id=institution_id,
        activity=activity,
        extra={
            "quantity": quantity,
            "unit": rule.unit,
            "evidence_hash": evidence_hash,
            "request_id": request_id,
        },
    )
