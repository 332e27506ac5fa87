"""A Seocho Coin network on the embedded ledger: real stub, real contract routing, real identities.

`CoinNetwork` enrolls identities from the district and partner MSPs with the Fabric CA attributes the
contract reads, and calls transactions the way a client does (string arguments, JSON results).
`Clock` pins the proposal timestamps (the embedded ledger stamps proposals with `datetime.now`), so
tests can cross days, years and policy versions; every proposal advances it by one millisecond. The
contract reads the same clock as the endorsing peer's, so a pinned world passes the clock-skew check;
`Clock.client_offset` makes the client's clock (the proposal timestamps) disagree with the peer's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from embedded_ledger import EmbeddedLedger, EndorsedTransaction, EndorsementError, Identity
from fabric_shim.chaincode import Response
from fabric_shim.cid import ClientIdentity
from fabric_shim.contract import ContractChaincode
from seocho_coin.contract import SeochoCoinContract

CHAINCODE = "seocho"
DISTRICT = "SeochoDistrictMSP"
PARTNERS = "PartnersMSP"
KST = timedelta(hours=9)
EVIDENCE = "ab" * 32


class Clock:
    """A settable clock: `now` stamps the ledger's proposals, `peer_now` is the endorsing peer's clock."""

    def __init__(self, start: datetime) -> None:
        self.moment = start
        self.client_offset = timedelta()
        """Added to proposal timestamps only: a client clock that runs ahead (or, negative, behind)."""

    def peer_now(self) -> datetime:
        """The endorsing peer's clock: the pinned moment."""
        return self.moment

    def set(self, moment: datetime) -> None:
        self.moment = moment.astimezone(UTC)

    def advance(self, **delta: float) -> None:
        self.moment += timedelta(**delta)

    def now(self) -> datetime:
        """The client's clock, read for every proposal: one millisecond later each time."""
        self.moment += timedelta(milliseconds=1)
        return self.moment + self.client_offset


def kst(*args: int) -> datetime:
    """A Korean local time, e.g. kst(2024, 3, 4, 10)."""
    return datetime(*args, tzinfo=UTC) - KST  # type: ignore[misc]


def encode_arg(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


class CallFailed(AssertionError):
    def __init__(self, response: Response) -> None:
        super().__init__(f"{response.status}: {response.message}")
        self.status = response.status
        self.message = response.message


@dataclass
class CoinNetwork:
    ledger: EmbeddedLedger
    clock: Clock
    people: dict[str, Identity] = field(default_factory=dict)
    contract: SeochoCoinContract | None = None
    """The in-process contract instance (None when the chaincode runs elsewhere)."""

    @classmethod
    def open(cls, clock: Clock) -> CoinNetwork:
        ledger = EmbeddedLedger.open(None, clock=clock.now)
        contract = SeochoCoinContract(clock=clock.peer_now)
        ledger.install(CHAINCODE, ContractChaincode(contract))
        return cls(ledger, clock, contract=contract)

    # ---- identities ---------------------------------------------------------------------------------

    def enroll(self, name: str, msp: str, **attributes: str) -> Identity:
        attrs = {f"seocho.{k}": v for k, v in attributes.items()}
        identity = self.ledger.identities.enroll(name, msp, attrs)
        self.people[name] = identity
        return identity

    def client_id(self, name: str) -> str:
        return str(ClientIdentity(self.people[name].serialized()).id)

    # ---- calls ----------------------------------------------------------------------------------------

    def evaluate(self, who: str, fn: str, *args: Any) -> Response:
        return self.ledger.evaluate(self.people[who], CHAINCODE, fn, [encode_arg(a) for a in args])

    def query(self, who: str, fn: str, *args: Any) -> Any:
        response = self.evaluate(who, fn, *args)
        if not response.ok:
            raise CallFailed(response)
        return json.loads(response.payload) if response.payload else None

    def endorse(self, who: str, fn: str, *args: Any) -> EndorsedTransaction:
        try:
            return self.ledger.endorse(self.people[who], CHAINCODE, fn, [encode_arg(a) for a in args])
        except EndorsementError as exc:
            raise CallFailed(exc.response) from None

    def simulate(self, who: str, fn: str, *args: Any) -> EndorsedTransaction:
        """The endorsement's outcome, refused or not (a refusal's write set shows what was not written)."""
        try:
            return self.ledger.endorse(self.people[who], CHAINCODE, fn, [encode_arg(a) for a in args])
        except EndorsementError as exc:
            return exc.transaction

    def submit(self, who: str, fn: str, *args: Any) -> Any:
        endorsed = self.endorse(who, fn, *args)
        block = self.ledger.commit([endorsed])
        record = block.transactions[0]
        assert record.is_valid, record.validation_code_name
        payload = endorsed.response.payload
        return json.loads(payload) if payload else None

    def status(self, who: str, fn: str, *args: Any) -> int:
        """The status a submit would get at endorsement (nothing is committed)."""
        return self.evaluate(who, fn, *args).status

    def last_event(self) -> tuple[str, dict[str, Any]]:
        events = list(self.ledger.chaincode_events(CHAINCODE))
        return events[-1].name, json.loads(events[-1].payload)

    def event_count(self) -> int:
        return sum(1 for _ in self.ledger.chaincode_events(CHAINCODE))


def build_world(net: CoinNetwork) -> CoinNetwork:
    """The standard cast: district roles, three institutions with staff, two members."""
    net.enroll("admin", DISTRICT, role="admin")
    net.enroll("registrar", DISTRICT, role="registrar")
    net.enroll("auditor", DISTRICT, role="auditor")
    net.enroll("partner_admin", PARTNERS, role="admin")
    net.enroll("unknown", PARTNERS)
    net.enroll("cc_manager", DISTRICT, role="staff", institution="cc-01", manager="true")
    net.enroll("cc_staff", DISTRICT, role="staff", institution="cc-01")
    net.enroll("cc_staff2", DISTRICT, role="staff", institution="cc-01")
    net.enroll("wc_manager", PARTNERS, role="staff", institution="wc-01", manager="true")
    net.enroll("charity_manager", PARTNERS, role="staff", institution="charity-01", manager="true")
    net.enroll("m1", DISTRICT, role="member")
    net.enroll("m2", DISTRICT, role="member")

    net.submit("admin", "init_ledger", DISTRICT)
    net.submit(
        "admin",
        "register_institution",
        "cc-01",
        "community_centre",
        ["volunteer_hour", "course_session", "health_session"],
        True,
        False,
        100_000,
        DISTRICT,
    )
    net.submit(
        "admin",
        "register_institution",
        "wc-01",
        "welfare_centre",
        ["volunteer_hour"],
        True,
        False,
        50_000,
        PARTNERS,
    )
    net.submit("admin", "register_institution", "charity-01", "charity", [], False, True, 0, PARTNERS)
    year = str((net.clock.moment + KST).year)
    for staff in ("cc_manager", "cc_staff", "cc_staff2"):
        net.submit("admin", "allocate_allowance", "cc-01", net.client_id(staff), year, 1_000)
    net.submit("wc_manager", "allocate_allowance", "wc-01", net.client_id("wc_manager"), year, 1_000)
    net.submit("registrar", "register_member", "M-001", ["senior"], net.client_id("m1"))
    net.submit("registrar", "register_member", "M-002", ["senior"], net.client_id("m2"))
    return net
