"""A district-sized Seocho Coin ledger, built fast through the ledger's own batch path.

Members are registered with `register_members` (1,000 a transaction) and many transactions go into
each block (`endorse` several, `commit` once), as an ordering service batches them; earnings run in
lanes (staff i attests for member j ≡ i), so no two transactions of a block share a key and every
one stays valid. Only the first `payers` members get real identities (to pay); the others are
registered under client ids of certificates nobody holds, which is all a registration needs.

Used by the `scale` tests and by `python -m benchmarks.scale`.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from embedded_ledger import EmbeddedLedger, EndorsedTransaction, Identity
from fabric_shim.cid import ClientIdentity
from fabric_shim.contract import ContractChaincode
from seocho_coin.contract import SeochoCoinContract

CHAINCODE = "seocho"
DISTRICT_MSP = "SeochoDistrictMSP"
INSTITUTION = "scale-cc"
ACTIVITY = "course_session"
EVIDENCE = hashlib.sha256(b"attendance sheet").hexdigest()
BATCH = 1_000  # members per register_members transaction (the contract's maximum)
TXS_PER_BLOCK = 10
LANES = 50
CATEGORIES = (["senior"], ["resident"], ["resident", "worker"])
"""Member n has CATEGORIES[n % 3]: only seniors (n % 3 == 0) may earn under the default policy."""


class Clock:
    """Proposal stamps one millisecond apart from a fixed start; the peer reads the same clock."""

    def __init__(self, start: datetime | None = None) -> None:
        self.moment = start or datetime.now(UTC).replace(microsecond=0)

    def now(self) -> datetime:
        self.moment += timedelta(milliseconds=1)
        return self.moment

    def peer_now(self) -> datetime:
        return self.moment

    def advance(self, **delta: float) -> None:
        self.moment += timedelta(**delta)


def member_id(number: int) -> str:
    return f"S-{number:07d}"


def _client_id(identity: Identity) -> str:
    return str(ClientIdentity(identity.serialized()).id)


def _unheld_client_id(number: int) -> str:
    # What cid.GetID() returns for a certificate "CN=S-...": base64 of x509::<subject>::<issuer>.
    return base64.b64encode(f"x509::CN={member_id(number)}::CN=ca.seocho".encode()).decode()


@dataclass
class ScaleWorld:
    ledger: EmbeddedLedger
    clock: Clock
    admin: Identity
    registrar: Identity
    auditor: Identity
    staff: list[Identity] = field(default_factory=list)
    payers: list[Identity] = field(default_factory=list)
    members: int = 0
    _requests: itertools.count[int] = field(default_factory=itertools.count)

    @classmethod
    def create(cls, path: str | Path | None, clock: Clock | None = None) -> ScaleWorld:
        """A ledger with the district's roles, one community centre and `LANES` staff with allowances."""
        clock = clock or Clock()
        ledger = EmbeddedLedger.open(path, clock=clock.now)
        ledger.install(CHAINCODE, ContractChaincode(SeochoCoinContract(clock=clock.peer_now)))
        enroll = ledger.identities.enroll
        world = cls(
            ledger,
            clock,
            admin=enroll("scale-admin", DISTRICT_MSP, {"seocho.role": "admin"}),
            registrar=enroll("scale-registrar", DISTRICT_MSP, {"seocho.role": "registrar"}),
            auditor=enroll("scale-auditor", DISTRICT_MSP, {"seocho.role": "auditor"}),
        )
        world.submit(world.admin, "init_ledger", [DISTRICT_MSP])
        args = [INSTITUTION, "community_centre", json.dumps([ACTIVITY]), "true", "false", str(10**9)]
        world.submit(world.admin, "register_institution", [*args, DISTRICT_MSP])
        year = str((clock.moment + timedelta(hours=9)).year)
        for lane in range(LANES):
            attrs = {"seocho.role": "staff", "seocho.institution": INSTITUTION}
            staff = enroll(f"scale-staff-{lane}", DISTRICT_MSP, attrs)
            world.submit(
                world.admin, "allocate_allowance", [INSTITUTION, _client_id(staff), year, "10000000"]
            )
            world.staff.append(staff)
        return world

    def submit(self, identity: Identity, function: str, args: Sequence[str]) -> None:
        response = self.ledger.submit(identity, CHAINCODE, function, list(args))
        if not response.ok:
            raise RuntimeError(f"{function} failed: {response.status} {response.message}")

    def commit(self, transactions: Sequence[EndorsedTransaction]) -> None:
        """One block; every transaction in it must stay valid."""
        block = self.ledger.commit(transactions)
        invalid = [tx.validation_code_name for tx in block.transactions if not tx.is_valid]
        if invalid:
            raise RuntimeError(f"{len(invalid)} transactions were invalidated: {invalid[:3]}")

    def register(self, count: int, payers: int = 0, progress: Callable[[int], None] | None = None) -> None:
        """Register `count` more members; the first `payers` of all get identities they can pay with."""
        entries = []
        for number in range(self.members, self.members + count):
            if number < payers:
                identity = self.ledger.identities.enroll(
                    member_id(number), DISTRICT_MSP, {"seocho.role": "member"}
                )
                self.payers.append(identity)
                client = _client_id(identity)
            else:
                client = _unheld_client_id(number)
            entries.append(
                {"member_id": member_id(number), "categories": CATEGORIES[number % 3], "client_id": client}
            )
        self.members += count
        block: list[EndorsedTransaction] = []
        for start in range(0, len(entries), BATCH):
            chunk = json.dumps(entries[start : start + BATCH])
            block.append(self.ledger.endorse(self.registrar, CHAINCODE, "register_members", [chunk]))
            if len(block) == TXS_PER_BLOCK:
                self.commit(block)
                block = []
                if progress:
                    progress(start + BATCH)
        if block:
            self.commit(block)

    def earn(self, members: range, sessions: int = 2) -> None:
        """Every member in `members` (seniors: every third number) earns `sessions` coins, in lanes."""
        block: list[EndorsedTransaction] = []
        for number in members:
            lane = len(block)
            args = [member_id(number), ACTIVITY, str(sessions), EVIDENCE, f"E-{next(self._requests)}"]
            block.append(self.ledger.endorse(self.staff[lane], CHAINCODE, "earn", args))
            if len(block) == LANES:
                self.commit(block)
                block = []
        if block:
            self.commit(block)

    def pay(self, coins: int = 1) -> None:
        """Every senior payer pays `coins` coins of a 1,000 KRW fee at the community centre, in one block."""
        block = []
        for number, payer in enumerate(self.payers):
            if number % 3:
                continue  # not a senior: never earned
            args = [member_id(number), INSTITUTION, "1000", str(coins), "gym", f"P-{next(self._requests)}"]
            block.append(self.ledger.endorse(payer, CHAINCODE, "pay", args))
        self.commit(block)

    def compact(self) -> int:
        """Fold every delta row older than the compaction cutoff (`compact_stats` until nothing is left)."""
        self.clock.advance(minutes=11)  # past 2 × the clock skew allowance
        month = (self.clock.moment + timedelta(hours=9)).strftime("%Y-%m")
        folded = 0
        while True:
            response = self.ledger.submit(self.admin, CHAINCODE, "compact_stats", [month])
            result = json.loads(response.payload)
            folded += result["rows_folded"]
            if not result["more"]:
                return folded

    def query(self, function: str, *args: str) -> dict[str, object]:
        response = self.ledger.evaluate(self.auditor, CHAINCODE, function, list(args))
        if not response.ok:
            raise RuntimeError(f"{function} failed: {response.status} {response.message}")
        result: dict[str, object] = json.loads(response.payload)
        return result
