"""The demo, told once per session on the session network's fresh ledger, for every network test module."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from fabric_network_support import RunningNetwork
from seocho.cli import cli


@pytest.fixture(scope="session")
def demo_on_network(fabric_network: RunningNetwork) -> dict[str, object]:
    """The demo's report, told on the session network's fresh ledger (its cast is then on it)."""
    result = CliRunner().invoke(cli, ["--profile", str(fabric_network.profile()), "demo", "--json"])
    assert result.exit_code == 0, result.stderr
    return dict(json.loads(result.stdout))
