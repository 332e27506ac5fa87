"""`network.sh monitoring` refusals without a network (tests/network/test_monitoring.py runs it on one)."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from seocho_network.cli import cli


def network_sh(home: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--home", str(home), "monitoring", *args])
    return result.exit_code, result.output


def test_up_without_a_network_is_refused_and_writes_nothing(tmp_path: Path) -> None:
    home = tmp_path / "network"
    code, output = network_sh(home, "up")
    assert code == 1 and f"no network at {home}" in output and "network.sh up" in output
    assert not home.exists()


def test_status_and_down_when_nothing_runs(tmp_path: Path) -> None:
    code, output = network_sh(tmp_path, "status")
    assert code == 1 and "prometheus: not running" in output
    code, output = network_sh(tmp_path, "down")
    assert code == 0 and "nothing was running" in output


def test_a_bad_port_is_a_usage_error(tmp_path: Path) -> None:
    code, output = network_sh(tmp_path, "up", "--port", "70000")
    assert code == 2 and "--port" in output
