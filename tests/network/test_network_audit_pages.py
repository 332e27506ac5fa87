"""The paged audit and the migration step on the real network (peers, orderers, CAs, the Gateway).

`deploy` ran `seocho migrate` after `seocho init` when the session network came up, so the ledger
is at the current layout; the paged audit, a page per Gateway evaluation, equals the one-shot.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from fabric_network_support import RunningNetwork
from seocho.cli import cli
from seocho_coin.census import CURRENT_SCHEMA

pytestmark = pytest.mark.fabric


def test_the_paged_audit_equals_the_one_shot_on_the_network(after_demo: RunningNetwork) -> None:
    with after_demo.coin("district-auditor") as auditor:
        first = auditor.audit_supply_page("")
        paged = auditor.audit_supply()
        one_shot = auditor._evaluate("audit_supply")
    assert first["done"] and first["rows_read"] > 0  # the demo's ledger fits in one page
    assert paged == first["audit"] == one_shot and paged["ok"] and paged["counts_ok"]


def test_deploy_left_the_ledger_at_the_current_layout(after_demo: RunningNetwork) -> None:
    with after_demo.coin("district-admin") as admin:
        assert admin.migration_page("")["schema_version"] == CURRENT_SCHEMA
        assert admin.migrate() == []
    result = CliRunner().invoke(
        cli,
        [
            "--lang",
            "en",
            "--profile",
            str(after_demo.profile()),
            "--as",
            "district-admin",
            "--json",
            "migrate",
        ],
    )
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == []
