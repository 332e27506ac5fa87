"""Proposal timestamps: why the coin checks them twice, and how.

Every time-dependent rule (the policy version in force, the daily hour cap, the earning year and
its cap, lot expiry, payment-request expiry) reads the transaction's timestamp, and that timestamp
is chosen by the client: Fabric copies it from the signed proposal and never compares it with any
clock. A staff terminal could forward- or back-date earnings into another day or year to dodge the
daily and yearly caps; a member could back-date a payment to spend lots that have already expired.

1. Clock skew at endorsement (`require_fresh_timestamp`). The endorsing peer refuses (400) a
   proposal whose timestamp lies more than `max_clock_skew_seconds` (default 300) from its own
   clock. Only this accept/refuse decision depends on the peer's clock; nothing written ever
   does, so every endorser that accepts writes the same bytes. Peers' clocks must be NTP-synced;
   peers whose clocks disagree by more than the allowance may refuse each other's honest
   proposals, which shows up as an endorsement failure, never as a divergent write.

   The allowance is that of the policy in force at the PEER's clock, not at the proposal's
   timestamp: the timestamp is what is being checked, so it cannot choose its own judge. Judged
   by the policy at its own timestamp, a proposal stamped inside a version that starts later
   (say in two hours, with a one-day allowance) would pass under that future allowance, earn at
   the future rates early and push the member's `last_movement_at` ahead; and a tightened
   allowance would not bind back-dated proposals until the old version's time had passed.
   "The peer's clock" is the chaincode process's wall clock at endorsement: Fabric hands the
   chaincode no peer time, and the chaincode server runs next to its peer (same host or pod,
   same NTP), so this is the closest reading of it there is. Near a version's start, endorsers
   whose clocks straddle it read different policy versions for the check, so their read sets
   (and endorsements) may differ: again an endorsement failure the client retries, never a
   divergent write.
2. Monotonic time per member (`claim_movement_time`). A member's balance record keeps the
   timestamp of the member's latest coin movement, and a movement stamped earlier is refused
   (409). Within the skew allowance a client could still pick its moment, but never one before a
   movement the member already made: once a member has earned on the new day, no earning can be
   slipped into yesterday's cap. The balance key is read and written by every movement of the
   member anyway, so this adds no key and no contention.

What remains: a client may still place a movement up to `max_clock_skew_seconds` away from the
true time when the member has not moved since (for example a payment a few minutes before a lot
expires at midnight). The policy bounds that window; keep it small.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from fabric_shim.contract_errors import BadRequest, Conflict

from seocho_coin.records import Balance
from seocho_coin.txn import Tx

Clock = Callable[[], datetime]
"""The endorsing peer's wall clock, as an aware datetime."""

DEFAULT_MAX_CLOCK_SKEW_SECONDS = 300
"""The allowance before any policy is in force (e.g. for `init_ledger`)."""


def utc_now() -> datetime:
    """The system clock in UTC: the default `Clock`."""
    return datetime.now(UTC)


def require_fresh_timestamp(tx: Tx, peer_now: datetime) -> None:
    """400 when the proposal's timestamp is further from `peer_now` than the policy in force AT
    `peer_now` allows (the default allowance while no version is in force there)."""
    policy = tx.policy_at(peer_now)
    limit = DEFAULT_MAX_CLOCK_SKEW_SECONDS if policy is None else policy.max_clock_skew_seconds
    skew = (tx.now - peer_now).total_seconds()
    if abs(skew) > limit:
        direction = "ahead of" if skew > 0 else "behind"
        raise BadRequest(
            f"the proposal timestamp {tx.timestamp} is {abs(skew):.0f} s {direction} the endorsing "
            f"peer's clock (at most {limit} s allowed); check the client's clock and retry"
        )


def claim_movement_time(tx: Tx, balance: Balance) -> None:
    """409 when the member already moved coins later than this transaction's timestamp; else claim it."""
    if balance.last_movement_at and tx.timestamp < balance.last_movement_at:
        raise Conflict(
            f"member {balance.member_id} already has a coin movement at {balance.last_movement_at}, "
            f"after this transaction's timestamp {tx.timestamp}; retry with the current time"
        )
    balance.last_movement_at = tx.timestamp
