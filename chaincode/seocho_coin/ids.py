"""Validation of every value a caller hands in: ids, codes, amounts, hashes and timestamps.

Every transaction validates its arguments through these functions before it reads or writes anything,
so bad input always fails with `BadRequest` (400) and leaves the ledger untouched.

IDs are opaque pseudonymous codes. The ledger cannot forget, so no personal data (names, birth dates,
phone numbers, resident registration numbers) may ever be used as an id; the strict pattern below keeps
ids short and machine-like. A member id is registered only as a pseudonymous code (`MEMBER_ID_PATTERN`:
an upper-case prefix, a dash, digits), checked here in the chaincode so that no client, CLI or not, can
put a name on the ledger as a member id.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from fabric_shim.contract_errors import BadRequest

ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
MEMBER_ID_PATTERN = re.compile(r"[A-Z]{1,4}-[0-9]{1,12}")
CODE_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/-]{0,255}")
SHA256_HEX_PATTERN = re.compile(r"[0-9a-f]{64}")
# Go's cid.GetID() is base64 of "x509::<subject>::<issuer>"; long DNs make long ids.
CLIENT_ID_PATTERN = re.compile(r"[A-Za-z0-9+/]{4,4096}={0,2}")
MIN_YEAR, MAX_YEAR = 2000, 9998
YEAR_PATTERN = re.compile(r"[0-9]{4}")
MONTH_PATTERN = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")

MAX_AMOUNT = 10**9
"""Upper bound of any coin amount, quantity or KRW price: rejects typos and overflow games."""

MAX_TEXT = 256

MEMBER_CATEGORIES = frozenset(
    {"senior", "resident", "worker", "youth", "retired_professional", "returning_worker", "nubidan"}
)
"""Eligibility categories the registrar attests; never a birth date or other personal attribute."""

INSTITUTION_TYPES = frozenset(
    {
        "community_centre",
        "welfare_centre",
        "carbon_zero_shop",
        "patrol",
        "charity",
        "senior_centre",
        "other",
    }
)


def require_id(name: str, value: Any) -> str:
    """A member, institution, request or settlement id."""
    if not isinstance(value, str) or not ID_PATTERN.fullmatch(value):
        raise BadRequest(f"{name} must match {ID_PATTERN.pattern} (an opaque code of at most 64 characters)")
    return value


def require_member_id(name: str, value: Any) -> str:
    """A new member's id: a pseudonymous code such as S-0001, never a name (registration only)."""
    if not isinstance(value, str) or not MEMBER_ID_PATTERN.fullmatch(value):
        raise BadRequest(
            f"{name} must be a pseudonymous code matching {MEMBER_ID_PATTERN.pattern}"
            " (e.g. S-0001), never a name"
        )
    return value


def require_code(name: str, value: Any) -> str:
    """An activity, service, unit or payment-reference code."""
    if not isinstance(value, str) or not CODE_PATTERN.fullmatch(value):
        raise BadRequest(f"{name} must match {CODE_PATTERN.pattern} (a code of at most 256 characters)")
    return value


def require_text(name: str, value: Any) -> str:
    """A short free description (policy data only, never about a person)."""
    if not isinstance(value, str) or len(value) > MAX_TEXT or any(ord(c) < 0x20 for c in value):
        raise BadRequest(f"{name} must be a single-line string of at most {MAX_TEXT} characters")
    return value


def require_client_id(name: str, value: Any) -> str:
    """A client identity id as `cid.GetID()` returns it (base64)."""
    if not isinstance(value, str) or not CLIENT_ID_PATTERN.fullmatch(value):
        raise BadRequest(f"{name} must be a client identity id (base64, as cid.GetID() returns it)")
    return value


def require_client_ref(name: str, value: Any) -> tuple[str | None, str]:
    """A client identity, optionally qualified by its MSP: ``MSPID:<cid id>`` or a bare ``<cid id>``.

    `cid.GetID()` names only the certificate's subject and issuer, which another organisation's CA
    can copy; only the MSP id tells the identities apart, so bindings record it.
    """
    if isinstance(value, str) and ":" in value:
        msp_id, _, client_id = value.partition(":")
        return require_id(f"{name} (MSP part)", msp_id), require_client_id(name, client_id)
    return None, require_client_id(name, value)


def require_amount(name: str, value: Any, minimum: int = 1, maximum: int = MAX_AMOUNT) -> int:
    """A whole number of coins, units or KRW within [minimum, maximum]."""
    if not isinstance(value, int) or isinstance(value, bool) or not minimum <= value <= maximum:
        raise BadRequest(f"{name} must be an integer between {minimum} and {maximum}")
    return value


def require_optional_amount(name: str, value: Any, minimum: int = 1) -> int | None:
    return None if value is None else require_amount(name, value, minimum)


def require_bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise BadRequest(f"{name} must be true or false")
    return value


def require_sha256_hex(name: str, value: Any) -> str:
    """A lowercase hex SHA-256 digest (64 characters), e.g. of off-ledger evidence."""
    if not isinstance(value, str) or not SHA256_HEX_PATTERN.fullmatch(value):
        raise BadRequest(f"{name} must be a lowercase hex SHA-256 digest (64 characters)")
    return value


def require_categories(name: str, value: Any, allow_empty: bool = False) -> list[str]:
    """A list of member categories from `MEMBER_CATEGORIES`, returned sorted and without repeats."""
    if not isinstance(value, list) or not all(isinstance(c, str) for c in value):
        raise BadRequest(f"{name} must be a JSON array of strings")
    unknown = sorted(set(value) - MEMBER_CATEGORIES)
    if unknown:
        raise BadRequest(f"{name}: unknown categories {unknown}; allowed: {sorted(MEMBER_CATEGORIES)}")
    if not value and not allow_empty:
        raise BadRequest(f"{name} must not be empty")
    return sorted(set(value))


def require_codes(name: str, value: Any) -> list[str]:
    """A list of codes, returned sorted and without repeats."""
    if not isinstance(value, list) or len(value) > 1000:
        raise BadRequest(f"{name} must be a JSON array of at most 1000 codes")
    return sorted({require_code(name, item) for item in value})


def require_timestamp(name: str, value: Any) -> datetime:
    """An ISO 8601 date-time with an explicit offset, e.g. 2024-01-01T00:00:00+09:00 or ...Z."""
    if not isinstance(value, str) or len(value) > 40:
        raise BadRequest(f"{name} must be an ISO 8601 date-time with a time zone")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise BadRequest(f"{name} must be an ISO 8601 date-time with a time zone") from None
    if moment.tzinfo is None:
        raise BadRequest(f"{name} must carry a time zone (Z or +09:00)")
    try:
        utc = moment.astimezone(UTC)
    except OverflowError:
        raise BadRequest(f"{name} is out of range") from None
    # Four-digit years only: stored timestamps are compared as strings.
    if not MIN_YEAR <= utc.year <= MAX_YEAR:
        raise BadRequest(f"{name} must lie between the years {MIN_YEAR} and {MAX_YEAR}")
    return utc


def require_year(name: str, value: Any) -> str:
    if not isinstance(value, str) or not YEAR_PATTERN.fullmatch(value):
        raise BadRequest(f"{name} must be a year like 2024")
    return value


def require_month(name: str, value: Any) -> str:
    if not isinstance(value, str) or not MONTH_PATTERN.fullmatch(value):
        raise BadRequest(f"{name} must be a month like 2024-03")
    return value


def require_known_fields(name: str, data: dict[str, Any], allowed: Iterable[str]) -> None:
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise BadRequest(f"{name}: unknown fields {unknown}")


def format_timestamp(moment: datetime) -> str:
    """UTC ISO 8601 with microseconds, so strings sort like the moments they name."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
