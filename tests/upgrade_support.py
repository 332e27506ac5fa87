"""What the rolling-upgrade and BFT migration tests share: the releases, a topology file to record in,
and the `network.sh` commands as district IT runs them. Importable from any test folder (the checks of
what the coin load left need tests/faults: tests/faults/upgrade_checks.py)."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from fabric_network_support import RunningNetwork
from seocho_network.cli import cli as network_cli
from seocho_network.topology import DEFAULT_TOPOLOGY, PORT_OFFSET_VARIABLE
from seocho_network.upgrade import record_release

FROM, TO = "2.5.16", "3.1.5"
UNTOUCHED = ("seocho-welfare", "banpo-czshop")  # demo institutions the load neither pays nor donates to
AFTER_SECONDS = 8.0  # load kept up after the upgrade (or the migration, or the rollback)


def default_topology_copy(directory: Path, release: str | None = None) -> Path:
    """network/topology.yaml (Raft) copied into `directory`: the file an upgrade or a migration records
    in, so the project's own stays as it is. On `release` when given; else as it is, on FROM (where the
    upgrade tests start)."""
    text = DEFAULT_TOPOLOGY.read_text(encoding="utf-8")
    assert "type: raft" in text
    path = directory / "topology.yaml"
    path.write_text(text, encoding="utf-8")
    if release is None:
        assert f'fabric_version: "{FROM}"' in text
    else:
        record_release(path, release)
    return path


def network_sh(running: RunningNetwork, topology_file: Path, *args: str) -> tuple[int, str]:
    """`scripts/network.sh ARGS` on this network, as district IT runs it: its exit code and output."""
    base = running.network
    told = CliRunner().invoke(
        network_cli,
        ["--home", str(base.layout.root), "--topology", str(topology_file), *args],
        env={PORT_OFFSET_VARIABLE: str(base.topology.port_offset)},
    )
    return told.exit_code, f"{told.output}\n{told.exception!r}"


def timed_steps(output: str, *prefixes: str) -> str:
    """The timed steps a command printed (`PREFIX what: 1.2 s`), joined for the test's printed line."""
    return "; ".join(
        line.split(": ", 1)[1]
        for line in output.splitlines()
        if line.startswith(prefixes) and line.endswith(" s") and "took" not in line
    )
