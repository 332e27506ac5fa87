"""`seocho tx status TXID`: what became of a transaction whose outcome a command could not learn."""

from __future__ import annotations

from typing import Any

import click
from fabric_gateway.errors import validation_code_name

from seocho.cli import Settings, cli, pass_settings
from seocho.cli_base import option
from seocho.errors import CommitConflictError, NotFoundError
from seocho.gateway_backend import backend_for, connect_gateway
from seocho.i18n import N_, _


@cli.group()
def tx() -> None:
    """Transactions by id: their commit status."""


@tx.command("status")
@click.argument("tx_id")
@option(
    "--wait",
    type=click.FloatRange(0.1, 600),
    default=5.0,
    show_default=True,
    help=N_("Seconds to wait for a commit the peer has not seen yet (network only)."),
)
@pass_settings
def tx_status(settings: Settings, tx_id: str, wait: float) -> None:
    """Whether TXID committed, and how: exit 0 valid, 7 invalidated (it changed nothing), 5 not committed."""
    if settings.profile is not None:
        found = _network_status(settings, tx_id, wait)
        unknown = _("transaction {tx_id} is not committed (the peer saw none within {wait} s)")
    else:
        found = _ledger_status(settings, tx_id)
        unknown = _("transaction {tx_id} is not committed on this ledger")
    if found is None:
        raise NotFoundError(404, unknown.format(tx_id=tx_id, wait=wait))
    code_name, block = found
    result = {
        "transaction_id": tx_id,
        "validation_code": code_name,
        "block": block,
        "valid": code_name == "VALID",
    }
    if code_name != "VALID":
        raise CommitConflictError(tx_id, code_name)
    settings.show(result, lambda r: _("{transaction_id}: committed VALID in block {block}").format(**r))


def _network_status(settings: Settings, tx_id: str, wait: float) -> tuple[str, int] | None:
    assert settings.profile is not None
    with connect_gateway(settings.profile, settings.signer_name()) as gateway:
        status = backend_for(settings.profile, gateway).transaction_status(tx_id, wait)
    return None if status is None else (status.code_name, status.block_number)


def _ledger_status(settings: Settings, tx_id: str) -> tuple[str, int] | None:
    with settings.ledger() as ledger:
        record: Any = ledger.transaction_status(tx_id)
    return None if record is None else (validation_code_name(record.validation_code), int(record.block_num))
