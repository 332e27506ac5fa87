"""An independent model of the coin rules, for the model-based test (`test_coin_model_based.py`).

Written from the rules as the README and the issues state them, not from the chaincode: plain
dictionaries of lots, receipts, request ids, allowances and statistics rows. Each operation returns
the status the chaincode must answer (checks in the order the rules apply them) and, only when that
is 200, applies its effect. The world is `coin_network.build_world`'s: members M-001 and M-002,
cc-01 (attests volunteering and courses, sells and, made so by the test, takes donations: then
donations and kiosk requests share its request ids), charity-01 (takes donations), staff `cc_staff`
with a 1,000-coin allowance for the first year (the pool of cc-01 has 3,000 of 100,000 allocated).
Every policy version keeps Korea's UTC offset, a 300 s clock-skew allowance and no caps but 8
volunteer hours a day; versions change the coin value, the payment unit and expiry.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

LOCAL_OFFSET = timedelta(hours=9)
RATES = {"volunteer_hour": 3, "course_session": 1}
HOURLY = {"volunteer_hour"}
DAILY_HOURS = 8
QUOTA = 100_000
PRICE = 100_000
"""Every payment's price in KRW: always above the coins' value, so the cash part is never negative."""
SETTLEMENT_MARGIN = timedelta(seconds=60)
NEVER = 10**6

MEMBERS = ("M-001", "M-002")
SELLER = "cc-01"
CHARITY = "charity-01"


def local(moment: datetime) -> datetime:
    return moment.astimezone(UTC) + LOCAL_OFFSET


def local_year(moment: datetime) -> int:
    return local(moment).year


def local_month(moment: datetime) -> str:
    return local(moment).strftime("%Y-%m")


@dataclass(frozen=True)
class Version:
    number: int
    starts: datetime
    coin_value: int = 200
    payment_unit: int = 1
    expiry_years: int | None = None


@dataclass
class Receipt:
    at: datetime
    coins: int
    krw: int


@dataclass
class KioskRequest:
    coins: int
    expires_at: datetime
    coin_value: int
    payment_unit: int
    paid: bool = False


@dataclass
class Allowance:
    allocated: int = 0
    used: int = 0


@dataclass
class CoinModel:
    versions: list[Version]
    lots: dict[str, dict[tuple[int, int], int]] = field(default_factory=lambda: {m: {} for m in MEMBERS})
    hours: dict[tuple[str, str], int] = field(default_factory=dict)
    claimed: dict[str, set[str]] = field(default_factory=lambda: {SELLER: set(), CHARITY: set()})
    kiosk: dict[str, KioskRequest] = field(default_factory=dict)
    receipts: dict[str, list[Receipt]] = field(default_factory=lambda: {SELLER: [], CHARITY: []})
    flows: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(("earned", "spent", "donated", "redeemed", "expired"), 0)
    )
    inactive: set[str] = field(default_factory=set)
    """Deactivated members and institutions."""
    allowances: dict[int, Allowance] = field(default_factory=dict)
    """`cc_staff`'s allowance by year."""
    pool: dict[int, int] = field(default_factory=dict)
    """Coins of cc-01's quota allocated to staff, by year."""
    stat_rows: dict[str, list[datetime]] = field(default_factory=dict)
    """The stamps of the not yet compacted delta rows (statistics and tallies) by local month."""
    participants: set[str] = field(default_factory=set)
    """Members who have earned (a first earning writes a tally row)."""

    @classmethod
    def of_world(cls, start: datetime) -> CoinModel:
        year = local_year(start)
        return cls(
            versions=[Version(1, datetime(2022, 12, 31, 15, tzinfo=UTC))],
            allowances={year: Allowance(1_000)},
            pool={year: 3_000},
        )

    # ---- derived --------------------------------------------------------------------------------

    def version_at(self, moment: datetime) -> Version:
        return [v for v in self.versions if v.starts <= moment][-1]

    def _rule_of(self, lot: tuple[int, int]) -> Version:
        return self.versions[lot[1] - 1]

    def is_expired(self, lot: tuple[int, int], moment: datetime) -> bool:
        years = self._rule_of(lot).expiry_years
        return years is not None and local_year(moment) > lot[0] + years

    def spendable(self, member: str, moment: datetime) -> int:
        return sum(c for lot, c in self.lots[member].items() if not self.is_expired(lot, moment))

    def total(self, member: str) -> int:
        return sum(self.lots[member].values())

    def unredeemed(self, institution: str) -> tuple[int, int]:
        rows = self.receipts[institution]
        return sum(r.coins for r in rows), sum(r.krw for r in rows)

    def months(self) -> list[str]:
        return sorted(self.stat_rows)

    def _row(self, moment: datetime) -> None:
        self.stat_rows.setdefault(local_month(moment), []).append(moment)

    def _debit(self, member: str, coins: int, moment: datetime) -> None:
        """Take the coins that expire first (then the oldest lots)."""

        def order(lot: tuple[int, int]) -> tuple[int, int, int]:
            years = self._rule_of(lot).expiry_years
            return (NEVER if years is None else lot[0] + years, lot[0], lot[1])

        lots = self.lots[member]
        for lot in sorted(lots, key=order):
            if coins == 0:
                break
            if self.is_expired(lot, moment):
                continue
            taken = min(lots[lot], coins)
            lots[lot] -= taken
            coins -= taken
        self.lots[member] = {lot: c for lot, c in lots.items() if c > 0}

    def _receive(self, institution: str, member: str, coins: int, moment: datetime) -> None:
        self._debit(member, coins, moment)
        self.receipts[institution].append(Receipt(moment, coins, coins * self.version_at(moment).coin_value))
        self._row(moment)

    # ---- operations: each returns the expected status and applies the effect on 200 ----------------

    def earn(self, t: datetime, member: str, activity: str, quantity: int, request: str) -> int:
        if SELLER in self.inactive:
            return 403
        if request in self.claimed[SELLER] or request in self.kiosk:
            return 409
        if member in self.inactive:
            return 409
        coins = RATES[activity] * quantity
        day = (member, local(t).strftime("%Y-%m-%d"))
        if activity in HOURLY and self.hours.get(day, 0) + quantity > DAILY_HOURS:
            return 409
        year = local_year(t)
        allowance = self.allowances.get(year)
        if allowance is None or allowance.allocated - allowance.used < coins:
            return 409
        allowance.used += coins
        if activity in HOURLY:
            self.hours[day] = self.hours.get(day, 0) + quantity
        lot = (year, self.version_at(t).number)
        self.lots[member][lot] = self.lots[member].get(lot, 0) + coins
        self.claimed[SELLER].add(request)
        self.flows["earned"] += coins
        self._row(t)
        if member not in self.participants:
            self.participants.add(member)
            self._row(t)  # the tally row of a first earning
        return 200

    def pay(self, t: datetime, member: str, coins: int, request: str) -> int:
        if member in self.inactive:
            return 403
        if SELLER in self.inactive:
            return 404
        if request in self.kiosk:
            return 409
        if coins % self.version_at(t).payment_unit:
            return 400
        if request in self.claimed[SELLER] or coins > self.spendable(member, t):
            return 409
        self._receive(SELLER, member, coins, t)
        self.claimed[SELLER].add(request)
        self.flows["spent"] += coins
        return 200

    def donate(self, t: datetime, member: str, institution: str, coins: int, request: str) -> int:
        if member in self.inactive:
            return 403
        if institution in self.inactive:
            return 404
        if coins % self.version_at(t).payment_unit:
            return 400
        if request in self.claimed[institution] or (institution == SELLER and request in self.kiosk):
            return 409
        if coins > self.spendable(member, t):
            return 409
        self._receive(institution, member, coins, t)
        self.claimed[institution].add(request)
        self.flows["donated"] += coins
        return 200

    def create_request(self, t: datetime, request: str, coins: int, expires_at: datetime) -> int:
        version = self.version_at(t)
        if SELLER in self.inactive:
            return 403
        if expires_at <= t or coins % version.payment_unit:
            return 400
        if request in self.kiosk or request in self.claimed[SELLER]:
            return 409
        self.kiosk[request] = KioskRequest(coins, expires_at, version.coin_value, version.payment_unit)
        return 200

    def pay_request(self, t: datetime, request: str, member: str) -> int:
        if member in self.inactive:
            return 403
        kiosk = self.kiosk.get(request)
        if kiosk is None:
            return 404
        version = self.version_at(t)
        if kiosk.paid or kiosk.expires_at <= t:
            return 409
        if (kiosk.coin_value, kiosk.payment_unit) != (version.coin_value, version.payment_unit):
            return 409
        if SELLER in self.inactive:
            return 404
        if request in self.claimed[SELLER] or kiosk.coins > self.spendable(member, t):
            return 409
        self._receive(SELLER, member, kiosk.coins, t)
        self.claimed[SELLER].add(request)
        kiosk.paid = True
        self.flows["spent"] += kiosk.coins
        return 200

    def settle(self, t: datetime, institution: str) -> tuple[int, tuple[int, int]]:
        """Status and (coins, krw) redeemed: the receipts stamped before the margin."""
        cutoff = t - SETTLEMENT_MARGIN
        due = [r for r in self.receipts[institution] if r.at < cutoff]
        if not due:
            return 409, (0, 0)
        self.receipts[institution] = [r for r in self.receipts[institution] if r.at >= cutoff]
        coins, krw = sum(r.coins for r in due), sum(r.krw for r in due)
        self.flows["redeemed"] += coins
        self._row(t)
        return 200, (coins, krw)

    def expire(self, t: datetime, member: str) -> int:
        expired = {lot: c for lot, c in self.lots[member].items() if self.is_expired(lot, t)}
        if not expired:
            return 409
        for lot in expired:
            del self.lots[member][lot]
        self.flows["expired"] += sum(expired.values())
        self._row(t)
        return 200

    def set_policy(self, t: datetime, changes: dict[str, int | None]) -> int:
        latest = self.versions[-1]
        self.versions.append(
            replace(
                latest,
                number=latest.number + 1,
                starts=t,
                coin_value=changes.get("coin_value_krw", latest.coin_value) or latest.coin_value,
                payment_unit=changes.get("payment_unit", latest.payment_unit) or latest.payment_unit,
                expiry_years=changes.get("expiry_years", latest.expiry_years),
            )
        )
        return 200

    def change_allowance(self, t: datetime, year: int, coins: int, reclaim: bool) -> int:
        if SELLER in self.inactive:
            return 404
        if year < local_year(t):
            return 400
        allowance = self.allowances.setdefault(year, Allowance())
        if reclaim and coins > allowance.allocated - allowance.used:
            return 409
        if not reclaim and self.pool.get(year, 0) + coins > QUOTA:
            return 409
        sign = -1 if reclaim else 1
        allowance.allocated += sign * coins
        self.pool[year] = self.pool.get(year, 0) + sign * coins
        return 200

    def compact(self, t: datetime, month: str) -> int:
        """Folds the month's rows stamped before now - 2 × the clock skew allowance (300 s)."""
        if month > local_month(t):
            return 400
        cutoff = t - timedelta(seconds=600)
        rows = self.stat_rows.get(month, [])
        if not any(r < cutoff for r in rows):
            return 409
        self.stat_rows[month] = [r for r in rows if r >= cutoff]
        return 200

    def set_active(self, party: str, active: bool, t: datetime) -> int:
        if (party not in self.inactive) == active:
            return 409
        if party in MEMBERS:
            self._row(t)  # a member's (de)activation changes the counts: a tally row
        if active:
            self.inactive.discard(party)
        else:
            self.inactive.add(party)
        return 200
