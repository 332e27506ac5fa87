"""`SeochoCoinContract`: the coin's transactions, each a thin typed entry point into a rule module.

Every method validates and authorises inside its module, works on a buffered `Tx`, and only when the
rule returns normally are its writes and its one event handed to the stub. Submit transactions are
marked ``@transaction``; queries ``@transaction(evaluate=True)``.

Before any rule runs, the proposal's timestamp is checked against the endorsing peer's clock
(`seocho_coin.timing`). The contract instance keeps decoded policy versions between transactions
(`seocho_coin.policy_cache`); nothing else survives a transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from fabric_shim.contract import Context, Contract, transaction
from fabric_shim.contract_errors import Forbidden
from fabric_shim.errors import IdentityError

from seocho_coin import (
    aggregates,
    allowances,
    audit,
    donations,
    earning,
    expiry,
    governance,
    institutions,
    members,
    migrations,
    payments,
    read_plans,
    reports,
    settlement,
    timing,
)
from seocho_coin.lanes import AUTO
from seocho_coin.policy_cache import PolicyCache
from seocho_coin.txn import Caller, Tx

T = TypeVar("T")
DEFAULT_DISTRICT_MSP = "SeochoDistrictMSP"

# The movements' keys, read in batched calls before their rules run (see `seocho_coin.read_plans`).
_READ_PLANS: dict[Callable[..., Any], read_plans.ReadPlan] = {
    earning.earn: read_plans.earn,
    payments.pay: read_plans.pay,
    payments.pay_request: read_plans.pay_request,
    donations.donate: read_plans.donate,
}


class SeochoCoinContract(Contract):
    """Seocho Coin: earn for good deeds, pay and donate at partner institutions, settle for won."""

    name = "SeochoCoin"
    title = "Seocho Coin"

    def __init__(
        self,
        expected_district_msp: str | None = DEFAULT_DISTRICT_MSP,
        clock: timing.Clock = timing.utc_now,
    ) -> None:
        """`expected_district_msp`: the only MSP `init_ledger` accepts (None accepts any).

        `clock`: the endorsing peer's clock, against which every proposal's timestamp is checked
        (tests that pin proposal timestamps pass the same pinned clock). It only decides whether a
        proposal is accepted; nothing written depends on it.
        """
        self.expected_district_msp = expected_district_msp
        self.clock = clock
        self.policies = PolicyCache()

    def _run(self, ctx: Context, rule: Callable[..., T], *args: Any) -> T:
        try:
            caller = Caller.from_identity(ctx.client_identity)
        except IdentityError:
            raise Forbidden("the transaction creator is not a usable X.509 identity") from None
        tx = Tx(ctx.stub, caller, self.policies)
        peer_now = self.clock()
        read_plans.run(_READ_PLANS.get(rule), tx, peer_now, *args)
        timing.require_fresh_timestamp(tx, peer_now)
        result = rule(tx, *args)
        tx.commit()
        return result

    # ---- governance ---------------------------------------------------------------------------------

    @transaction
    def init_ledger(self, ctx: Context, district_msp: str) -> dict[str, Any]:
        return self._run(ctx, governance.init_ledger, district_msp, self.expected_district_msp)

    @transaction(evaluate=True)
    def migration_page(self, ctx: Context, cursor: str) -> dict[str, Any]:
        """One bounded page of the next migration's recount: "" first, then each page's cursor."""
        return self._run(ctx, migrations.migration_page, cursor)

    @transaction
    def migrate_ledger(self, ctx: Context, version: int, backfill: dict[str, Any]) -> dict[str, Any]:
        """Apply the next migration with the result of its recount's last page."""
        return self._run(ctx, migrations.migrate_ledger, version, backfill)

    @transaction
    def set_policy(self, ctx: Context, changes: dict[str, Any]) -> dict[str, Any]:
        return self._run(ctx, governance.set_policy, changes)

    @transaction
    def open_earning_to_all(self, ctx: Context, effective_from: str) -> dict[str, Any]:
        return self._run(ctx, governance.open_earning_to_all, effective_from)

    @transaction(evaluate=True)
    def get_policy(self, ctx: Context, version: int) -> dict[str, Any]:
        return self._run(ctx, governance.get_policy, version)

    @transaction(evaluate=True)
    def list_policies(self, ctx: Context) -> list[dict[str, Any]]:
        return self._run(ctx, governance.list_policies)

    # ---- institutions -------------------------------------------------------------------------------

    @transaction
    def register_institution(
        self,
        ctx: Context,
        institution_id: str,
        institution_type: str,
        activities: list[str],
        sells_services: bool,
        takes_donations: bool,
        annual_quota: int,
        staff_msp: str,
    ) -> dict[str, Any]:
        return self._run(
            ctx,
            institutions.register_institution,
            institution_id,
            institution_type,
            activities,
            sells_services,
            takes_donations,
            annual_quota,
            staff_msp,
        )

    @transaction
    def update_institution(
        self,
        ctx: Context,
        institution_id: str,
        activities: list[str],
        sells_services: bool,
        takes_donations: bool,
    ) -> dict[str, Any]:
        return self._run(
            ctx,
            institutions.update_institution,
            institution_id,
            activities,
            sells_services,
            takes_donations,
        )

    @transaction
    def deactivate_institution(self, ctx: Context, institution_id: str) -> dict[str, Any]:
        return self._run(ctx, institutions.deactivate_institution, institution_id)

    @transaction
    def reactivate_institution(self, ctx: Context, institution_id: str) -> dict[str, Any]:
        return self._run(ctx, institutions.reactivate_institution, institution_id)

    @transaction
    def set_institution_staff_msp(self, ctx: Context, institution_id: str, msp_id: str) -> dict[str, Any]:
        return self._run(ctx, institutions.set_institution_staff_msp, institution_id, msp_id)

    @transaction
    def set_annual_quota(self, ctx: Context, institution_id: str, year: str, quota: int) -> dict[str, Any]:
        return self._run(ctx, allowances.set_annual_quota, institution_id, year, quota)

    @transaction
    def allocate_allowance(
        self,
        ctx: Context,
        institution_id: str,
        staff_client_id: str,
        year: str,
        coins: int,
        lane: int = AUTO,
    ) -> dict[str, Any]:
        """`lane`: which lane of the institution's quota pool to draw on (see `seocho_coin.lanes`)."""
        return self._run(
            ctx, allowances.allocate_allowance, institution_id, staff_client_id, year, coins, lane
        )

    @transaction
    def reclaim_allowance(
        self, ctx: Context, institution_id: str, staff_client_id: str, year: str, coins: int
    ) -> dict[str, Any]:
        return self._run(ctx, allowances.reclaim_allowance, institution_id, staff_client_id, year, coins)

    @transaction(evaluate=True)
    def get_allowance(
        self, ctx: Context, institution_id: str, staff_client_id: str, year: str
    ) -> dict[str, Any]:
        return self._run(ctx, allowances.get_allowance, institution_id, staff_client_id, year)

    @transaction(evaluate=True)
    def get_institution(self, ctx: Context, institution_id: str) -> dict[str, Any]:
        return self._run(ctx, institutions.get_institution, institution_id)

    @transaction(evaluate=True)
    def list_institutions(self, ctx: Context) -> list[dict[str, Any]]:
        return self._run(ctx, institutions.list_institutions)

    # ---- members ------------------------------------------------------------------------------------

    @transaction
    def register_member(
        self, ctx: Context, member_id: str, categories: list[str], client_id: str
    ) -> dict[str, Any]:
        return self._run(ctx, members.register_member, member_id, categories, client_id)

    @transaction
    def register_members(self, ctx: Context, entries: list[Any]) -> dict[str, Any]:
        return self._run(ctx, members.register_members, entries)

    @transaction
    def rebind_member(self, ctx: Context, member_id: str, client_id: str) -> dict[str, Any]:
        return self._run(ctx, members.rebind_member, member_id, client_id)

    @transaction
    def set_member_categories(self, ctx: Context, member_id: str, categories: list[str]) -> dict[str, Any]:
        return self._run(ctx, members.set_member_categories, member_id, categories)

    @transaction
    def deactivate_member(self, ctx: Context, member_id: str) -> dict[str, Any]:
        return self._run(ctx, members.deactivate_member, member_id)

    @transaction
    def reactivate_member(self, ctx: Context, member_id: str) -> dict[str, Any]:
        return self._run(ctx, members.reactivate_member, member_id)

    @transaction(evaluate=True)
    def get_member(self, ctx: Context, member_id: str) -> dict[str, Any]:
        return self._run(ctx, members.get_member, member_id)

    # ---- coin movements -----------------------------------------------------------------------------

    @transaction
    def earn(
        self,
        ctx: Context,
        member_id: str,
        activity: str,
        quantity: int,
        evidence_hash: str,
        request_id: str,
        lane: int = AUTO,
    ) -> dict[str, Any]:
        """`lane`: which lane of the staff's allowance to draw on (see `seocho_coin.lanes`)."""
        return self._run(ctx, earning.earn, member_id, activity, quantity, evidence_hash, request_id, lane)

    @transaction
    def pay(
        self,
        ctx: Context,
        member_id: str,
        institution_id: str,
        price_krw: int,
        coins: int,
        service_code: str,
        request_id: str,
    ) -> dict[str, Any]:
        return self._run(
            ctx, payments.pay, member_id, institution_id, price_krw, coins, service_code, request_id
        )

    @transaction
    def create_payment_request(
        self,
        ctx: Context,
        request_id: str,
        price_krw: int,
        coins: int,
        service_code: str,
        expires_at: str,
    ) -> dict[str, Any]:
        return self._run(
            ctx, payments.create_payment_request, request_id, price_krw, coins, service_code, expires_at
        )

    @transaction
    def pay_request(
        self, ctx: Context, institution_id: str, request_id: str, member_id: str
    ) -> dict[str, Any]:
        return self._run(ctx, payments.pay_request, institution_id, request_id, member_id)

    @transaction(evaluate=True)
    def get_payment_request(self, ctx: Context, institution_id: str, request_id: str) -> dict[str, Any]:
        return self._run(ctx, payments.get_payment_request, institution_id, request_id)

    @transaction
    def donate(
        self, ctx: Context, member_id: str, charity_id: str, coins: int, request_id: str
    ) -> dict[str, Any]:
        return self._run(ctx, donations.donate, member_id, charity_id, coins, request_id)

    @transaction(evaluate=True)
    def get_donation_receipt(self, ctx: Context, tx_id: str) -> dict[str, Any]:
        return self._run(ctx, donations.get_donation_receipt, tx_id)

    @transaction
    def request_settlement(
        self, ctx: Context, institution_id: str, settlement_id: str, cutoff: str
    ) -> dict[str, Any]:
        """`cutoff`: redeem receipts stamped before it (ISO date-time), or "" for the policy's default."""
        return self._run(ctx, settlement.request_settlement, institution_id, settlement_id, cutoff)

    @transaction
    def mark_settlement_paid(
        self, ctx: Context, institution_id: str, settlement_id: str, payment_reference: str
    ) -> dict[str, Any]:
        return self._run(
            ctx, settlement.mark_settlement_paid, institution_id, settlement_id, payment_reference
        )

    @transaction(evaluate=True)
    def get_institution_statement(self, ctx: Context, institution_id: str) -> dict[str, Any]:
        return self._run(ctx, settlement.get_institution_statement, institution_id)

    @transaction
    def expire_coins(self, ctx: Context, member_id: str) -> dict[str, Any]:
        return self._run(ctx, expiry.expire_coins, member_id)

    # ---- queries and reports ------------------------------------------------------------------------

    @transaction(evaluate=True)
    def get_balance(self, ctx: Context, member_id: str) -> dict[str, Any]:
        return self._run(ctx, reports.get_balance, member_id)

    @transaction(evaluate=True)
    def get_member_history(
        self, ctx: Context, member_id: str, page_size: int, bookmark: str
    ) -> dict[str, Any]:
        return self._run(ctx, reports.get_member_history, member_id, page_size, bookmark)

    @transaction(evaluate=True)
    def get_report(self, ctx: Context) -> dict[str, Any]:
        return self._run(ctx, reports.get_report)

    @transaction(evaluate=True)
    def audit_supply(self, ctx: Context) -> dict[str, Any]:
        """The whole audit in one evaluation; at district size use `audit_supply_page` (bounded)."""
        return self._run(ctx, audit.audit_supply)

    @transaction(evaluate=True)
    def audit_supply_page(self, ctx: Context, cursor: str) -> dict[str, Any]:
        """One bounded page of the audit: pass "" first, then each page's cursor until `done`."""
        return self._run(ctx, audit.audit_supply_page, cursor)

    @transaction
    def compact_stats(self, ctx: Context, month: str) -> dict[str, Any]:
        return self._run(ctx, aggregates.compact_stats, month)
