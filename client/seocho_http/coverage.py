"""Which HTTP route carries each contract transaction, and why the others have none (yet).

A test holds this to the contract's metadata: a transaction added to the contract fails it until it has a
route here or a reason to be left out.
"""

from __future__ import annotations

# Residents sign these themselves (`POST /v1/proposals` with `operation.name` = the transaction).
RESIDENT_OPERATIONS = (
    "pay", "donate", "pay_request", "get_balance", "get_member_history", "get_payment_request",
    "get_donation_receipt",
)  # fmt: skip

# Terminals' routes (the service signs as the terminal's staff identity).
TERMINAL_ROUTES = {
    "earn": ("post", "/v1/institutions/{institution_id}/earnings"),
    "create_payment_request": ("post", "/v1/institutions/{institution_id}/payment-requests"),
    "get_institution_statement": ("get", "/v1/institutions/{institution_id}/statement"),
    "get_report": ("get", "/v1/report"),
}

_DISTRICT_ADMINISTRATION = (
    "district administration: the CLI or SDK as an admin, registrar or auditor identity"
)
EXCLUDED = {
    **{
        name: _DISTRICT_ADMINISTRATION
        for name in (
            "init_ledger",
            "set_policy",
            "open_earning_to_all",
            "register_institution",
            "update_institution",
            "deactivate_institution",
            "reactivate_institution",
            "set_institution_staff_msp",
            "set_annual_quota",
            "allocate_allowance",
            "reclaim_allowance",
            "register_member",
            "register_members",
            "rebind_member",
            "set_member_categories",
            "deactivate_member",
            "reactivate_member",
            "audit_supply",
            "audit_supply_page",
            "migration_page",
            "migrate_ledger",
            "compact_stats",
            "expire_coins",
        )
    },
    "request_settlement": "settlement is a back-office step of the institution's manager (CLI or SDK)",
    "mark_settlement_paid": "settlement is a back-office step of the district (CLI or SDK)",
    "get_policy": "not yet routed: the app reads rates from the report; planned as GET /v1/policy",
    "list_policies": "not yet routed (district administration)",
    "get_institution": "not yet routed: planned as GET /v1/institutions/{id}",
    "list_institutions": "not yet routed: planned as GET /v1/institutions",
    "get_member": "registrar's view of a member: district administration",
    "get_allowance": "not yet routed: planned for terminals with the statement scope",
}
