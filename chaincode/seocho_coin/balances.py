"""A member's balance: coins kept as lots by local earning year, spent oldest first.

Only the member's own transactions (earnings for them, their payments, donations and expiry) touch
the member's balance key, so movements of different members never conflict.
"""

from __future__ import annotations

from fabric_shim.contract_errors import Conflict

from seocho_coin import keys, timing
from seocho_coin.records import Balance
from seocho_coin.txn import Tx


def load(tx: Tx, member_id: str) -> Balance:
    return tx.get(Balance, keys.balance(member_id)) or Balance(member_id)


def load_for_movement(tx: Tx, member_id: str) -> Balance:
    """The balance a coin movement will change, after the per-member monotonic time check (409)."""
    balance = load(tx, member_id)
    timing.claim_movement_time(tx, balance)
    return balance


def save(tx: Tx, balance: Balance) -> None:
    tx.put(keys.balance(balance.member_id), balance)


def spendable(tx: Tx, balance: Balance) -> int:
    """Coins not past their expiry under the policy in force."""
    return sum(c for year, c in balance.lots.items() if not tx.policy.is_lot_expired(year, tx.now))


def expired_lots(tx: Tx, balance: Balance) -> dict[str, int]:
    return {y: c for y, c in balance.lots.items() if c > 0 and tx.policy.is_lot_expired(y, tx.now)}


def credit(balance: Balance, year: str, coins: int) -> None:
    balance.lots[year] = balance.lots.get(year, 0) + coins
    balance.earned_by_year[year] = balance.earned_by_year.get(year, 0) + coins
    balance.earned_total += coins


def debit(tx: Tx, balance: Balance, coins: int) -> None:
    """Take `coins` from the oldest unexpired lots; 409 when they do not cover it."""
    available = spendable(tx, balance)
    if coins > available:
        raise Conflict(f"insufficient balance: {available} coins available, {coins} needed")
    remaining = coins
    for year in sorted(balance.lots):
        if remaining == 0:
            break
        if tx.policy.is_lot_expired(year, tx.now):
            continue
        taken = min(balance.lots[year], remaining)
        balance.lots[year] -= taken
        remaining -= taken
    balance.lots = {y: c for y, c in balance.lots.items() if c > 0}
