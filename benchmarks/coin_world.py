"""A Seocho Coin world on an embedded ledger, built for throughput measurements.

One community centre, `lanes` staff (each with an allowance) and `lanes` senior members. Lane i pairs
staff i with member i, so a block holding one earn per lane — or one pay per lane — writes no key
twice and every transaction in it stays valid (the member's balance and the staff's allowance are
the only keys two coin movements could share).
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from embedded_ledger import EmbeddedLedger, EndorsedTransaction, Identity
from fabric_shim.cid import ClientIdentity
from fabric_shim.contract import ContractChaincode
from seocho_coin.contract import SeochoCoinContract

CHAINCODE = "seocho"
DISTRICT_MSP = "SeochoDistrictMSP"
INSTITUTION = "bench-cc"
ACTIVITY = "course_session"  # 1 coin a session and no daily hour cap, so lanes never run dry
EVIDENCE = hashlib.sha256(b"attendance sheet").hexdigest()
ALLOWANCE_PER_STAFF = 1_000_000
PRICE_KRW = 1_000  # a facility fee; the benchmark pays 1 coin of it and the rest in cash


def _client_id(identity: Identity) -> str:
    return str(ClientIdentity(identity.serialized()).id)


@dataclass
class CoinWorld:
    """Identities and helpers to endorse coin movements on `ledger`."""

    ledger: EmbeddedLedger
    admin: Identity
    auditor: Identity
    staff: list[Identity] = field(default_factory=list)
    members: list[tuple[str, Identity]] = field(default_factory=list)
    _request_numbers: itertools.count[int] = field(default_factory=itertools.count)

    @classmethod
    def build(cls, ledger: EmbeddedLedger, lanes: int) -> CoinWorld:
        """Install the coin chaincode on `ledger` and create the institution, staff and members."""
        ledger.install(CHAINCODE, ContractChaincode(SeochoCoinContract()))
        enroll = ledger.identities.enroll
        admin = enroll("bench-admin", DISTRICT_MSP, {"seocho.role": "admin"})
        registrar = enroll("bench-registrar", DISTRICT_MSP, {"seocho.role": "registrar"})
        auditor = enroll("bench-auditor", DISTRICT_MSP, {"seocho.role": "auditor"})
        world = cls(ledger, admin, auditor)
        year = str((datetime.now(UTC) + timedelta(hours=9)).year)  # the policy's local (KST) year
        world._submit(admin, "init_ledger", [DISTRICT_MSP])
        world._submit(
            admin,
            "register_institution",
            [
                INSTITUTION,
                "community_centre",
                json.dumps([ACTIVITY]),
                "true",
                "false",
                str(10**9),
                DISTRICT_MSP,
            ],
        )
        for lane in range(lanes):
            staff = enroll(
                f"bench-staff-{lane}",
                DISTRICT_MSP,
                {"seocho.role": "staff", "seocho.institution": INSTITUTION},
            )
            world._submit(
                admin, "allocate_allowance", [INSTITUTION, _client_id(staff), year, str(ALLOWANCE_PER_STAFF)]
            )
            world.staff.append(staff)
            member_id = f"B-{lane:05d}"
            member = enroll(f"bench-member-{lane}", DISTRICT_MSP, {"seocho.role": "member"})
            world._submit(
                registrar, "register_member", [member_id, json.dumps(["senior"]), _client_id(member)]
            )
            world.members.append((member_id, member))
        return world

    @property
    def lanes(self) -> int:
        return len(self.staff)

    def _submit(self, identity: Identity, function: str, args: Sequence[str]) -> None:
        response = self.ledger.submit(identity, CHAINCODE, function, list(args))
        if not response.ok:
            raise RuntimeError(f"{function} failed during setup: {response.status} {response.message}")

    def _request_id(self, prefix: str) -> str:
        return f"{prefix}-{next(self._request_numbers)}"

    def endorse_earn(self, lane: int, sessions: int = 1) -> EndorsedTransaction:
        """Staff of `lane` attests `sessions` course sessions of the lane's member."""
        member_id, _ = self.members[lane]
        args = [member_id, ACTIVITY, str(sessions), EVIDENCE, self._request_id("earn")]
        return self.ledger.endorse(self.staff[lane], CHAINCODE, "earn", args)

    def endorse_pay(self, lane: int) -> EndorsedTransaction:
        """The lane's member pays a facility fee with one coin (the rest in cash)."""
        member_id, member = self.members[lane]
        args = [member_id, INSTITUTION, str(PRICE_KRW), "1", "gym", self._request_id("pay")]
        return self.ledger.endorse(member, CHAINCODE, "pay", args)

    def commit(self, transactions: Sequence[EndorsedTransaction]) -> None:
        """Commit `transactions` as one block; every one of them must be valid."""
        block = self.ledger.commit(transactions)
        invalid = [tx.validation_code_name for tx in block.transactions if not tx.is_valid]
        if invalid:
            raise RuntimeError(f"{len(invalid)} coin transactions were invalidated: {invalid[:3]}")

    def fund(self, coins_per_member: int) -> None:
        """Give every member `coins_per_member` coins in one block, so pays never run out."""
        self.commit([self.endorse_earn(lane, coins_per_member) for lane in range(self.lanes)])

    def record_movements(self, count: int, pays_every: int = 5) -> None:
        """Commit `count` movements in blocks of one per lane; every `pays_every`-th block is pays."""
        done = block_number = 0
        while done < count:
            size = min(self.lanes, count - done)
            block_number += 1
            pays = pays_every and block_number % pays_every == 0
            self.commit([self.endorse_pay(lane) if pays else self.endorse_earn(lane) for lane in range(size)])
            done += size

    def report(self) -> dict[str, object]:
        response = self.ledger.evaluate(self.auditor, CHAINCODE, "get_report", [])
        if not response.ok:
            raise RuntimeError(f"get_report failed: {response.status} {response.message}")
        result: dict[str, object] = json.loads(response.payload)
        return result
