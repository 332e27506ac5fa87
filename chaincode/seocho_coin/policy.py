"""The coin's rules as versioned data: rates, coin value, eligibility, caps, payment unit, expiry.

Each version has an `effective_from` moment; a transaction uses the version in force at its proposal
timestamp and records that version's number. Versions are never changed or deleted, so every past
transaction can be re-valued under the rules it was made under. The defaults are the district's 2023
rules (1 coin = 200 KRW, volunteering 3 coins an hour, at most 8 hours a day, seniors only).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from fabric_shim.contract_errors import BadRequest

from seocho_coin import ids

ALL_ACTIVITIES = "*"
MAX_RATE = 1_000_000
MAX_SECONDS = 86_400
"""Upper bound of the policy's clock-skew and settlement-cutoff margins: one day."""


@dataclass(frozen=True)
class Activity:
    """An earning activity: `coins_per_unit` coins per `unit` (an hour, a session, a bundle of 10...)."""

    unit: str
    coins_per_unit: int
    description: str = ""
    counts_toward_daily_hours: bool = False


@dataclass(frozen=True)
class Caps:
    daily_volunteer_hours: int | None = 8
    yearly_earning_cap: int | None = None
    balance_cap: int | None = None


@dataclass(frozen=True)
class Policy:
    version: int
    effective_from: str
    coin_value_krw: int = 200
    activities: dict[str, Activity] = field(default_factory=dict)
    eligibility: dict[str, list[str]] = field(default_factory=lambda: {ALL_ACTIVITIES: ["senior"]})
    open_to_all: bool = False
    caps: Caps = field(default_factory=Caps)
    payment_unit: int = 1
    expiry_years: int | None = None
    utc_offset_minutes: int = 540
    """Local time (Korea, UTC+9) decides the day of the hour cap, the earning year and the month."""
    max_clock_skew_seconds: int = 300
    """How far a proposal's timestamp may stray from the endorsing peer's clock (see `seocho_coin.timing`)."""
    settlement_cutoff_seconds: int = 60
    """A settlement without an explicit cutoff redeems the receipts older than this (see `settlement`)."""

    # ---- rules ------------------------------------------------------------------------------------

    def activity(self, code: str) -> Activity:
        found = self.activities.get(code)
        if found is None:
            raise BadRequest(f"activity {code!r} is not in policy version {self.version}")
        return found

    def is_eligible(self, activity: str, categories: list[str]) -> bool:
        if self.open_to_all:
            return True
        allowed = self.eligibility.get(activity, self.eligibility.get(ALL_ACTIVITIES, []))
        return bool(set(allowed) & set(categories))

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(UTC) + timedelta(minutes=self.utc_offset_minutes)

    def local_date(self, moment: datetime) -> str:
        return self.local(moment).strftime("%Y-%m-%d")

    def local_year(self, moment: datetime) -> str:
        return self.local(moment).strftime("%Y")

    def local_month(self, moment: datetime) -> str:
        return self.local(moment).strftime("%Y-%m")

    def is_lot_expired(self, lot_year: str, moment: datetime) -> bool:
        """A lot earned in year Y stays valid through the end of local year Y + expiry_years."""
        if self.expiry_years is None:
            return False
        return int(self.local_year(moment)) > int(lot_year) + self.expiry_years

    # ---- encoding ---------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Policy:
        """Build and validate a policy from its JSON form (stored or supplied by an admin)."""
        if not isinstance(data, dict):
            raise BadRequest("policy must be a JSON object")
        ids.require_known_fields("policy", data, [f.name for f in dataclasses.fields(cls)])
        try:
            version = ids.require_amount("version", data["version"])
            effective_from = ids.format_timestamp(
                ids.require_timestamp("effective_from", data["effective_from"])
            )
        except KeyError as exc:
            raise BadRequest(f"policy: {exc.args[0]} is required") from None
        activities = _activities(data.get("activities", {}))
        eligibility = _eligibility(data.get("eligibility", {ALL_ACTIVITIES: ["senior"]}), activities)
        caps = _caps(data.get("caps", {}))
        return cls(
            version=version,
            effective_from=effective_from,
            coin_value_krw=ids.require_amount("coin_value_krw", data.get("coin_value_krw", 200), 1, MAX_RATE),
            activities=activities,
            eligibility=eligibility,
            open_to_all=ids.require_bool("open_to_all", data.get("open_to_all", False)),
            caps=caps,
            payment_unit=ids.require_amount("payment_unit", data.get("payment_unit", 1), 1, MAX_RATE),
            expiry_years=ids.require_optional_amount("expiry_years", data.get("expiry_years")),
            utc_offset_minutes=ids.require_amount(
                "utc_offset_minutes", data.get("utc_offset_minutes", 540), -720, 840
            ),
            max_clock_skew_seconds=ids.require_amount(
                "max_clock_skew_seconds", data.get("max_clock_skew_seconds", 300), 1, MAX_SECONDS
            ),
            settlement_cutoff_seconds=ids.require_amount(
                "settlement_cutoff_seconds", data.get("settlement_cutoff_seconds", 60), 0, MAX_SECONDS
            ),
        )

    def effective_moment(self) -> datetime:
        return datetime.fromisoformat(self.effective_from)


def _activities(value: Any) -> dict[str, Activity]:
    if not isinstance(value, dict) or len(value) > 1000:
        raise BadRequest("activities must be a JSON object of at most 1000 activities")
    activities = {}
    for code, spec in value.items():
        ids.require_code("activity code", code)
        if code == ALL_ACTIVITIES or not isinstance(spec, dict):
            raise BadRequest(f"activity {code!r} must be an object")
        ids.require_known_fields(f"activity {code!r}", spec, [f.name for f in dataclasses.fields(Activity)])
        if "unit" not in spec or "coins_per_unit" not in spec:
            raise BadRequest(f"activity {code!r} needs unit and coins_per_unit")
        activities[code] = Activity(
            unit=ids.require_code("unit", spec["unit"]),
            coins_per_unit=ids.require_amount("coins_per_unit", spec["coins_per_unit"], 1, MAX_RATE),
            description=ids.require_text("description", spec.get("description", "")),
            counts_toward_daily_hours=ids.require_bool(
                "counts_toward_daily_hours", spec.get("counts_toward_daily_hours", False)
            ),
        )
    return activities


def _eligibility(value: Any, activities: dict[str, Activity]) -> dict[str, list[str]]:
    if not isinstance(value, dict):
        raise BadRequest("eligibility must be a JSON object {activity or '*': [categories]}")
    eligibility = {}
    for code, categories in value.items():
        if code != ALL_ACTIVITIES and code not in activities:
            raise BadRequest(f"eligibility names unknown activity {code!r}")
        eligibility[code] = ids.require_categories(f"eligibility[{code}]", categories, allow_empty=True)
    return eligibility


def _caps(value: Any) -> Caps:
    if not isinstance(value, dict):
        raise BadRequest("caps must be a JSON object")
    ids.require_known_fields("caps", value, [f.name for f in dataclasses.fields(Caps)])
    return Caps(
        daily_volunteer_hours=ids.require_optional_amount(
            "daily_volunteer_hours", value.get("daily_volunteer_hours", 8)
        ),
        yearly_earning_cap=ids.require_optional_amount("yearly_earning_cap", value.get("yearly_earning_cap")),
        balance_cap=ids.require_optional_amount("balance_cap", value.get("balance_cap")),
    )


def _activity(unit: str, coins: int, description: str, hourly: bool = False) -> dict[str, Any]:
    return {
        "unit": unit,
        "coins_per_unit": coins,
        "description": description,
        "counts_toward_daily_hours": hourly,
    }


DEFAULT_EFFECTIVE_FROM = "2023-01-01T00:00:00+09:00"


def default_policy_data() -> dict[str, Any]:
    """The district's 2023 rules, as the JSON an admin would submit."""
    return {
        "version": 1,
        "effective_from": DEFAULT_EFFECTIVE_FROM,
        "coin_value_krw": 200,
        "activities": {
            "volunteer_hour": _activity("hour", 3, "volunteering at a community or welfare centre", True),
            "course_session": _activity("session", 1, "attending one course session"),
            "health_session": _activity("session", 1, "health-programme participation"),
            "hangers_10": _activity("bundle_of_10", 1, "10 hangers donated at a carbon-zero shop"),
            "pet_bottles_10": _activity("bundle_of_10", 1, "10 clear PET bottles separated"),
            "vinyl_bags_10": _activity("bundle_of_10", 1, "10 vinyl bags donated at a carbon-zero shop"),
            "shopping_bags_10": _activity(
                "bundle_of_10", 1, "10 shopping bags donated at a carbon-zero shop"
            ),
            "ice_packs_10": _activity("bundle_of_10", 1, "10 ice packs donated at a carbon-zero shop"),
            "nubidan_benefit": _activity("case", 10, "patrol found a household that was granted benefits"),
            "nubidan_service_link": _activity("case", 5, "patrol linked a household to welfare services"),
            "talent_donation_hour": _activity("hour", 1, "talent donation by a professional", True),
            "senior_performance": _activity("performance", 1, "senior performance"),
        },
        "eligibility": {ALL_ACTIVITIES: ["senior"]},
        "open_to_all": False,
        "caps": {"daily_volunteer_hours": 8, "yearly_earning_cap": None, "balance_cap": None},
        "payment_unit": 1,
        "expiry_years": None,
        "utc_offset_minutes": 540,
        "max_clock_skew_seconds": 300,
        "settlement_cutoff_seconds": 60,
    }


def encode_index(entries: list[tuple[int, str]]) -> bytes:
    """The policy index: (version, effective_from) in version order, read by every transaction."""
    rows = [{"version": v, "effective_from": e} for v, e in entries]
    return json.dumps(rows, sort_keys=True, separators=(",", ":")).encode("utf-8")


def decode_index(raw: bytes) -> list[tuple[int, str]]:
    return [(row["version"], row["effective_from"]) for row in json.loads(raw)]


def version_in_force(entries: list[tuple[int, str]], moment: datetime) -> int | None:
    """The highest version whose effective_from is not after `moment` (effective dates never decrease)."""
    stamp = ids.format_timestamp(moment)
    chosen = None
    for version, effective_from in entries:
        if effective_from <= stamp:
            chosen = version
    return chosen
