"""Every transaction × every role: allowed (the call succeeds) or 403.

One shared world is prepared so that every transaction can succeed for an allowed caller; each case
only simulates (evaluate), so cases never change that world.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from coin_network import DISTRICT, EVIDENCE, Clock, CoinNetwork, build_world, kst

ROLES = {
    "admin": "admin",
    "registrar": "registrar",
    "auditor": "auditor",
    "staff_here": "cc_staff",
    "manager_here": "cc_manager",
    "staff_other": "wc_manager",  # a manager, of another institution
    "member_self": "m1",
    "member_other": "m2",
    "unknown": "unknown",
    "partner_admin": "partner_admin",
}
EVERYONE = frozenset(ROLES)


@pytest.fixture(scope="module")
def world() -> Iterator[tuple[CoinNetwork, dict[str, str]]]:
    clock = Clock(kst(2024, 3, 4, 10))
    net = build_world(CoinNetwork.open(clock))
    net.submit("admin", "set_policy", {"effective_from": "now", "expiry_years": 1})  # before the lot
    net.submit("cc_staff", "earn", "M-001", "volunteer_hour", 4, EVIDENCE, "e1")
    net.submit("m1", "pay", "M-001", "cc-01", 1000, 2, "gym", "p1")
    clock.advance(minutes=2)
    net.submit("cc_manager", "request_settlement", "cc-01", "S-1", "")
    net.submit("m1", "donate", "M-001", "charity-01", 1, "d1")
    donation_tx = net.last_event()[1]["tx_id"]
    clock.set(kst(2026, 2, 1, 10))  # the 2024 lot has expired; March 2024 is over
    net.submit("admin", "allocate_allowance", "cc-01", net.client_id("cc_staff"), "2026", 100)
    net.submit("admin", "allocate_allowance", "cc-01", net.client_id("cc_manager"), "2026", 100)
    net.submit("cc_staff", "earn", "M-001", "course_session", 5, EVIDENCE, "e2")
    net.submit("m1", "pay", "M-001", "cc-01", 1000, 1, "gym", "p2")
    net.submit("cc_staff", "create_payment_request", "K-1", 1000, 1, "gym", "2026-03-01T00:00:00+09:00")
    # A deactivated member and a deactivated institution, for the reactivations.
    net.enroll("m3", DISTRICT, role="member")
    net.submit("registrar", "register_member", "M-003", ["senior"], net.client_id("m3"))
    net.submit("registrar", "deactivate_member", "M-003")
    net.submit("admin", "register_institution", "old-01", "other", [], False, False, 0, DISTRICT)
    net.submit("admin", "deactivate_institution", "old-01")
    clock.advance(minutes=2)  # p2 is now older than the settlement cutoff margin
    extras = {
        "donation_tx": donation_tx,
        "staff_cid": net.client_id("cc_staff"),
        "new_cid": net.client_id("unknown"),
    }
    yield net, extras
    net.ledger.close()


def table(x: dict[str, str]) -> list[tuple[str, list[Any], frozenset[str], dict[str, int]]]:
    """(transaction, arguments, roles allowed, expected status for allowed roles other than 200)."""
    staff_and_managers = {"staff_here", "manager_here"}
    return [
        ("init_ledger", [DISTRICT], frozenset({"admin"}), {"admin": 409}),  # allowed, but only once
        ("set_policy", [{"effective_from": "now", "coin_value_krw": 150}], frozenset({"admin"}), {}),
        ("open_earning_to_all", ["now"], frozenset({"admin"}), {}),
        ("get_policy", [0], EVERYONE, {}),
        ("list_policies", [], EVERYONE, {}),
        (
            "register_institution",
            ["new-01", "other", [], False, False, 0, DISTRICT],
            frozenset({"admin"}),
            {},
        ),
        ("update_institution", ["cc-01", ["course_session"], True, False], frozenset({"admin"}), {}),
        ("deactivate_institution", ["wc-01"], frozenset({"admin"}), {}),
        ("reactivate_institution", ["old-01"], frozenset({"admin"}), {}),
        ("set_institution_staff_msp", ["cc-01", DISTRICT], frozenset({"admin"}), {}),
        ("set_annual_quota", ["cc-01", "2026", 200_000], frozenset({"admin"}), {}),
        (
            "allocate_allowance",
            ["cc-01", x["staff_cid"], "2026", 10],
            frozenset({"admin", "manager_here"}),
            {},
        ),
        (
            "reclaim_allowance",
            ["cc-01", x["staff_cid"], "2026", 10],
            frozenset({"admin", "manager_here"}),
            {},
        ),
        (
            "get_allowance",
            ["cc-01", x["staff_cid"], "2026"],
            frozenset({"admin", "auditor", "staff_here", "manager_here"}),
            {},
        ),
        ("get_institution", ["cc-01"], EVERYONE, {}),
        ("list_institutions", [], EVERYONE, {}),
        ("register_member", ["M-9000", ["resident"], x["new_cid"]], frozenset({"registrar"}), {}),
        (
            "register_members",
            [[{"member_id": "M-9000", "categories": ["resident"], "client_id": x["new_cid"]}]],
            frozenset({"registrar"}),
            {},
        ),
        ("rebind_member", ["M-001", x["new_cid"]], frozenset({"registrar"}), {}),
        ("set_member_categories", ["M-001", ["resident"]], frozenset({"registrar"}), {}),
        ("deactivate_member", ["M-002"], frozenset({"registrar"}), {}),
        ("reactivate_member", ["M-003"], frozenset({"registrar"}), {}),
        ("get_member", ["M-001"], frozenset({"registrar", "admin", "auditor", "member_self"}), {}),
        # staff_other's institution may not attest course sessions: the attesting institution matters.
        ("earn", ["M-001", "course_session", 1, EVIDENCE, "e-new"], frozenset(staff_and_managers), {}),
        ("pay", ["M-001", "cc-01", 1000, 1, "gym", "p-new"], frozenset({"member_self"}), {}),
        # A payment request is for the caller's own institution: any selling institution's staff may.
        (
            "create_payment_request",
            ["K-NEW", 1000, 1, "gym", "2026-03-01T00:00:00+09:00"],
            frozenset(staff_and_managers | {"staff_other"}),
            {},
        ),
        ("pay_request", ["cc-01", "K-1", "M-001"], frozenset({"member_self"}), {}),
        ("get_payment_request", ["cc-01", "K-1"], EVERYONE, {}),
        ("donate", ["M-001", "charity-01", 1, "d-new"], frozenset({"member_self"}), {}),
        ("get_donation_receipt", [x["donation_tx"]], frozenset({"member_self", "admin", "auditor"}), {}),
        ("request_settlement", ["cc-01", "S-NEW", ""], frozenset({"manager_here"}), {}),
        ("mark_settlement_paid", ["cc-01", "S-1", "BANK-1"], frozenset({"admin"}), {}),
        ("get_institution_statement", ["cc-01"], frozenset(staff_and_managers | {"admin", "auditor"}), {}),
        ("expire_coins", ["M-001"], frozenset({"member_self", "admin"}), {}),
        ("get_balance", ["M-001"], frozenset({"member_self", "admin", "auditor", "registrar"}), {}),
        ("get_member_history", ["M-001", 10, ""], frozenset({"member_self", "admin", "auditor"}), {}),
        ("get_report", [], frozenset({"admin", "auditor"}), {}),
        ("audit_supply", [], frozenset({"admin", "auditor"}), {}),
        ("audit_supply_page", [""], frozenset({"admin", "auditor"}), {}),
        ("migration_page", [""], frozenset({"admin"}), {}),
        ("migrate_ledger", [1, {}], frozenset({"admin"}), {"admin": 409}),
        ("compact_stats", ["2024-03"], frozenset({"admin"}), {}),
    ]


TRANSACTIONS = [row[0] for row in table({"donation_tx": "", "staff_cid": "", "new_cid": ""})]


def test_the_table_covers_every_transaction() -> None:
    from fabric_shim.contract import ContractChaincode
    from seocho_coin.contract import SeochoCoinContract

    metadata = ContractChaincode(SeochoCoinContract()).metadata()
    defined = {t["name"] for t in metadata["contracts"]["SeochoCoin"]["transactions"]}
    assert defined == set(TRANSACTIONS)


@pytest.mark.parametrize("transaction", TRANSACTIONS)
@pytest.mark.parametrize("role", list(ROLES))
def test_authorization(world: tuple[CoinNetwork, dict[str, str]], transaction: str, role: str) -> None:
    net, extras = world
    fn, args, allowed, special = next(row for row in table(extras) if row[0] == transaction)
    response = net.evaluate(ROLES[role], fn, *args)
    expected = special.get(role, 200) if role in allowed else 403
    assert response.status == expected, f"{fn} as {role}: {response.status} {response.message}"


# The table's roles, as `seocho.operations` names them (staff and managers of the institution concerned,
# the member concerned); a manager of another institution is staff of its own.
DECLARED_ROLE = {"admin": "admin", "registrar": "registrar", "auditor": "auditor", "staff_here": "staff",
                 "manager_here": "manager", "staff_other": "staff", "member_self": "member"}  # fmt: skip


def test_the_declared_roles_are_the_ones_the_chaincode_allows() -> None:
    from seocho.operations import BY_NAME

    extras = {"donation_tx": "", "staff_cid": "", "new_cid": ""}
    for name, _args, allowed, _special in table(extras):
        expected = {"anyone"} if allowed == EVERYONE else {DECLARED_ROLE[role] for role in allowed}
        assert BY_NAME[name].roles == expected, name
