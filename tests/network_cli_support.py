"""`scripts/network.sh ...` (`python -m seocho_network`) on a test's network: its home and port offset.

`network_sh_process` runs it as a process of its own, as an operator (or each organisation's admin)
would; `network_sh` runs the same command line in-process (click's runner), for the quick refusals.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from click.testing import CliRunner
from seocho_network.cli import cli
from seocho_network.context import NetworkContext
from seocho_network.topology import PORT_OFFSET_VARIABLE

PROCESS_TIMEOUT = 900.0
"""How long one network.sh process may run (a join or an upgrade step included)."""


def network_arguments(network: NetworkContext, *args: str, joined: Sequence[Path] = ()) -> list[str]:
    """`--home HOME [--join FRAGMENT ...] ARGS`: the command line on `network`'s home."""
    fragments = [part for fragment in joined for part in ("--join", str(fragment))]
    return ["--home", str(network.layout.root), *fragments, *args]


def network_environment(network: NetworkContext) -> dict[str, str]:
    """The port offset `network` runs at, so the command talks to its nodes."""
    return {PORT_OFFSET_VARIABLE: str(network.topology.port_offset)}


def network_sh_process(
    network: NetworkContext, *args: str, joined: Sequence[Path] = (), timeout: float = PROCESS_TIMEOUT
) -> subprocess.CompletedProcess[str]:
    """`network.sh ARGS` on `network` as a process of its own; its exit code and output, unchecked."""
    command = [sys.executable, "-m", "seocho_network", *network_arguments(network, *args, joined=joined)]
    environment = os.environ | network_environment(network)
    return subprocess.run(
        command, env=environment, capture_output=True, text=True, timeout=timeout, check=False
    )


def network_sh(network: NetworkContext, *args: str) -> tuple[int, str]:
    """In-process: exit code and output (with the error `main()` would print, e.g. a NetworkError's)."""
    result = CliRunner().invoke(cli, network_arguments(network, *args), env=network_environment(network))
    failed = result.exception is not None and not isinstance(result.exception, SystemExit)
    error = str(result.exception) if failed else ""
    return result.exit_code, result.output + error
