"""`seocho tx status`: the definite answer for a transaction whose outcome a command did not learn."""

from __future__ import annotations

import json
from pathlib import Path

from cli_helpers import run
from seocho.backend import open_embedded_ledger


def last_transaction_id(ledger: Path) -> str:
    with open_embedded_ledger(ledger) as opened:
        block = opened.get_block(opened.height - 1)
    return block.transactions[-1].tx_id


def test_a_committed_transaction_is_valid_in_its_block(ledger: Path) -> None:
    tx_id = last_transaction_id(ledger)
    code, out, err = run("--json", "tx", "status", tx_id, ledger=ledger)
    assert code == 0, err
    shown = json.loads(out)
    assert shown == {
        "transaction_id": tx_id,
        "validation_code": "VALID",
        "valid": True,
        "block": shown["block"],
    }
    assert shown["block"] >= 1
    code, out, _ = run("tx", "status", tx_id, ledger=ledger)
    assert code == 0 and out.strip() == f"{tx_id}: committed VALID in block {shown['block']}"


def test_a_transaction_never_committed_is_not_found(ledger: Path) -> None:
    code, _, err = run("tx", "status", "ab" * 32, ledger=ledger)
    assert code == 5
    assert err.strip() == f"error: transaction {'ab' * 32} is not committed on this ledger"
