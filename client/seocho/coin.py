"""The coin API: one typed method per Seocho Coin transaction, the same on every backend.

`seocho.operations` declares each transaction; a test holds these methods to it (names, argument
order, submit or evaluate).

    coin = Coin(EmbeddedBackend(ledger, staff_identity))
    coin.earn("M-0001", "volunteer_hour", 2, evidence_hash, "REQ-1")

Arguments are encoded exactly as the chaincode's contract metadata declares (integers as decimal, booleans
as true/false, lists and objects as JSON); results are the chaincode's JSON documents.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from seocho.backend import Backend
from seocho.operations import encode_argument as _arg

Document = dict[str, Any]


class Coin:
    """Seocho Coin transactions, submitted or evaluated through `backend` as its identity."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    def _submit(self, function: str, *args: object) -> Any:
        return _decode(self.backend.submit(function, [_arg(a) for a in args]))

    def _evaluate(self, function: str, *args: object) -> Any:
        return _decode(self.backend.evaluate(function, [_arg(a) for a in args]))

    # governance (district admin)
    def init_ledger(self, district_msp: str) -> Document:
        return self._submit("init_ledger", district_msp)

    def migrate(self) -> list[Document]:
        """Bring the ledger's data layout up to the chaincode's (district admin; `deploy` runs it).

        Each migration recounts in bounded pages (evaluations), then submits the result; the
        results of the migrations applied, none when the ledger is up to date.
        """
        applied: list[Document] = []
        while True:
            cursor = ""
            while True:
                page = self.migration_page(cursor)
                if page["done"]:
                    break
                cursor = page["cursor"]
            if not page["pending"]:
                return applied
            applied.append(self._submit("migrate_ledger", page["version"], page["backfill"]))

    def migration_page(self, cursor: str = "") -> Document:
        """One page of the next migration's recount: `pending`, `done`, `cursor`, and at the end
        `version` and `backfill`."""
        return self._evaluate("migration_page", cursor)

    def set_policy(self, changes: Document) -> Document:
        return self._submit("set_policy", changes)

    def open_earning_to_all(self, effective_from: str = "now") -> Document:
        return self._submit("open_earning_to_all", effective_from)

    def get_policy(self, version: int = 0) -> Document:
        """Policy `version`; 0 means the version in force now."""
        return self._evaluate("get_policy", version)

    def list_policies(self) -> list[Document]:
        return self._evaluate("list_policies")

    # institutions
    def register_institution(
        self,
        institution_id: str,
        institution_type: str,
        activities: Sequence[str],
        *,
        sells_services: bool,
        takes_donations: bool,
        annual_quota: int,
        staff_msp: str,
    ) -> Document:
        """Register an institution (district admin).

        `staff_msp` is the only MSP whose identities count as its staff and managers; change it later
        with `set_institution_staff_msp`.
        """
        return self._submit(
            "register_institution",
            institution_id,
            institution_type,
            list(activities),
            sells_services,
            takes_donations,
            annual_quota,
            staff_msp,
        )

    def update_institution(
        self, institution_id: str, activities: Sequence[str], *, sells_services: bool, takes_donations: bool
    ) -> Document:
        return self._submit(
            "update_institution", institution_id, list(activities), sells_services, takes_donations
        )

    def deactivate_institution(self, institution_id: str) -> Document:
        return self._submit("deactivate_institution", institution_id)

    def reactivate_institution(self, institution_id: str) -> Document:
        """Let a deactivated institution attest, sell and receive again (district admin)."""
        return self._submit("reactivate_institution", institution_id)

    def set_institution_staff_msp(self, institution_id: str, msp_id: str) -> Document:
        """Change the MSP whose identities count as the institution's staff (district admin)."""
        return self._submit("set_institution_staff_msp", institution_id, msp_id)

    def set_annual_quota(self, institution_id: str, year: str, quota: int) -> Document:
        return self._submit("set_annual_quota", institution_id, year, quota)

    def allocate_allowance(
        self, institution_id: str, staff_client_id: str, year: str, coins: int, lane: int | None = None
    ) -> Document:
        """`lane` (0-63): the lane of the quota pool to draw on, as for `earn` (None: picked by hash)."""
        extra = () if lane is None else (lane,)
        return self._submit("allocate_allowance", institution_id, staff_client_id, year, coins, *extra)

    def reclaim_allowance(self, institution_id: str, staff_client_id: str, year: str, coins: int) -> Document:
        """Return `coins` of a staff identity's unused allowance to the institution's `year` pool.

        Admin or a manager of the institution; fails with a conflict when fewer coins are unused.
        """
        return self._submit("reclaim_allowance", institution_id, staff_client_id, year, coins)

    def get_allowance(self, institution_id: str, staff_client_id: str, year: str) -> Document:
        return self._evaluate("get_allowance", institution_id, staff_client_id, year)

    def get_institution(self, institution_id: str) -> Document:
        return self._evaluate("get_institution", institution_id)

    def list_institutions(self) -> list[Document]:
        return self._evaluate("list_institutions")

    # members (registrar)
    def register_member(self, member_id: str, categories: Sequence[str], client_id: str) -> Document:
        return self._submit("register_member", member_id, list(categories), client_id)

    def register_members(self, entries: Sequence[dict[str, Any]]) -> Document:
        """Register up to 1,000 members at once: `{"member_id", "categories", "client_id"}` each."""
        return self._submit("register_members", list(entries))

    def rebind_member(self, member_id: str, client_id: str) -> Document:
        return self._submit("rebind_member", member_id, client_id)

    def set_member_categories(self, member_id: str, categories: Sequence[str]) -> Document:
        return self._submit("set_member_categories", member_id, list(categories))

    def deactivate_member(self, member_id: str) -> Document:
        return self._submit("deactivate_member", member_id)

    def reactivate_member(self, member_id: str) -> Document:
        """Let a deactivated member act again through their bound identity (registrar).

        Fails with a conflict when that identity now belongs to another active member.
        """
        return self._submit("reactivate_member", member_id)

    def get_member(self, member_id: str) -> Document:
        return self._evaluate("get_member", member_id)

    # coin movements
    def earn(
        self,
        member_id: str,
        activity: str,
        quantity: int,
        evidence_hash: str,
        request_id: str,
        lane: int | None = None,
    ) -> Document:
        """Staff attest a deed; coins = the activity's rate × quantity under the policy in force.

        `evidence_hash` is the hex SHA-256 of the institution's evidence together with a random salt the
        institution keeps, so that the evidence cannot be guessed back from the ledger. `lane` (0-63)
        picks the lane of the staff's allowance: a terminal with several earnings in flight gives each
        its own lane so that none is invalidated; None lets the request id's hash pick one.
        """
        extra = () if lane is None else (lane,)
        return self._submit("earn", member_id, activity, quantity, evidence_hash, request_id, *extra)

    def pay(
        self,
        member_id: str,
        institution_id: str,
        price_krw: int,
        coins: int,
        service_code: str,
        request_id: str,
    ) -> Document:
        """The member pays `coins` towards a service priced `price_krw`; the rest is paid in cash."""
        return self._submit("pay", member_id, institution_id, price_krw, coins, service_code, request_id)

    def create_payment_request(
        self, request_id: str, price_krw: int, coins: int, service_code: str, expires_at: str
    ) -> Document:
        """Kiosk flow, step 1 (staff): a payment request the member then pays with `pay_request`."""
        return self._submit("create_payment_request", request_id, price_krw, coins, service_code, expires_at)

    def pay_request(self, institution_id: str, request_id: str, member_id: str) -> Document:
        """Kiosk flow, step 2 (the member's own identity): pay a prepared request exactly once."""
        return self._submit("pay_request", institution_id, request_id, member_id)

    def get_payment_request(self, institution_id: str, request_id: str) -> Document:
        return self._evaluate("get_payment_request", institution_id, request_id)

    def donate(self, member_id: str, charity_id: str, coins: int, request_id: str) -> Document:
        return self._submit("donate", member_id, charity_id, coins, request_id)

    def get_donation_receipt(self, tx_id: str) -> Document:
        return self._evaluate("get_donation_receipt", tx_id)

    def request_settlement(
        self, institution_id: str, settlement_id: str, cutoff: str | None = None
    ) -> Document:
        """Redeem the coins received before `cutoff` (an ISO date-time before now).

        Without a cutoff the policy's margin applies (`settlement_cutoff_seconds`, 60 by default):
        coins received in the last minute wait for the next settlement, so payments in flight never
        make the settlement fail.
        """
        return self._submit("request_settlement", institution_id, settlement_id, cutoff or "")

    def mark_settlement_paid(
        self, institution_id: str, settlement_id: str, payment_reference: str
    ) -> Document:
        return self._submit("mark_settlement_paid", institution_id, settlement_id, payment_reference)

    def expire_coins(self, member_id: str) -> Document:
        return self._submit("expire_coins", member_id)

    # queries and reports
    def get_balance(self, member_id: str) -> Document:
        return self._evaluate("get_balance", member_id)

    def get_member_history(self, member_id: str, page_size: int = 20, bookmark: str = "") -> Document:
        return self._evaluate("get_member_history", member_id, page_size, bookmark)

    def get_institution_statement(self, institution_id: str) -> Document:
        return self._evaluate("get_institution_statement", institution_id)

    def get_report(self) -> Document:
        return self._evaluate("get_report")

    def audit_supply(self) -> Document:
        """The supply audit, a bounded page per evaluation until done (auditor, admin).

        Equals the chaincode's one-shot `audit_supply`, which at district size would keep one
        evaluation busy for many seconds. If anything commits between the first and the last page,
        the last page is refused (409: the pages saw different states); call again.
        """
        cursor = ""
        while True:
            page = self.audit_supply_page(cursor)
            if page["done"]:
                audit: Document = page["audit"]
                return audit
            cursor = page["cursor"]

    def audit_supply_page(self, cursor: str = "") -> Document:
        """One page of the audit: `done`, the `cursor` to pass next, and on the last page `audit`."""
        return self._evaluate("audit_supply_page", cursor)

    def compact_stats(self, month: str) -> Document:
        """One compaction step (at most 10,000 delta rows); `more` says another step has rows to fold."""
        return self._submit("compact_stats", month)

    def compact_month(self, month: str) -> Document:
        """Compaction steps until the month has no foldable rows left; the last step's result, with
        `rows_folded` summed over the steps."""
        folded = 0
        while True:
            result = self.compact_stats(month)
            folded += result["rows_folded"]
            if not result["more"]:
                return {**result, "rows_folded": folded}


def _decode(payload: bytes) -> Any:
    return json.loads(payload) if payload else None
