"""The district's commands of `seocho`: initialisation, policy, institutions and members."""

from __future__ import annotations

import json
from typing import Any

import click

from seocho.cli import Settings, _run, cli, pass_settings
from seocho.cli_base import option
from seocho.cli_output import format_init
from seocho.cli_types import non_negative, positive
from seocho.i18n import _
from seocho.identity_rules import require_member_id, require_pseudonymous_client


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise click.BadParameter(_("not valid JSON: {reason}").format(reason=exc.msg)) from None
    if not isinstance(value, dict):
        raise click.BadParameter(_("expected a JSON object"))
    return value


# ---- governance -----------------------------------------------------------------------------------


@cli.command("init")
@click.argument("district_msp", default="SeochoDistrictMSP")
@pass_settings
def init(settings: Settings, district_msp: str) -> None:
    """Initialise the ledger with the 2023 policy (district admin, once)."""
    _run(settings, lambda c: c.init_ledger(district_msp), format_init)


@cli.command("migrate")
@pass_settings
def migrate(settings: Settings) -> None:
    """Bring the ledger's data layout up to the chaincode's (district admin; deploy runs it)."""
    _run(settings, lambda c: c.migrate(), _format_migrations)


def _format_migrations(applied: list[dict[str, Any]]) -> str:
    if not applied:
        return _("The ledger's data layout is up to date.")
    return "\n".join(
        _("Migrated the ledger to data layout version {version}.").format(version=m["schema_version"])
        for m in applied
    )


@cli.group()
def policy() -> None:
    """Show and change the versioned coin policy."""


@policy.command("show")
@click.argument("version", type=non_negative, default=0)
@pass_settings
def policy_show(settings: Settings, version: int) -> None:
    """Show policy VERSION (default: the one in force)."""
    _run(settings, lambda c: c.get_policy(version))


@policy.command("list")
@pass_settings
def policy_list(settings: Settings) -> None:
    """List every policy version and which is in force."""
    _run(settings, lambda c: c.list_policies())


@policy.command("set")
@click.argument("changes")
@pass_settings
def policy_set(settings: Settings, changes: str) -> None:
    """Append a policy version: CHANGES is a JSON object with effective_from (district admin)."""
    parsed = _json_object(changes)
    _run(settings, lambda c: c.set_policy(parsed))


@policy.command("open-to-all")
@option("--effective-from", default="now", show_default=True)
@pass_settings
def policy_open(settings: Settings, effective_from: str) -> None:
    """Open earning to every registered member, as the 2023 ordinance did (district admin)."""
    _run(settings, lambda c: c.open_earning_to_all(effective_from))


# ---- institutions ---------------------------------------------------------------------------------


@cli.group()
def institution() -> None:
    """Partner institutions, their quotas and staff allowances."""


@institution.command("register")
@click.argument("institution_id")
@click.argument("institution_type")
@option("--activity", "activities", multiple=True, help="An activity it may attest (repeatable).")
@option("--sells-services", is_flag=True)
@option("--takes-donations", is_flag=True)
@option("--quota", type=non_negative, default=0, show_default=True, help="Annual issuance quota (coins).")
@option(
    "--staff-msp",
    required=True,
    metavar="MSP",
    help="The only MSP whose identities count as the institution's staff and managers.",
)
@pass_settings
def institution_register(
    settings: Settings,
    institution_id: str,
    institution_type: str,
    activities: tuple[str, ...],
    sells_services: bool,
    takes_donations: bool,
    quota: int,
    staff_msp: str,
) -> None:
    """Register an institution (district admin)."""
    _run(
        settings,
        lambda c: c.register_institution(
            institution_id,
            institution_type,
            activities,
            sells_services=sells_services,
            takes_donations=takes_donations,
            annual_quota=quota,
            staff_msp=staff_msp,
        ),
    )


@institution.command("show")
@click.argument("institution_id")
@pass_settings
def institution_show(settings: Settings, institution_id: str) -> None:
    """Show one institution."""
    _run(settings, lambda c: c.get_institution(institution_id))


@institution.command("list")
@pass_settings
def institution_list(settings: Settings) -> None:
    """List the institutions."""
    _run(settings, lambda c: c.list_institutions())


@institution.command("deactivate")
@click.argument("institution_id")
@pass_settings
def institution_deactivate(settings: Settings, institution_id: str) -> None:
    """Deactivate an institution: no more attesting, selling or donations (district admin)."""
    _run(settings, lambda c: c.deactivate_institution(institution_id))


@institution.command("reactivate")
@click.argument("institution_id")
@pass_settings
def institution_reactivate(settings: Settings, institution_id: str) -> None:
    """Reactivate a deactivated institution (district admin)."""
    _run(settings, lambda c: c.reactivate_institution(institution_id))


@institution.command("staff-msp")
@click.argument("institution_id")
@click.argument("msp_id")
@pass_settings
def institution_staff_msp(settings: Settings, institution_id: str, msp_id: str) -> None:
    """Change the MSP whose identities count as the institution's staff (district admin)."""
    _run(settings, lambda c: c.set_institution_staff_msp(institution_id, msp_id))


@institution.command("quota")
@click.argument("institution_id")
@click.argument("year")
@click.argument("coins", type=non_negative)
@pass_settings
def institution_quota(settings: Settings, institution_id: str, year: str, coins: int) -> None:
    """Set an institution's annual issuance quota (district admin)."""
    _run(settings, lambda c: c.set_annual_quota(institution_id, year, coins))


@institution.command("allowance")
@click.argument("institution_id")
@click.argument("staff_client_id")
@click.argument("year")
@click.argument("coins", type=positive)
@pass_settings
def institution_allowance(
    settings: Settings, institution_id: str, staff_client_id: str, year: str, coins: int
) -> None:
    """Allocate part of the quota to one staff member's attestations."""
    _run(settings, lambda c: c.allocate_allowance(institution_id, staff_client_id, year, coins))


@institution.command("reclaim")
@click.argument("institution_id")
@click.argument("staff_client_id")
@click.argument("year")
@click.argument("coins", type=positive)
@pass_settings
def institution_reclaim(
    settings: Settings, institution_id: str, staff_client_id: str, year: str, coins: int
) -> None:
    """Return unused allowance of a staff member (e.g. one who left) to the institution's quota."""
    _run(settings, lambda c: c.reclaim_allowance(institution_id, staff_client_id, year, coins))


@institution.command("statement")
@click.argument("institution_id")
@pass_settings
def institution_statement(settings: Settings, institution_id: str) -> None:
    """Receipts not yet settled, settlements and their status."""
    _run(settings, lambda c: c.get_institution_statement(institution_id))


# ---- members --------------------------------------------------------------------------------------


@cli.group()
def member() -> None:
    """Members under pseudonymous IDs (registrar)."""


@member.command("register")
@click.argument("member_id")
@click.argument("client_id")
@option("--category", "categories", multiple=True, required=True, help="senior, resident, worker, ...")
@pass_settings
def member_register(settings: Settings, member_id: str, client_id: str, categories: tuple[str, ...]) -> None:
    """Register MEMBER_ID bound to the identity CLIENT_ID (see `seocho identity client-id`).

    MEMBER_ID is a pseudonymous code such as S-0001, and the identity must be named by one too.
    """
    require_member_id(member_id)
    require_pseudonymous_client(client_id)
    _run(settings, lambda c: c.register_member(member_id, categories, client_id))


@member.command("rebind")
@click.argument("member_id")
@click.argument("client_id")
@pass_settings
def member_rebind(settings: Settings, member_id: str, client_id: str) -> None:
    """Bind a member to a new identity (a lost phone); it must be named by a member id."""
    require_pseudonymous_client(client_id)
    _run(settings, lambda c: c.rebind_member(member_id, client_id))


@member.command("categories")
@click.argument("member_id")
@click.argument("categories", nargs=-1, required=True)
@pass_settings
def member_categories(settings: Settings, member_id: str, categories: tuple[str, ...]) -> None:
    """Replace a member's eligibility categories (registrar)."""
    _run(settings, lambda c: c.set_member_categories(member_id, categories))


@member.command("deactivate")
@click.argument("member_id")
@pass_settings
def member_deactivate(settings: Settings, member_id: str) -> None:
    """Deactivate a member (registrar); their coins stay outstanding."""
    _run(settings, lambda c: c.deactivate_member(member_id))


@member.command("reactivate")
@click.argument("member_id")
@pass_settings
def member_reactivate(settings: Settings, member_id: str) -> None:
    """Reactivate a member on the identity they were bound to (registrar)."""
    _run(settings, lambda c: c.reactivate_member(member_id))


@member.command("show")
@click.argument("member_id")
@pass_settings
def member_show(settings: Settings, member_id: str) -> None:
    """Show a member (the member, registrar, admin, auditor)."""
    _run(settings, lambda c: c.get_member(member_id))
