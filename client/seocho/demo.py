"""The district's 2023 story, told on a fresh ledger: the first job of the `seocho` command line.

Institutions join, senior members volunteer and attend courses, pay facility fees in coins and cash,
donate to a charity; the ordinance opens earning to all residents; an institution settles its coins for
won; the auditor prints the district's report and checks the supply invariant. Every step is a real
transaction signed by the identity whose role it is, so the chaincode's authorization and rules apply.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from embedded_ledger import EmbeddedLedger

from seocho.cast import Actor, Cast, EmbeddedCast, NetworkCast
from seocho.coin import Coin
from seocho.errors import ConflictError, RejectedError, SeochoError
from seocho.profile import Profile

DISTRICT_MSP = "SeochoDistrictMSP"
PARTNERS_MSP = "PartnersMSP"

Say = Callable[[str], None]


@dataclass(frozen=True)
class InstitutionPlan:
    institution_id: str
    institution_type: str
    activities: tuple[str, ...]
    sells_services: bool
    takes_donations: bool
    annual_quota: int
    staff: str  # the name of its attesting/managing staff identity
    msp_id: str


INSTITUTIONS = (
    InstitutionPlan(
        "yangjae1-cc",
        "community_centre",
        ("volunteer_hour", "course_session", "health_session"),
        True,
        False,
        20_000,
        "staff-yangjae1",
        DISTRICT_MSP,
    ),
    InstitutionPlan(
        "seocho-welfare",
        "welfare_centre",
        ("volunteer_hour", "health_session"),
        True,
        False,
        30_000,
        "staff-welfare",
        PARTNERS_MSP,
    ),
    InstitutionPlan(
        "banpo-czshop",
        "carbon_zero_shop",
        ("hangers_10", "pet_bottles_10", "ice_packs_10"),
        False,
        False,
        5_000,
        "staff-czshop",
        PARTNERS_MSP,
    ),
    InstitutionPlan("chest-seoul", "charity", (), False, True, 0, "staff-chest", PARTNERS_MSP),
)

SENIORS = ("S-0001", "S-0002", "S-0003", "S-0004", "S-0005")
RESIDENTS = ("R-0001", "R-0002")


def evidence(text: str) -> str:
    """The hash an institution keeps for its paper evidence (attendance sheet, photo); never the evidence."""
    return hashlib.sha256(text.encode()).hexdigest()


class Demo:
    """Runs the story with identities from `cast`, printing each step through `say`."""

    def __init__(self, cast: Cast, say: Say) -> None:
        self.cast = cast
        self.say = say
        self.year = str((datetime.now(UTC) + timedelta(hours=9)).year)

    def enroll(self, name: str, msp_id: str, **attributes: str) -> Actor:
        return self.cast.join(name, msp_id, {f"seocho.{k}": v for k, v in attributes.items()})

    def initialise(self, admin: Coin) -> dict[str, Any]:
        """Policy version 1 of a new ledger; a network's `deploy` may already have initialised it."""
        try:
            return dict(admin.init_ledger(DISTRICT_MSP)["policy"])
        except ConflictError:
            policies = admin.list_policies()
            if len(policies) != 1:
                raise SeochoError(
                    "the demo needs a new ledger: this one has seen policy changes already"
                ) from None
            return dict(admin.get_policy(1))

    def run(self) -> dict[str, Any]:
        say = self.say
        admin = self.enroll("district-admin", DISTRICT_MSP, role="admin").coin
        registrar = self.enroll("district-registrar", DISTRICT_MSP, role="registrar").coin
        auditor = self.enroll("district-auditor", DISTRICT_MSP, role="auditor").coin

        policy = self.initialise(admin)
        say(
            f"Seocho-gu starts the coin: 1 coin = {policy['coin_value_krw']} KRW, volunteering "
            f"{policy['activities']['volunteer_hour']['coins_per_unit']} coins/hour, "
            "earning open to seniors (60+)"
        )

        staff: dict[str, Coin] = {}
        for plan in INSTITUTIONS:
            identity = self.enroll(
                plan.staff, plan.msp_id, role="staff", institution=plan.institution_id, manager="true"
            )
            staff[plan.institution_id] = identity.coin
            admin.register_institution(
                plan.institution_id,
                plan.institution_type,
                plan.activities,
                sells_services=plan.sells_services,
                takes_donations=plan.takes_donations,
                annual_quota=plan.annual_quota,
                staff_msp=plan.msp_id,
            )
            if plan.annual_quota:
                admin.allocate_allowance(plan.institution_id, identity.client_id, self.year, 2_000)
        say(
            f"{len(INSTITUTIONS)} partner institutions join: a community centre, a welfare centre, "
            "a carbon-zero shop and the Community Chest"
        )

        members: dict[str, Coin] = {}
        for member_id in SENIORS + RESIDENTS:
            identity = self.enroll(f"member-{member_id}", DISTRICT_MSP, role="member")
            category = "senior" if member_id in SENIORS else "resident"
            registrar.register_member(member_id, [category], identity.client_id)
            members[member_id] = identity.coin
        say(
            f"The registrar enrolls {len(SENIORS)} senior members and {len(RESIDENTS)} younger residents "
            "under pseudonymous IDs (no personal data on the ledger)"
        )

        welfare, centre = staff["seocho-welfare"], staff["yangjae1-cc"]
        hours = {"S-0001": 4, "S-0002": 3, "S-0003": 8, "S-0004": 2}
        for member_id, h in hours.items():
            welfare.earn(member_id, "volunteer_hour", h, evidence(f"sheet {member_id}"), f"VOL-{member_id}")
        say(
            f"Seniors volunteer at the welfare centre: {sum(hours.values())} hours "
            f"→ {3 * sum(hours.values())} coins"
        )
        for n, member_id in enumerate(SENIORS):
            centre.earn(member_id, "course_session", 2, evidence(f"course {member_id}"), f"COURSE-{n}")
            centre.earn(member_id, "health_session", 1, evidence(f"health {member_id}"), f"HEALTH-{n}")
        say(
            f"{len(SENIORS)} seniors attend two course sessions and a health programme "
            "at the community centre"
        )

        self._refused(
            "a ninth volunteering hour the same day is refused",
            lambda: welfare.earn("S-0003", "volunteer_hour", 1, evidence("late"), "VOL-LATE"),
        )
        self._refused(
            "a younger resident cannot earn yet",
            lambda: staff["banpo-czshop"].earn("R-0001", "hangers_10", 1, evidence("h"), "CZ-EARLY"),
        )
        self._refused(
            "the same attestation submitted twice never credits twice",
            lambda: welfare.earn("S-0001", "volunteer_hour", 4, evidence("sheet S-0001"), "VOL-S-0001"),
        )

        members["S-0001"].pay("S-0001", "seocho-welfare", 3_000, 10, "gym-month", "PAY-GYM-1")
        say("S-0001 pays the welfare-centre gym (3,000 KRW): 10 coins = 2,000 KRW, 1,000 KRW in cash")
        members["S-0003"].pay("S-0003", "seocho-welfare", 4_000, 20, "cafeteria", "PAY-CAF-1")
        say("S-0003 pays the cafeteria (4,000 KRW) entirely in coins: 20 coins")
        expires = (datetime.now(UTC) + timedelta(minutes=30)).isoformat(timespec="seconds")
        centre.create_payment_request("KIOSK-1", 2_000, 8, "course-fee", expires)
        members["S-0002"].pay_request("yangjae1-cc", "KIOSK-1", "S-0002")
        say(
            "At the community-centre kiosk, S-0002 signs a prepared course-fee request: "
            "8 coins + 400 KRW cash"
        )
        self._refused(
            "someone else's identity cannot spend a member's coins",
            lambda: members["S-0004"].pay("S-0001", "seocho-welfare", 1_000, 5, "gym-day", "PAY-X"),
        )

        donation = members["S-0004"].donate("S-0004", "chest-seoul", 5, "DON-1")
        say(
            "S-0004 donates 5 coins to the Community Chest "
            f"(receipt in transaction {str(donation.get('tx_id', ''))[:12]}…)"
        )

        version = admin.open_earning_to_all("now")["version"]
        say(
            f"The ordinance opens earning to all residents (policy version {version}; earlier "
            "transactions keep version 1)"
        )
        czshop = staff["banpo-czshop"]
        czshop.earn("R-0001", "hangers_10", 3, evidence("30 hangers"), "CZ-1")
        czshop.earn("R-0002", "pet_bottles_10", 2, evidence("20 PET bottles"), "CZ-2")
        say("Residents bring 30 hangers and 20 clear PET bottles to the carbon-zero shop: 5 coins")

        # Everything received so far: the story runs in seconds, inside the default one-minute margin.
        received_until = datetime.now(UTC).isoformat()
        settlement = staff["seocho-welfare"].request_settlement("seocho-welfare", "SETTLE-1", received_until)
        admin.mark_settlement_paid("seocho-welfare", "SETTLE-1", "BANK-REF-0001")
        say(
            f"The welfare centre settles {settlement.get('coins')} coins for {settlement.get('krw')} KRW; "
            "the district marks it paid"
        )

        audit = auditor.audit_supply()
        say(
            "The auditor checks the supply invariant on the live ledger: "
            f"{'OK' if audit.get('ok') else 'BROKEN'}"
        )
        report: dict[str, Any] = auditor.get_report()
        return report

    def _refused(self, story: str, attempt: Callable[[], object]) -> None:
        try:
            attempt()
        except RejectedError as exc:
            self.say(f"  ✗ {story}: {exc.message}")
            return
        raise SeochoError(f"the chaincode accepted what it must refuse: {story}")


def run_demo(ledger: EmbeddedLedger, say: Say) -> dict[str, Any]:
    """Tell the story on a fresh `ledger` and return the district's report."""
    return Demo(EmbeddedCast(ledger), say).run()


def run_demo_on_network(profile: Profile, say: Say) -> dict[str, Any]:
    """Tell the story on the network of `profile`, whose chaincode must be freshly deployed."""
    with ExitStack() as connections:
        return Demo(NetworkCast(profile, connections), say).run()


def cast_names() -> list[tuple[str, str, dict[str, str]]]:
    """Every identity the demo needs: (name, MSP id, certificate attributes), for provisioning a network."""
    names = [
        ("district-admin", DISTRICT_MSP, {"seocho.role": "admin"}),
        ("district-registrar", DISTRICT_MSP, {"seocho.role": "registrar"}),
        ("district-auditor", DISTRICT_MSP, {"seocho.role": "auditor"}),
    ]
    for plan in INSTITUTIONS:
        attributes = {
            "seocho.role": "staff",
            "seocho.institution": plan.institution_id,
            "seocho.manager": "true",
        }
        names.append((plan.staff, plan.msp_id, attributes))
    names.extend((f"member-{m}", DISTRICT_MSP, {"seocho.role": "member"}) for m in SENIORS + RESIDENTS)
    return names
