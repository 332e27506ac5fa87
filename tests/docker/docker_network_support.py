"""A Docker deployment that the in-process tools reach as a `RunningNetwork` (fabric_network_support.py), so
the fault tests' load and ledger accounting (tests/faults: load.py, ledger_record.py) run on Docker too.

`docker_running_network` brings a deployment up with `network.sh docker up` and `deploy`, tells the demo's
story through its published ports, and yields it as a RunningNetwork on the deployment's directory with
the Docker runtime; the variables it runs with (images, port offset, project name, release, consensus)
are set in this process's environment too, for the in-process Network and compose calls. At the end
everything of its projects is taken down, volumes included.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from docker_support import REPO_ROOT, DockerImages, docker

# The load and the ledger accounting of the fault tests (imported by name, as pytest does for tests/faults).
sys.path.insert(0, str(REPO_ROOT / "tests" / "faults"))

from fabric_network_support import RunningNetwork
from seocho_network import Network
from seocho_network.topology import (
    FABRIC_VERSION_VARIABLE,
    ORDERER_TYPE_VARIABLE,
    Orderer,
    Organization,
    Peer,
)

NETWORK_SH = REPO_ROOT / "scripts" / "network.sh"
SEOCHO = REPO_ROOT / ".venv" / "bin" / "seocho"


def run_network_sh(
    env: dict[str, str], *args: str, topology_file: Path | None = None, timeout: float = 900
) -> str:
    """`network.sh [--topology FILE] docker ARGS`; its output (the error shows it all)."""
    topology = ["--topology", str(topology_file)] if topology_file is not None else []
    result = subprocess.run(
        ["bash", str(NETWORK_SH), *topology, "docker", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, f"network.sh docker {' '.join(args)}:\n{result.stdout}{result.stderr}"
    return result.stdout


def docker_running_network(
    images: DockerImages,
    home: Path,
    offset: int,
    variables: dict[str, str],
    topology_file: Path | None = None,
) -> Iterator[RunningNetwork]:
    """The deployment in `home`/docker with `variables` (e.g. SEOCHO_FABRIC_VERSION), the demo told."""
    base = f"seocho-test-{uuid.uuid4().hex[:8]}"
    env = dict(os.environ) | images.env | variables
    env |= {"SEOCHO_HOME": str(home), "SEOCHO_NETWORK_PORT_OFFSET": str(offset), "COMPOSE_PROJECT_NAME": base}
    # The default: a project each; the topology's release and consensus unless `variables` name others.
    unset = ["SEOCHO_DOCKER_HOME", "SEOCHO_DOCKER_PROJECTS"]
    unset += [name for name in (FABRIC_VERSION_VARIABLE, ORDERER_TYPE_VARIABLE) if name not in variables]
    for variable in unset:
        env.pop(variable, None)
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        for variable in unset:
            patch.delenv(variable, raising=False)
        said: list[str] = []
        try:
            run_network_sh(env, "up", topology_file=topology_file)
            run_network_sh(env, "deploy", topology_file=topology_file)
            network = Network.open(
                home / "docker", topology_file, say=said.append, port_offset=offset, runtime="docker"
            )
            running = RunningNetwork(network, said)
            told = subprocess.run(
                [str(SEOCHO), "--profile", str(network.layout.profile), "demo", "--json"],
                env=env,
                capture_output=True,
                text=True,
                timeout=600,
            )
            assert told.returncode == 0, told.stderr
            yield running
        finally:
            if any((home / "docker").glob("compose.*.yaml")):
                topology = ["--topology", str(topology_file)] if topology_file is not None else []
                subprocess.run(
                    ["bash", str(NETWORK_SH), *topology, "docker", "down", "--purge"],
                    env=env,
                    capture_output=True,
                )
            for volume in docker("volume", "ls", "--quiet", "--filter", f"name={base}-").stdout.split():
                docker("volume", "rm", "--force", volume, check=False)


def container(node: Orderer | Peer) -> str:
    """The id of the running or stopped container of `node` (its organisation's project)."""
    return service_container(node.org, node.node_id)


def service_container(org: Organization, service: str) -> str:
    """The id of the running or stopped container of the Compose service `service` in `org`'s project
    (this process's COMPOSE_PROJECT_NAME, as docker_running_network sets it, and the organisation)."""
    project = f"{os.environ['COMPOSE_PROJECT_NAME']}-{org.name.lower()}"
    found = docker(
        "ps", "--all", "--quiet",
        "--filter", f"label=com.docker.compose.project={project}",
        "--filter", f"label=com.docker.compose.service={service}",
    ).stdout.split()  # fmt: skip
    assert len(found) == 1, f"{service}: containers {found}"
    return found[0]


def container_image(node: Orderer | Peer) -> str:
    """The image reference the node's container was created from."""
    return docker("inspect", "--format", "{{.Config.Image}}", container(node)).stdout.strip()
