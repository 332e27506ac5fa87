"""The coin commands of `seocho`: one per transaction, grouped as the district thinks of them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import fabric_gateway as fg

from seocho.backend import connect_gateway
from seocho.cli import Settings, _run, cli, pass_settings


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise click.BadParameter(f"not valid JSON: {exc.msg}") from None
    if not isinstance(value, dict):
        raise click.BadParameter("expected a JSON object")
    return value


positive = click.IntRange(min=1)
non_negative = click.IntRange(min=0)


# ---- governance -----------------------------------------------------------------------------------


@cli.command("init")
@click.argument("district_msp", default="SeochoDistrictMSP")
@pass_settings
def init(settings: Settings, district_msp: str) -> None:
    """Initialise the ledger with the 2023 policy (district admin, once)."""
    _run(settings, lambda c: c.init_ledger(district_msp))


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
@click.option("--effective-from", default="now", show_default=True)
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
@click.option("--activity", "activities", multiple=True, help="An activity it may attest (repeatable).")
@click.option("--sells-services", is_flag=True)
@click.option("--takes-donations", is_flag=True)
@click.option(
    "--quota", type=non_negative, default=0, show_default=True, help="Annual issuance quota (coins)."
)
@click.option(
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
    _run(settings, lambda c: c.get_institution(institution_id))


@institution.command("list")
@pass_settings
def institution_list(settings: Settings) -> None:
    _run(settings, lambda c: c.list_institutions())


@institution.command("deactivate")
@click.argument("institution_id")
@pass_settings
def institution_deactivate(settings: Settings, institution_id: str) -> None:
    _run(settings, lambda c: c.deactivate_institution(institution_id))


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
@click.option("--category", "categories", multiple=True, required=True, help="senior, resident, worker, ...")
@pass_settings
def member_register(settings: Settings, member_id: str, client_id: str, categories: tuple[str, ...]) -> None:
    """Register MEMBER_ID bound to the identity CLIENT_ID (see `seocho identity client-id`)."""
    _run(settings, lambda c: c.register_member(member_id, categories, client_id))


@member.command("rebind")
@click.argument("member_id")
@click.argument("client_id")
@pass_settings
def member_rebind(settings: Settings, member_id: str, client_id: str) -> None:
    """Bind a member to a new identity (a lost phone)."""
    _run(settings, lambda c: c.rebind_member(member_id, client_id))


@member.command("categories")
@click.argument("member_id")
@click.argument("categories", nargs=-1, required=True)
@pass_settings
def member_categories(settings: Settings, member_id: str, categories: tuple[str, ...]) -> None:
    _run(settings, lambda c: c.set_member_categories(member_id, categories))


@member.command("deactivate")
@click.argument("member_id")
@pass_settings
def member_deactivate(settings: Settings, member_id: str) -> None:
    _run(settings, lambda c: c.deactivate_member(member_id))


@member.command("show")
@click.argument("member_id")
@pass_settings
def member_show(settings: Settings, member_id: str) -> None:
    _run(settings, lambda c: c.get_member(member_id))


# ---- coin movements -------------------------------------------------------------------------------


@cli.command()
@click.argument("member_id")
@click.argument("activity")
@click.argument("quantity", type=positive)
@click.option("--evidence", "evidence_hash", required=True, help="Hex SHA-256 of the institution's evidence.")
@click.option("--request-id", required=True, help="Unique per attestation; a repeat never credits twice.")
@pass_settings
def earn(
    settings: Settings, member_id: str, activity: str, quantity: int, evidence_hash: str, request_id: str
) -> None:
    """Attest a deed: MEMBER_ID did QUANTITY units of ACTIVITY (institution staff)."""
    _run(settings, lambda c: c.earn(member_id, activity, quantity, evidence_hash, request_id))


@cli.command()
@click.argument("member_id")
@click.argument("institution_id")
@click.option("--price", "price_krw", type=positive, required=True, help="Price of the service in KRW.")
@click.option("--coins", type=positive, required=True, help="Coins to pay; the rest is paid in cash.")
@click.option("--service", "service_code", required=True)
@click.option("--request-id", required=True)
@pass_settings
def pay(
    settings: Settings,
    member_id: str,
    institution_id: str,
    price_krw: int,
    coins: int,
    service_code: str,
    request_id: str,
) -> None:
    """Pay an institution with coins (the member's own identity)."""
    _run(settings, lambda c: c.pay(member_id, institution_id, price_krw, coins, service_code, request_id))


@cli.group("payment-request")
def payment_request() -> None:
    """The kiosk flow: staff prepare a request, the member signs its payment."""


@payment_request.command("create")
@click.argument("request_id")
@click.option("--price", "price_krw", type=positive, required=True)
@click.option("--coins", type=positive, required=True)
@click.option("--service", "service_code", required=True)
@click.option("--expires-at", required=True, help="ISO date-time with a zone.")
@pass_settings
def payment_request_create(
    settings: Settings, request_id: str, price_krw: int, coins: int, service_code: str, expires_at: str
) -> None:
    _run(settings, lambda c: c.create_payment_request(request_id, price_krw, coins, service_code, expires_at))


@payment_request.command("pay")
@click.argument("institution_id")
@click.argument("request_id")
@click.argument("member_id")
@pass_settings
def payment_request_pay(settings: Settings, institution_id: str, request_id: str, member_id: str) -> None:
    _run(settings, lambda c: c.pay_request(institution_id, request_id, member_id))


@cli.command()
@click.argument("member_id")
@click.argument("charity_id")
@click.argument("coins", type=positive)
@click.option("--request-id", required=True)
@pass_settings
def donate(settings: Settings, member_id: str, charity_id: str, coins: int, request_id: str) -> None:
    """Donate coins to a charity institution (the member's own identity)."""
    _run(settings, lambda c: c.donate(member_id, charity_id, coins, request_id))


@cli.command()
@click.argument("tx_id")
@pass_settings
def receipt(settings: Settings, tx_id: str) -> None:
    """Show a donation receipt (the donor, admin or auditor)."""
    _run(settings, lambda c: c.get_donation_receipt(tx_id))


@cli.group()
def settle() -> None:
    """Redeem received coins for KRW."""


@settle.command("request")
@click.argument("institution_id")
@click.argument("settlement_id")
@click.option(
    "--cutoff",
    metavar="ISO-TIME",
    help="Redeem coins received before this moment (default: the policy's margin before now).",
)
@pass_settings
def settle_request(settings: Settings, institution_id: str, settlement_id: str, cutoff: str | None) -> None:
    """Redeem the coins an institution received (a manager of it)."""
    _run(settings, lambda c: c.request_settlement(institution_id, settlement_id, cutoff))


@settle.command("paid")
@click.argument("institution_id")
@click.argument("settlement_id")
@click.argument("payment_reference")
@pass_settings
def settle_paid(settings: Settings, institution_id: str, settlement_id: str, payment_reference: str) -> None:
    _run(settings, lambda c: c.mark_settlement_paid(institution_id, settlement_id, payment_reference))


@cli.command()
@click.argument("member_id")
@pass_settings
def expire(settings: Settings, member_id: str) -> None:
    """Move a member's coins older than the policy's expiry out of circulation."""
    _run(settings, lambda c: c.expire_coins(member_id))


# ---- queries --------------------------------------------------------------------------------------


@cli.command()
@click.argument("member_id")
@pass_settings
def balance(settings: Settings, member_id: str) -> None:
    _run(settings, lambda c: c.get_balance(member_id))


@cli.command()
@click.argument("member_id")
@click.option("--page-size", type=click.IntRange(1, 1000), default=20, show_default=True)
@click.option("--bookmark", default="")
@pass_settings
def history(settings: Settings, member_id: str, page_size: int, bookmark: str) -> None:
    """A member's coin movements, a page at a time."""
    _run(settings, lambda c: c.get_member_history(member_id, page_size, bookmark))


@cli.command()
@pass_settings
def report(settings: Settings) -> None:
    """The district's report (admin, auditor)."""
    _run(settings, lambda c: c.get_report())


@cli.command()
@pass_settings
def audit(settings: Settings) -> None:
    """Check the supply invariant on the live ledger (auditor, admin)."""
    _run(settings, lambda c: c.audit_supply())


@cli.command()
@click.option("--since", "start_block", type=non_negative, default=None, help="Start at this block.")
@click.option(
    "--checkpoint",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Resume after, and record, the last event seen in this file (network only).",
)
@click.option("--count", type=positive, default=None, help="Stop after this many events.")
@pass_settings
def events(settings: Settings, start_block: int | None, checkpoint: Path | None, count: int | None) -> None:
    """Print coin movements' chaincode events as JSON lines (on a network: follow them)."""

    def emit(block: int, tx_id: str, name: str, payload: bytes) -> None:
        record = {"block": block, "tx_id": tx_id, "name": name, "payload": json.loads(payload or b"null")}
        click.echo(json.dumps(record, ensure_ascii=False, sort_keys=True))

    if settings.profile is None:
        if checkpoint is not None:
            raise click.UsageError("--checkpoint needs --profile (the embedded ledger replays from --since)")
        with settings.ledger() as ledger:
            for n, event in enumerate(ledger.chaincode_events("seocho", start_block or 0)):
                if count is not None and n >= count:
                    break
                emit(event.block_num, event.tx_id, event.name, event.payload)
        return
    profile = settings.profile
    checkpointer = fg.FileCheckpointer(checkpoint) if checkpoint is not None else None
    with connect_gateway(profile, settings.signer_name()) as gateway:
        network = gateway.get_network(profile.channel)
        stream = network.chaincode_events(profile.chaincode, start_block=start_block, checkpoint=checkpointer)
        with stream:
            for n, event in enumerate(stream, start=1):
                emit(event.block_number, event.transaction_id, event.event_name, event.payload)
                if checkpointer is not None:
                    checkpointer.checkpoint_chaincode_event(event)
                if count is not None and n >= count:
                    break
