"""`scripts/network.sh ...` (`python -m seocho_network`) on the session network, in-process."""

from __future__ import annotations

from click.testing import CliRunner
from seocho_network.cli import cli
from seocho_network.network import Network


def network_sh(network: Network, *args: str) -> tuple[int, str]:
    """Exit code and output (with the error `main()` would print, e.g. a NetworkError's message)."""
    result = CliRunner().invoke(
        cli,
        ["--home", str(network.layout.root), *args],
        env={"SEOCHO_NETWORK_PORT_OFFSET": str(network.topology.port_offset)},
    )
    failed = result.exception is not None and not isinstance(result.exception, SystemExit)
    error = str(result.exception) if failed else ""
    return result.exit_code, result.output + error
