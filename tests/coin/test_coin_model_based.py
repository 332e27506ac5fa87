"""Model-based test: random sequences of every coin operation against an independent model.

Hypothesis drives a state machine through earnings (hourly and per session), direct and kiosk
payments, donations, settlements, expiry, policy changes (coin value, payment unit, expiry), clock
jumps across days, months and years, statistics compaction, allowance allocation and reclaim,
(de)activation of members and institutions, and proposals stamped too far from the peer's clock.
Every operation is endorsed on a fresh embedded ledger and its status must be the one `CoinModel`
predicts; an accepted one is committed, a refused one must leave no write, no event and the
ledger's state byte-identical. After every step the supply audit must be ok and agree with the
model, as must every member's balance and spendable coins and every institution's unredeemed
coins and their KRW value.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta
from typing import Any

from coin_model import CHARITY, MEMBERS, SELLER, CoinModel, local_month, local_year
from coin_network import CHAINCODE, EVIDENCE, Clock, CoinNetwork, build_world, kst
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

MEMBER_IDENTITY = {"M-001": "m1", "M-002": "m2"}
MANAGER = {SELLER: "cc_manager", CHARITY: "charity_manager"}

members = st.sampled_from(MEMBERS)
FRESH = "fresh"
requests = st.sampled_from(["r1", "r2", "r3", FRESH, FRESH, FRESH])
"""Three shared ids, so ids collide within and across kinds, or an id never used before."""
institutions = st.sampled_from([SELLER, CHARITY])
coins = st.integers(1, 12)


def world_rows(net: CoinNetwork) -> dict[str, list[datetime]]:
    """The stamps of the delta rows building the world left (registrations), which compaction folds."""
    rows: dict[str, list[datetime]] = {}
    for key in net.ledger.world_state(CHAINCODE):
        parts = key.split("\x00")
        if len(parts) == 6 and parts[1] in ("stat", "tally"):
            rows.setdefault(parts[2], []).append(datetime.fromisoformat(parts[3]))
    return rows


class CoinMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.clock = Clock(kst(2024, 12, 20, 10))  # late in the year: one long jump reaches expiry
        self.net = build_world(CoinNetwork.open(self.clock))
        self.model = CoinModel.of_world(self.clock.moment)
        self.model.stat_rows = world_rows(self.net)
        self.settlements = 0
        self.registered = 0
        self.fresh_ids = 0

    @initialize(expiry_years=st.sampled_from([None, 1]))
    def start(self, expiry_years: int | None) -> None:
        """Allowances for the years ahead, maybe an expiry rule, and a head start for each member."""
        if expiry_years is not None:
            self.set_policy({"expiry_years": expiry_years})
        activities = ["course_session", "volunteer_hour"]
        self.attempt(200, "admin", "update_institution", SELLER, activities, True, True)  # takes donations
        staff = self.net.client_id("cc_staff")
        for year in range(2025, 2031):  # so earnings go on across the years the clock may reach
            expected = self.model.change_allowance(self.next_stamp(), year, 1_000, reclaim=False)
            self.attempt(expected, "admin", "allocate_allowance", SELLER, staff, str(year), 1_000)
        for member in MEMBERS:
            request = f"seed-{member}"
            expected = self.model.earn(self.next_stamp(), member, "course_session", 20, request)
            self.attempt(expected, "cc_staff", "earn", member, "course_session", 20, EVIDENCE, request)

    def teardown(self) -> None:
        self.net.ledger.close()

    # ---- helpers ----------------------------------------------------------------------------------

    def request_id(self, drawn: str) -> str:
        if drawn != FRESH:
            return drawn
        self.fresh_ids += 1
        return f"u{self.fresh_ids}"

    def next_stamp(self) -> datetime:
        """The timestamp the next proposal will carry (the clock adds a millisecond per proposal)."""
        return self.clock.moment + timedelta(milliseconds=1)

    def attempt(self, expected: int, who: str, fn: str, *args: Any) -> Any:
        """Endorse; the status must be `expected`; commit an acceptance, check a refusal changed nothing."""
        before = self.net.ledger.world_state(CHAINCODE)
        endorsed = self.net.simulate(who, fn, *args)
        response = endorsed.response
        assert response.status == expected, f"{fn}{args}: {response.status} {response.message}"
        if expected != 200:
            assert endorsed.rwset.is_read_only and endorsed.event is None, f"{fn} refused but wrote"
            assert self.net.ledger.world_state(CHAINCODE) == before
            return None
        record = self.net.ledger.commit([endorsed]).transactions[0]
        assert record.is_valid, record.validation_code_name
        return json.loads(response.payload) if response.payload else None

    # ---- coin movements -------------------------------------------------------------------------

    @rule(member=members, activity=st.sampled_from(["volunteer_hour", "course_session"]),
          quantity=st.integers(1, 5), request=requests)  # fmt: skip
    def earn(self, member: str, activity: str, quantity: int, request: str) -> None:
        request = self.request_id(request)
        expected = self.model.earn(self.next_stamp(), member, activity, quantity, request)
        self.attempt(expected, "cc_staff", "earn", member, activity, quantity, EVIDENCE, request)

    @rule(member=members, amount=coins, request=requests)
    def pay(self, member: str, amount: int, request: str) -> None:
        request = self.request_id(request)
        expected = self.model.pay(self.next_stamp(), member, amount, request)
        self.attempt(
            expected, MEMBER_IDENTITY[member], "pay", member, SELLER, 100_000, amount, "gym", request
        )

    @rule(member=members, institution=institutions, amount=coins, request=requests)
    def donate(self, member: str, institution: str, amount: int, request: str) -> None:
        request = self.request_id(request)
        expected = self.model.donate(self.next_stamp(), member, institution, amount, request)
        self.attempt(expected, MEMBER_IDENTITY[member], "donate", member, institution, amount, request)

    @rule(request=requests, amount=coins, minutes=st.sampled_from([30, 600]))
    def create_payment_request(self, request: str, amount: int, minutes: int) -> None:
        request = self.request_id(request)
        stamp = self.next_stamp()
        expires_at = stamp + timedelta(minutes=minutes)
        expected = self.model.create_request(stamp, request, amount, expires_at)
        self.attempt(expected, "cc_staff", "create_payment_request", request, 100_000, amount, "kiosk",
                     expires_at.isoformat())  # fmt: skip

    @rule(member=members, data=st.data())
    def pay_request(self, member: str, data: st.DataObject) -> None:
        request = data.draw(st.sampled_from([*self.model.kiosk, "r1"]), "request")  # mostly a real one
        expected = self.model.pay_request(self.next_stamp(), request, member)
        self.attempt(expected, MEMBER_IDENTITY[member], "pay_request", SELLER, request, member)

    @rule(institution=institutions, wait=st.booleans())
    def request_settlement(self, institution: str, wait: bool) -> None:
        if wait:  # past the settlement margin, so the latest receipts are due too
            self.clock.advance(minutes=2)
        self.settlements += 1
        expected, (redeemed, krw) = self.model.settle(self.next_stamp(), institution)
        result = self.attempt(expected, MANAGER[institution], "request_settlement", institution,
                              f"S-{self.settlements}", "")  # fmt: skip
        if result is not None:
            assert (result["coins"], result["krw"]) == (redeemed, krw)

    @rule(member=members)
    def expire_coins(self, member: str) -> None:
        expected = self.model.expire(self.next_stamp(), member)
        self.attempt(expected, "admin", "expire_coins", member)

    # ---- governance, time and administration ------------------------------------------------------

    @rule(changes=st.fixed_dictionaries({}, optional={
        "coin_value_krw": st.sampled_from([100, 200]),
        "payment_unit": st.sampled_from([1, 2, 5]),
        "expiry_years": st.sampled_from([None, 1, 1, 2]),
    }))  # fmt: skip
    def set_policy(self, changes: dict[str, int | None]) -> None:
        expected = self.model.set_policy(self.next_stamp(), changes)
        self.attempt(expected, "admin", "set_policy", {"effective_from": "now", **changes})

    @rule(jump=st.sampled_from([timedelta(minutes=2), timedelta(hours=3), timedelta(days=1),
                                timedelta(days=40), timedelta(days=400)]))  # fmt: skip
    def let_time_pass(self, jump: timedelta) -> None:
        self.clock.advance(seconds=jump.total_seconds())

    @rule(task=st.sampled_from(["skew", "compact", "allowance", "member", "institution", "register"]),
          data=st.data())  # fmt: skip
    def administer(self, task: str, data: st.DataObject) -> None:
        """The rarer operations share one rule, so coin movements make up most steps."""
        getattr(self, f"_{task}")(data)

    def _skew(self, data: st.DataObject) -> None:
        self.clock.client_offset = timedelta(minutes=data.draw(st.sampled_from([10, -10]), "offset"))
        try:
            self.attempt(400, "cc_staff", "earn", "M-001", "course_session", 1, EVIDENCE, "skewed")
        finally:
            self.clock.client_offset = timedelta()

    def _compact(self, data: st.DataObject) -> None:
        stamp = self.next_stamp()
        month = data.draw(st.sampled_from([*self.model.months(), local_month(stamp)]), "month")
        self.attempt(self.model.compact(stamp, month), "admin", "compact_stats", month)

    def _allowance(self, data: st.DataObject) -> None:
        stamp = self.next_stamp()
        year = local_year(stamp) + data.draw(st.sampled_from([-1, 0, 1]), "year")
        amount = data.draw(st.sampled_from([10, 300, 1_000]), "coins")
        reclaim = data.draw(st.booleans(), "reclaim")
        expected = self.model.change_allowance(stamp, year, amount, reclaim)
        fn = "reclaim_allowance" if reclaim else "allocate_allowance"
        self.attempt(expected, "admin", fn, SELLER, self.net.client_id("cc_staff"), str(year), amount)

    def _register(self, data: st.DataObject) -> None:
        """A new member (who never earns here), sometimes recategorised: tally rows the audit recounts."""
        self.registered += 1
        member = f"N-{self.registered:03d}"
        client = base64.b64encode(f"x509::CN={member}::CN=ca".encode()).decode()
        categories = st.sampled_from([["senior"], ["resident"], ["resident", "worker"]])
        self.model._row(self.next_stamp())
        self.attempt(200, "registrar", "register_member", member, data.draw(categories, "categories"), client)
        if data.draw(st.booleans(), "recategorise"):
            self.model._row(self.next_stamp())
            self.attempt(200, "registrar", "set_member_categories", member, data.draw(categories, "new"))

    def _member(self, data: st.DataObject) -> None:
        member = data.draw(members, "member")
        self._toggle(member, "member", "registrar", data)

    def _institution(self, data: st.DataObject) -> None:
        self._toggle(data.draw(institutions, "institution"), "institution", "admin", data)

    def _toggle(self, party: str, kind: str, who: str, data: st.DataObject) -> None:
        """Usually flip the party's state; sometimes repeat it (a 409), so both answers are tried."""
        active = party in self.model.inactive
        if data.draw(st.integers(0, 3), "repeat") == 0:
            active = not active
        fn = f"reactivate_{kind}" if active else f"deactivate_{kind}"
        self.attempt(self.model.set_active(party, active, self.next_stamp()), who, fn, party)

    # ---- after every step -------------------------------------------------------------------------

    @invariant()
    def the_ledger_agrees_with_the_model(self) -> None:
        audit = self.net.query("auditor", "audit_supply")
        assert audit["ok"], audit
        # The report's counts are aggregates; the audit recounts the rows and must agree with them.
        assert audit["aggregated"] == audit["counted"]
        assert audit["counted"]["participants"] == len(self.model.participants)
        flows = self.model.flows
        assert {k: audit[k] for k in flows} == flows
        assert audit["member_balances"] == sum(self.model.total(m) for m in MEMBERS)
        assert audit["institution_unredeemed"] == sum(self.model.unredeemed(i)[0] for i in MANAGER)
        for member in MEMBERS:
            stamp = self.next_stamp()
            balance = self.net.query("auditor", "get_balance", member)
            expected = (self.model.total(member), self.model.spendable(member, stamp))
            assert (balance["coins"], balance["spendable"]) == expected, (member, balance)
        for institution in MANAGER:
            unredeemed = self.net.query("auditor", "get_institution_statement", institution)["unredeemed"]
            assert (unredeemed["coins"], unredeemed["krw"]) == self.model.unredeemed(institution)


CoinMachine.TestCase.settings = settings(
    max_examples=30,
    stateful_step_count=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    # The explain phase traces every line to comment a failure: minutes on a ledger this size.
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
)
test_coin_rules_agree_with_the_model = CoinMachine.TestCase
