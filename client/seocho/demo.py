"""The district's 2023 story, told on a fresh ledger: the first job of the `seocho` command line.

Institutions join, senior members volunteer and attend courses, pay facility fees in coins and cash,
donate to a charity; the ordinance opens earning to all residents; an institution exchanges its coins
for won; the auditor prints the district's report and checks that every coin is accounted for. Every
step is a real transaction signed by the identity whose role it is, so the chaincode's rules apply.

On the embedded ledger the story happens on its own dates (from 6 March 2023 unless told otherwise),
over a few months; on a network it happens today, because each peer checks a proposal's timestamp
against its own clock (within the policy's `max_clock_skew_seconds`). Only the dates differ: the same
transactions with the same amounts give the same report, but for `by_month`.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any

from embedded_ledger import EmbeddedLedger

from seocho.cast import Actor, Cast, EmbeddedCast, NetworkCast
from seocho.coin import Coin
from seocho.errors import ConflictError, RejectedError, SeochoError
from seocho.i18n import _
from seocho.profile import Profile

KST = timezone(timedelta(hours=9), "KST")
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


class StoryClock:
    """The demo's own time: each scene sets the moment, and every reading is a millisecond later.

    It stamps the embedded ledger's proposals and is also its endorsing peer's clock, so the story's
    transactions carry the story's dates and pass the chaincode's clock-skew check.
    """

    def __init__(self, start: datetime) -> None:
        self._now = start

    def __call__(self) -> datetime:
        self._now += timedelta(milliseconds=1)
        return self._now

    def move_to(self, moment: datetime) -> None:
        self._now = max(self._now, moment)


DEFAULT_START = date(2023, 3, 6)
"""The story starts on a Monday of March 2023 (the 2023 rules are in force from 1 January 2023)."""
ORDINANCE_AFTER = timedelta(days=87)  # the 2023 ordinance opened earning to all residents in June


class Demo:
    """Runs the story with identities from `cast`, printing each step through `say`.

    With a `clock` (the embedded ledger) the story happens on its own dates from `start`; without one
    (a network, whose peers check proposal timestamps against their own clocks) it happens today.
    """

    def __init__(self, cast: Cast, say: Say, start: date, clock: StoryClock | None = None) -> None:
        self.cast = cast
        self.say = say
        self.start = start
        self.clock = clock
        self.now = datetime.now(KST)

    def at(self, days: timedelta, hour: int) -> None:
        """Move the story to `hour` o'clock of the day `days` after the start (on a network: to now)."""
        if self.clock is None:
            self.now = datetime.now(KST)
            return
        moment = datetime.combine(self.start + days, time(hour), tzinfo=KST)
        self.clock.move_to(moment.astimezone(UTC))
        self.now = moment

    def tell(self, line: str) -> None:
        self.say(f"{self.now:%Y-%m-%d}  {line}")

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
                    _("the demo needs a new ledger: this one has seen policy changes already")
                ) from None
            return dict(admin.get_policy(1))

    def run(self) -> dict[str, Any]:
        day = timedelta(days=1)
        self.at(0 * day, 9)
        admin = self.enroll("district-admin", DISTRICT_MSP, role="admin").coin
        registrar = self.enroll("district-registrar", DISTRICT_MSP, role="registrar").coin
        auditor = self.enroll("district-auditor", DISTRICT_MSP, role="auditor").coin

        policy = self.initialise(admin)
        self.tell(
            _(
                "Seocho-gu starts the coin: 1 coin = {value} KRW, volunteering earns {rate} coins an hour, "
                "residents aged 60 and over may earn"
            ).format(
                value=policy["coin_value_krw"], rate=policy["activities"]["volunteer_hour"]["coins_per_unit"]
            )
        )
        earning_years = sorted(
            {str((self.start + d).year) for d in (day, 2 * day, ORDINANCE_AFTER + 4 * day)}
        )
        if self.clock is None:
            earning_years = [str(self.now.year)]
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
                for year in earning_years:
                    admin.allocate_allowance(plan.institution_id, identity.client_id, year, 2_000)
        self.tell(
            _(
                "{count} partner institutions join: a community centre, a welfare centre, "
                "a carbon-zero shop and the Community Chest"
            ).format(count=len(INSTITUTIONS))
        )

        self.at(0 * day, 14)
        members: dict[str, Coin] = {}
        for member_id in SENIORS + RESIDENTS:
            identity = self.enroll(f"member-{member_id}", DISTRICT_MSP, role="member")
            category = "senior" if member_id in SENIORS else "resident"
            registrar.register_member(member_id, [category], identity.client_id)
            members[member_id] = identity.coin
        self.tell(
            _(
                "The district enrols {seniors} senior members and {residents} younger residents under "
                "member numbers, without names: no personal data goes on the ledger"
            ).format(seniors=len(SENIORS), residents=len(RESIDENTS))
        )

        self.at(1 * day, 10)
        welfare, centre = staff["seocho-welfare"], staff["yangjae1-cc"]
        hours = {"S-0001": 4, "S-0002": 3, "S-0003": 8, "S-0004": 2}
        for member_id, h in hours.items():
            welfare.earn(member_id, "volunteer_hour", h, evidence(f"sheet {member_id}"), f"VOL-{member_id}")
        self.tell(
            _("Seniors volunteer at the welfare centre: {hours} hours, {coins} coins").format(
                hours=sum(hours.values()), coins=3 * sum(hours.values())
            )
        )
        self._refused(
            _("a ninth hour of volunteering on the same day does not count"),
            lambda: welfare.earn("S-0003", "volunteer_hour", 1, evidence("late"), "VOL-LATE"),
        )
        self._refused(
            _("a younger resident cannot earn yet"),
            lambda: staff["banpo-czshop"].earn("R-0001", "hangers_10", 1, evidence("h"), "CZ-EARLY"),
        )
        self._refused(
            _("the same volunteering sheet handed in twice is counted once"),
            lambda: welfare.earn("S-0001", "volunteer_hour", 4, evidence("sheet S-0001"), "VOL-S-0001"),
        )

        self.at(2 * day, 10)
        for n, member_id in enumerate(SENIORS):
            centre.earn(member_id, "course_session", 2, evidence(f"course {member_id}"), f"COURSE-{n}")
            centre.earn(member_id, "health_session", 1, evidence(f"health {member_id}"), f"HEALTH-{n}")
        self.tell(
            _(
                "{count} seniors attend two course sessions and a health programme at the community centre"
            ).format(count=len(SENIORS))
        )

        self.at(9 * day, 11)
        members["S-0001"].pay("S-0001", "seocho-welfare", 3_000, 10, "gym-month", "PAY-GYM-1")
        self.tell(
            _("S-0001 pays the welfare-centre gym (3,000 KRW): 10 coins = 2,000 KRW, 1,000 KRW in cash")
        )
        members["S-0003"].pay("S-0003", "seocho-welfare", 4_000, 20, "cafeteria", "PAY-CAF-1")
        self.tell(_("S-0003 pays the cafeteria (4,000 KRW) entirely in coins: 20 coins"))
        self._refused(
            _("nobody can spend another member's coins"),
            lambda: members["S-0004"].pay("S-0001", "seocho-welfare", 1_000, 5, "gym-day", "PAY-X"),
        )
        self.at(10 * day, 15)
        expires = (self.now + timedelta(minutes=30)).isoformat(timespec="seconds")
        centre.create_payment_request("KIOSK-1", 2_000, 8, "course-fee", expires)
        members["S-0002"].pay_request("yangjae1-cc", "KIOSK-1", "S-0002")
        self.tell(_("At the community-centre kiosk S-0002 pays a course fee: 8 coins and 400 KRW in cash"))

        self.at(14 * day, 10)
        members["S-0004"].donate("S-0004", "chest-seoul", 5, "DON-1")
        self.tell(_("S-0004 donates 5 coins to the Community Chest; the ledger keeps the donation receipt"))

        self.at(ORDINANCE_AFTER, 9)
        admin.open_earning_to_all("now")
        self.tell(
            _(
                "The ordinance opens earning to all residents from today; "
                "what was earned before keeps the rules it was earned under"
            )
        )
        self.at(ORDINANCE_AFTER + 4 * day, 13)
        czshop = staff["banpo-czshop"]
        czshop.earn("R-0001", "hangers_10", 3, evidence("30 hangers"), "CZ-1")
        czshop.earn("R-0002", "pet_bottles_10", 2, evidence("20 PET bottles"), "CZ-2")
        self.tell(_("Residents bring 30 hangers and 20 clear PET bottles to the carbon-zero shop: 5 coins"))

        self.at(ORDINANCE_AFTER + 25 * day, 17)
        # Everything received so far: on a network the story runs in seconds, inside the one-minute margin.
        received_until = self.now.astimezone(UTC).isoformat()
        settlement = welfare.request_settlement("seocho-welfare", "SETTLE-1", received_until)
        admin.mark_settlement_paid("seocho-welfare", "SETTLE-1", "BANK-REF-0001")
        self.tell(
            _(
                "The welfare centre exchanges the {coins} coins it received for {krw:,} KRW; "
                "the district pays and records it"
            ).format(coins=settlement.get("coins"), krw=settlement.get("krw") or 0)
        )

        audit = auditor.audit_supply()
        self.tell(
            _("The auditor checks that every coin is accounted for: {verdict}").format(
                verdict=_("yes, every coin") if audit.get("ok") else _("NO: coins are missing")
            )
        )
        report: dict[str, Any] = auditor.get_report()
        return report

    def _refused(self, story: str, attempt: Callable[[], object]) -> None:
        try:
            attempt()
        except RejectedError as exc:
            # The chaincode's own reason is for developers (SEOCHO_DEBUG=1); the story says what happened.
            detail = f" [{exc.message}]" if os.environ.get("SEOCHO_DEBUG") else ""
            self.say(_("  ✗ {story}: the ledger refused it").format(story=story) + detail)
            return
        raise SeochoError(_("the chaincode accepted what it must refuse: {story}").format(story=story))


def run_demo(ledger: EmbeddedLedger, say: Say, start: date, clock: StoryClock) -> dict[str, Any]:
    """Tell the story on a fresh `ledger` opened with `clock`, from `start`; return the district's report."""
    return Demo(EmbeddedCast(ledger), say, start, clock).run()


def run_demo_on_network(profile: Profile, say: Say) -> dict[str, Any]:
    """Tell the story on the network of `profile`, whose chaincode must be freshly deployed."""
    with ExitStack() as connections:
        return Demo(NetworkCast(profile, connections), say, datetime.now(KST).date()).run()


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
