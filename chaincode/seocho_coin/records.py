"""The records the coin stores, and their one deterministic JSON encoding.

Every endorsing peer must write byte-identical values, so records are encoded with sorted keys and no
whitespace, hold only ints, strings, bools, lists and dicts (never floats), and take every timestamp
from the transaction proposal rather than a clock.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from dataclasses import dataclass, field
from typing import Any, TypeVar

R = TypeVar("R")


def encode(record: Any) -> bytes:
    """Deterministic JSON of a record dataclass (or a plain JSON value).

    The same bytes as `json.dumps(dataclasses.asdict(record), ...)`, without asdict's deep copy of
    every field (a sixth of a payment's chaincode time): JSON meets a record, at any depth, as an
    object of its fields.
    """
    return _ENCODER.encode(record).encode("utf-8")


@functools.cache
def _field_names(cls: type) -> tuple[str, ...]:
    """A record class's fields, in order (`dataclasses.fields` walks them again on every call)."""
    return tuple(f.name for f in dataclasses.fields(cls))


def _fields_of(value: Any) -> dict[str, Any]:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {name: getattr(value, name) for name in _field_names(type(value))}
    raise TypeError(f"{type(value).__name__} is not a record")


_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_fields_of)


def decode(cls: type[R], raw: bytes) -> R:
    """The record `cls` stored as `raw`; unknown fields are ignored so old records stay readable."""
    data = json.loads(raw)
    record_class: type = cls  # as a plain class, hashable for the cache
    return cls(**{k: data[k] for k in _field_names(record_class) if k in data})


@dataclass
class Config:
    """Written once by init_ledger: which MSP speaks for the district."""

    district_msp: str
    initialized_tx: str
    initialized_at: str
    schema_version: int = 0
    """The data layout the ledger's rows follow (`seocho_coin.migrations`); 0 = from before versions."""


@dataclass
class Institution:
    institution_id: str
    type: str
    activities: list[str]
    sells_services: bool
    takes_donations: bool
    annual_quota: int
    active: bool
    registered_at: str
    staff_msp: str = ""
    """Only identities of this MSP count as the institution's staff; "" (never written now) accepts none."""


@dataclass
class QuotaPool:
    """An institution's issuance quota for one year and how much of it is allocated to staff.

    The single-key layout of ledgers written before lanes; now only read (and folded into lanes)."""

    institution_id: str
    year: str
    quota: int
    allocated: int = 0
    """Held by staff now: allocations minus reclaims (Σ of the year's allowances)."""
    reclaimed: int = 0
    """Total ever returned to the pool from unused allowances."""


@dataclass
class Allowance:
    """The part of a quota one staff identity may attest; only that staff's earnings touch it.

    The single-key layout of ledgers written before lanes; now only read (and folded into lanes),
    and the shape of the `get_allowance` view (the sums over the lanes)."""

    institution_id: str
    year: str
    staff_digest: str
    allocated: int = 0
    """Given minus reclaimed; never below `used`."""
    used: int = 0
    reclaimed: int = 0
    """Total taken back unused (e.g. when the staff left)."""

    @property
    def remaining(self) -> int:
        return self.allocated - self.used


@dataclass
class QuotaLane:
    """One lane of an institution's yearly quota pool (see `lanes`): Σ over lanes is the pool."""

    institution_id: str
    year: str
    lane: int
    quota: int
    allocated: int = 0
    reclaimed: int = 0


@dataclass
class AllowanceLane:
    """One lane of a staff allowance (see `lanes`): Σ over lanes is the allowance; used ≤ allocated."""

    institution_id: str
    year: str
    staff_digest: str
    lane: int
    allocated: int = 0
    used: int = 0
    reclaimed: int = 0


@dataclass
class Member:
    member_id: str
    categories: list[str]
    client_digest: str
    active: bool
    registered_at: str
    msp_id: str = ""
    """The MSP of the bound identity; "" (records written before it was kept) means the district MSP."""


@dataclass
class Balance:
    """A member's coins as lots ("<local year>/v<policy version>", see `balances`) and yearly earnings."""

    member_id: str
    lots: dict[str, int] = field(default_factory=dict)
    earned_by_year: dict[str, int] = field(default_factory=dict)
    earned_total: int = 0
    last_movement_at: str = ""
    """Timestamp of the member's latest coin movement; an earlier-stamped movement is refused."""

    @property
    def total(self) -> int:
        return sum(self.lots.values())


@dataclass
class Binding:
    """Which member a client identity (MSP + digest of its `cid` id) is bound to: one member at most."""

    member_id: str
    msp_id: str
    client_digest: str


@dataclass
class DailyHours:
    member_id: str
    date: str
    hours: int = 0


@dataclass
class RequestClaim:
    """Marks a request id of an institution as used, so it never credits or debits twice."""

    institution_id: str
    request_id: str
    kind: str
    tx_id: str


@dataclass
class PaymentRequest:
    """A kiosk's payment request, paid at most once by whichever member signs it."""

    institution_id: str
    request_id: str
    price_krw: int
    coins: int
    service_code: str
    expires_at: str
    created_tx: str
    status: str = "open"
    paid_by: str = ""
    paid_tx: str = ""
    policy_version: int = 0
    """The version in force at creation; 0 for requests made before the terms below were kept."""
    coin_value_krw: int = 0
    payment_unit: int = 0
    """The price terms the member is shown: `pay_request` refuses once the version in force differs."""


@dataclass
class Receipt:
    """Coins an institution received (payment or donation), valued when received; a delta row."""

    institution_id: str
    tx_id: str
    kind: str
    coins: int
    coin_value_krw: int
    krw: int
    policy_version: int
    timestamp: str


@dataclass
class Settlement:
    institution_id: str
    settlement_id: str
    coins: int
    krw: int
    receipts: int
    status: str
    requested_tx: str
    requested_at: str
    policy_version: int
    payment_reference: str = ""
    paid_at: str = ""
    paid_tx: str = ""
    cutoff: str = ""
    """The settlement redeemed the receipts stamped before this moment."""


@dataclass
class DonationReceipt:
    tx_id: str
    member_id: str
    charity_id: str
    coins: int
    coin_value_krw: int
    krw: int
    policy_version: int
    timestamp: str


@dataclass
class Movement:
    """One line of a member's history; `coins` is positive for credits and negative for debits."""

    tx_id: str
    kind: str
    coins: int
    krw: int
    timestamp: str
    policy_version: int
    institution_id: str = ""
    activity: str = ""
    service_code: str = ""
    cash_krw: int = 0


@dataclass
class StatRow:
    """One coin movement for the statistics; coins and krw are positive amounts of `kind`."""

    kind: str
    coins: int
    krw: int
    policy_version: int
    institution_id: str = ""
    activity: str = ""
    member_id: str = ""


@dataclass
class Tally:
    """What one transaction changed in the district's counts; a blind delta row (see `census`)."""

    members: int = 0
    active_members: int = 0
    participants: int = 0
    """Members who earned for the first time."""
    institutions: int = 0
    categories: dict[str, int] = field(default_factory=dict)
    """Registered members by category (a member counts once in each of their categories)."""
