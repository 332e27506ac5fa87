"""The coin commands of `seocho`: earning, paying, donating, settling, and the queries and events."""

from __future__ import annotations

import json
from pathlib import Path

import click
import fabric_gateway as fg

from seocho import charts
from seocho.backend import connect_gateway
from seocho.cli import Settings, _run, cli, pass_settings
from seocho.cli_base import option
from seocho.cli_output import format_history, format_report, parse_bookmark
from seocho.cli_types import non_negative, positive
from seocho.errors import SeochoError
from seocho.i18n import N_, _

# ---- coin movements -------------------------------------------------------------------------------


@cli.command()
@click.argument("member_id")
@click.argument("activity")
@click.argument("quantity", type=positive)
@option("--evidence", "evidence_hash", required=True, help="Hex SHA-256 of the institution's evidence.")
@option("--request-id", required=True, help="Unique per attestation; a repeat never credits twice.")
@pass_settings
def earn(
    settings: Settings, member_id: str, activity: str, quantity: int, evidence_hash: str, request_id: str
) -> None:
    """Attest a deed: MEMBER_ID did QUANTITY units of ACTIVITY (institution staff)."""
    _run(settings, lambda c: c.earn(member_id, activity, quantity, evidence_hash, request_id))


@cli.command()
@click.argument("member_id")
@click.argument("institution_id")
@option("--price", "price_krw", type=positive, required=True, help="Price of the service in KRW.")
@option("--coins", type=positive, required=True, help="Coins to pay; the rest is paid in cash.")
@option("--service", "service_code", required=True)
@option("--request-id", required=True)
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
@option("--price", "price_krw", type=positive, required=True)
@option("--coins", type=positive, required=True)
@option("--service", "service_code", required=True)
@option("--expires-at", required=True, help="ISO date-time with a zone.")
@pass_settings
def payment_request_create(
    settings: Settings, request_id: str, price_krw: int, coins: int, service_code: str, expires_at: str
) -> None:
    """Prepare a payment request at the kiosk (institution staff)."""
    _run(settings, lambda c: c.create_payment_request(request_id, price_krw, coins, service_code, expires_at))


@payment_request.command("pay")
@click.argument("institution_id")
@click.argument("request_id")
@click.argument("member_id")
@pass_settings
def payment_request_pay(settings: Settings, institution_id: str, request_id: str, member_id: str) -> None:
    """Pay a prepared request exactly once (the member's own identity)."""
    _run(settings, lambda c: c.pay_request(institution_id, request_id, member_id))


@cli.command()
@click.argument("member_id")
@click.argument("charity_id")
@click.argument("coins", type=positive)
@option("--request-id", required=True)
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
@option(
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
    """Mark a settlement paid with the bank reference (district admin)."""
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
    """A member's coins: lots by earning year and policy, spendable (member, admin, auditor, registrar)."""
    _run(settings, lambda c: c.get_balance(member_id))


@cli.command()
@click.argument("member_id")
@option("--page-size", type=click.IntRange(1, 1000), default=20, show_default=True)
@option("--bookmark", default="", help=N_("Where the previous page ended (history prints it)."))
@pass_settings
def history(settings: Settings, member_id: str, page_size: int, bookmark: str) -> None:
    """A member's coin movements, a page at a time."""
    position = parse_bookmark(bookmark)
    _run(settings, lambda c: c.get_member_history(member_id, page_size, position), format_history)


@cli.command()
@option(
    "--html",
    "html_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help=N_("Also write the report as one self-contained page of charts to this file."),
)
@pass_settings
def report(settings: Settings, html_file: Path | None) -> None:
    """The district's report (admin, auditor)."""
    with settings.coin() as coin:
        result = coin.get_report()
    if html_file is not None:
        try:
            html_file.write_text(charts.report_page(result), encoding="utf-8")
        except OSError as exc:
            raise SeochoError(
                _("cannot write {path}: {reason}").format(path=html_file, reason=exc.strerror or exc)
            ) from None
    settings.show(result, format_report)


@cli.command()
@pass_settings
def audit(settings: Settings) -> None:
    """Check that every coin is accounted for on the live ledger (auditor, admin).

    Every coin earned is held by a member or an institution, or was redeemed for won or expired.
    """
    _run(settings, lambda c: c.audit_supply())


@cli.command("compact-stats")
@click.argument("month", metavar="YYYY-MM")
@pass_settings
def compact_stats(settings: Settings, month: str) -> None:
    """Fold a month's statistics rows older than ten minutes into its rollup (district admin)."""
    _run(settings, lambda c: c.compact_month(month))


@cli.command()
@option("--since", "start_block", type=non_negative, default=None, help="Start at this block.")
@option(
    "--checkpoint",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Resume after, and record, the last event seen in this file (network only).",
)
@option("--count", type=positive, default=None, help="Stop after this many events.")
@pass_settings
def events(settings: Settings, start_block: int | None, checkpoint: Path | None, count: int | None) -> None:
    """Print coin movements' chaincode events as JSON lines (on a network: follow them)."""

    def emit(block: int, tx_id: str, name: str, payload: bytes) -> None:
        record = {"block": block, "tx_id": tx_id, "name": name, "payload": json.loads(payload or b"null")}
        click.echo(json.dumps(record, ensure_ascii=False, sort_keys=True))

    if settings.profile is None:
        if checkpoint is not None:
            raise click.UsageError(
                _("--checkpoint needs --profile (the embedded ledger replays from --since)")
            )
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
