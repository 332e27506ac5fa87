"""A test's own corner of a coin ledger: new institutions, staff and members, and the default rules in force.

On the session network every test shares one coin ledger (its own chaincode, `seocho-rules`, apart from
the `seocho` ledger the other network tests use), so a world never reuses an id, and it starts by
putting the district's default rules in force as a new policy version "now": whatever an earlier test
made the policy, this test's rules are the defaults. Versions never go back in time, so it first waits
(on the ledger) until no version lies in the future.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from coin_network import DISTRICT, PARTNERS
from rules_ledgers import RulesLedger, local_time, now, wait_until
from seocho_coin.policy import default_policy_data

EVIDENCE = "cd" * 32
KST_MINUTES = 540


def default_rules() -> dict[str, Any]:
    """The 2023 defaults as a policy change taking effect now."""
    rules = default_policy_data()
    del rules["version"]
    rules["effective_from"] = "now"
    return rules


def local_year(moment: datetime, offset_minutes: int = KST_MINUTES) -> str:
    return local_time(moment, offset_minutes).strftime("%Y")


@dataclass
class World:
    ledger: RulesLedger
    cc: str
    """A community centre: attests volunteering and courses, sells (gym, cafeteria)."""
    wc: str
    """A welfare centre: attests volunteering."""
    charity: str
    m1: str
    m2: str
    baseline_version: int

    def balance(self, member: str) -> int:
        return int(self.ledger.query("auditor", "get_balance", member)["coins"])

    def statement(self, institution: str | None = None) -> dict[str, Any]:
        who = "cc_manager" if institution in (None, self.cc) else "charity_manager"
        return dict(self.ledger.query(who, "get_institution_statement", institution or self.cc))

    def versions(self) -> list[int]:
        return [p["version"] for p in self.ledger.query("auditor", "list_policies")]

    def allow(self, year: str, coins: int = 1_000) -> None:
        """Gives the staff who attest earnings an allowance for `year`."""
        for staff, institution in (("cc_staff", self.cc), ("wc_manager", self.wc)):
            self.ledger.submit(
                "admin", "allocate_allowance", institution, self.ledger.client_id(staff), year, coins
            )


def no_version_ahead(ledger: RulesLedger) -> bool:
    latest = ledger.query("auditor", "list_policies")[-1]["effective_from"]
    return datetime.fromisoformat(latest) <= now()


def build_world(ledger: RulesLedger) -> World:
    token = secrets.token_hex(3)
    digits = f"{secrets.randbelow(10**9):09d}"
    ledger.enroll("admin", DISTRICT, role="admin")
    ledger.enroll("registrar", DISTRICT, role="registrar")
    ledger.enroll("auditor", DISTRICT, role="auditor")
    if not ledger.shared:
        ledger.submit("admin", "init_ledger", DISTRICT)
    wait_until(lambda: no_version_ahead(ledger), "the policy versions a previous test set to take effect")
    baseline = ledger.submit("admin", "set_policy", default_rules())["version"]
    world = World(
        ledger, f"cc-{token}", f"wc-{token}", f"ch-{token}", f"R-{digits}1", f"R-{digits}2", baseline
    )
    for institution, kind, activities, sells, donations, quota, msp in (
        (world.cc, "community_centre", ["volunteer_hour", "course_session"], True, False, 100_000, DISTRICT),
        (world.wc, "welfare_centre", ["volunteer_hour"], True, False, 50_000, PARTNERS),
        (world.charity, "charity", [], False, True, 0, PARTNERS),
    ):
        ledger.submit(
            "admin", "register_institution", institution, kind, activities, sells, donations, quota, msp
        )
    ledger.enroll("cc_manager", DISTRICT, role="staff", institution=world.cc, manager="true")
    ledger.enroll("cc_staff", DISTRICT, role="staff", institution=world.cc)
    ledger.enroll("wc_manager", PARTNERS, role="staff", institution=world.wc, manager="true")
    ledger.enroll("charity_manager", PARTNERS, role="staff", institution=world.charity, manager="true")
    world.allow(local_year(now()))
    for alias, member in (("m1", world.m1), ("m2", world.m2)):
        ledger.enroll(alias, DISTRICT, role="member")
        ledger.submit("registrar", "register_member", member, ["senior"], ledger.client_id(alias))
    return world
