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


def test_plain_http_scrapes_off_loopback_are_refused_before_anything_is_opened(tmp_path: Path) -> None:
    """`seocho serve` offers plain HTTP on 127.0.0.1 only: a remote --http without --http-ca would scrape
    it in the clear, so it is a usage error, and nothing is written."""
    home = tmp_path / "network"
    for remote in ("10.0.0.5:8443", "serve.district.example:8443", "[2001:db8::1]:8443"):
        code, output = network_sh(home, "up", "--http", "127.0.0.1:8443", "--http", remote)
        assert code == 2, output
        assert f"Invalid value for --http: {remote} is not on this machine's loopback" in output
        assert "127.0.0.1:8443 is" not in output and "--http-ca" in output
    assert not home.exists()


def test_loopback_or_verified_http_scrapes_pass_on_to_the_network(tmp_path: Path) -> None:
    """Loopback targets (any spelling) without a CA, and a remote one with --http-ca, are accepted: the
    refusal that follows is the missing network's."""
    home = tmp_path / "network"
    ca = tmp_path / "ca.pem"
    ca.write_text("not read before the network is opened\n")
    for arguments in (
        ("--http", "127.0.0.1:8443", "--http", "localhost:8443", "--http", "[::1]:8443"),
        ("--http", "10.0.0.5:8443", "--http-ca", str(ca)),
    ):
        code, output = network_sh(home, "up", *arguments)
        assert code == 1 and f"no network at {home}" in output, output
    assert not home.exists()
