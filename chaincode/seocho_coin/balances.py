"""A member's balance: coins kept as lots by local earning year and earning policy version.

A lot's key is ``<local year>/v<policy version>`` ("2024/v3"): the coins the member earned in that
local year under that policy version. The version keeps the rule the coins were earned under, so a
lot expires as its own version's `expiry_years` says, whatever the version in force says later:
coins that expired do not come back when a later version drops expiry, and coins earned without
expiry do not start to expire when a later version adds it, whether or not `expire_coins` has
recorded the expiry yet. Lots written before versions were kept ("2024") carry no rule and follow
the version in force, as all lots once did.

Spending takes the coins that expire first (then the oldest); with one expiry rule that is simply
oldest first. Only the member's own transactions (earnings for them, their payments, donations and
expiry) touch the member's balance key, so movements of different members never conflict.
"""

from __future__ import annotations

from fabric_shim.contract_errors import Conflict

from seocho_coin import keys, timing
from seocho_coin.policy import Policy
from seocho_coin.records import Balance
from seocho_coin.txn import Tx

VERSION_MARK = "/v"
NEVER = 10**6
"""A last valid year beyond any real one, for lots that never expire (spend order only)."""


def lot_key(year: str, version: int) -> str:
    return f"{year}{VERSION_MARK}{version}"


def load(tx: Tx, member_id: str) -> Balance:
    return tx.get(Balance, keys.balance(member_id)) or Balance(member_id)


def load_for_movement(tx: Tx, member_id: str) -> Balance:
    """The balance a coin movement will change, after the per-member monotonic time check (409)."""
    balance = load(tx, member_id)
    timing.claim_movement_time(tx, balance)
    return balance


def save(tx: Tx, balance: Balance) -> None:
    tx.put(keys.balance(balance.member_id), balance)


def _rule(tx: Tx, lot: str) -> tuple[str, int, Policy]:
    """The lot's earning year, its version (0 for a lot without one) and the policy that rules it."""
    year, mark, version = lot.partition(VERSION_MARK)
    if not mark:
        return year, 0, tx.policy
    return year, int(version), tx.policy_version(int(version))


def is_expired(tx: Tx, lot: str) -> bool:
    year, _version, policy = _rule(tx, lot)
    return policy.is_lot_expired(year, tx.now)


def _spend_order(tx: Tx, lot: str) -> tuple[int, str, int]:
    year, version, policy = _rule(tx, lot)
    last_valid_year = NEVER if policy.expiry_years is None else int(year) + policy.expiry_years
    return last_valid_year, year, version


def spendable(tx: Tx, balance: Balance) -> int:
    """Coins not past the expiry of the rule they were earned under."""
    return sum(c for lot, c in balance.lots.items() if not is_expired(tx, lot))


def expired_lots(tx: Tx, balance: Balance) -> dict[str, int]:
    return {lot: c for lot, c in balance.lots.items() if c > 0 and is_expired(tx, lot)}


def credit(tx: Tx, balance: Balance, coins: int) -> None:
    """Add `coins` earned now, under the policy in force, to the lot of this year and version."""
    policy = tx.policy
    year = policy.local_year(tx.now)
    lot = lot_key(year, policy.version)
    balance.lots[lot] = balance.lots.get(lot, 0) + coins
    balance.earned_by_year[year] = balance.earned_by_year.get(year, 0) + coins
    balance.earned_total += coins


def debit(tx: Tx, balance: Balance, coins: int) -> None:
    """Take `coins` from the unexpired lots that expire first; 409 when they do not cover it."""
    available = spendable(tx, balance)
    if coins > available:
        raise Conflict(f"insufficient balance: {available} coins available, {coins} needed")
    remaining = coins
    for lot in sorted(balance.lots, key=lambda lot: _spend_order(tx, lot)):
        if remaining == 0:
            break
        if is_expired(tx, lot):
            continue
        taken = min(balance.lots[lot], remaining)
        balance.lots[lot] -= taken
        remaining -= taken
    balance.lots = {lot: c for lot, c in balance.lots.items() if c > 0}
