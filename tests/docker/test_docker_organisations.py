"""Each organisation a Compose project of its own, on its own Docker network (issue 17, item 2).

By default (SEOCHO_DOCKER_PROJECTS unset) `network.sh docker up` and `deploy` run one project per
organisation; they reach each other only through the ports their projects publish on the Docker host's
gateway address, as separate hosts would through theirs. Here: every container is in its organisation's
project and on its network only; from the partners' network the district's containers are neither named
nor reachable, but the district's published peer port is; a coin movement attested by a Partners identity
commits, endorsed by both organisations (AND policy), and both organisations' peers answer the same
balance; `down --purge` leaves nothing of either project.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from docker_support import REPO_ROOT, DockerImages, docker
from fabric_protos.msp import identities_pb2
from seocho.cast import client_id_of
from seocho_network.ledger_copies import ledger_volume
from seocho_network.topology import Organization, Topology, load_topology

pytestmark = [pytest.mark.docker, pytest.mark.timeout(900)]

NETWORK_SH = REPO_ROOT / "scripts" / "network.sh"
SEOCHO = REPO_ROOT / ".venv" / "bin" / "seocho"
TOPOLOGY_NETWORK = "seocho"  # the network each rendered project declares (compose_render.NETWORK)

_PROBE = """
import socket, sys
host, port = sys.argv[1], int(sys.argv[2])
try:
    socket.create_connection((host, port), timeout=3).close()
    print("connected")
except OSError as exc:
    print(type(exc).__name__)
"""


@dataclass
class Deployment:
    home: Path
    base: str
    env: dict[str, str]
    topology: Topology
    images: DockerImages

    @property
    def directory(self) -> Path:
        return self.home / "docker"

    def project(self, org: Organization) -> str:
        return f"{self.base}-{org.name.lower()}"

    def network(self, *args: str) -> str:
        result = subprocess.run(
            ["bash", str(NETWORK_SH), "docker", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert result.returncode == 0, f"network.sh docker {' '.join(args)}:\n{result.stdout}{result.stderr}"
        return result.stdout

    def seocho(self, *args: str, profile: str = "profile.yaml") -> str:
        result = subprocess.run(
            [str(SEOCHO), "--profile", str(self.directory / profile), *args],
            env=self.env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert result.returncode == 0, f"seocho {' '.join(args)}: {result.stderr}"
        return result.stdout.strip()

    def containers(self, org: Organization) -> dict[str, dict[str, object]]:
        """The organisation's project's containers by service: their networks."""
        label = f"label=com.docker.compose.project={self.project(org)}"
        ids = docker("ps", "--all", "--quiet", "--filter", label).stdout.split()
        found = {}
        for entry in json.loads(docker("inspect", *ids).stdout) if ids else []:
            found[entry["Config"]["Labels"]["com.docker.compose.service"]] = entry["NetworkSettings"][
                "Networks"
            ]
        return found


@pytest.fixture(scope="module")
def deployment(
    docker_images: DockerImages, tmp_path_factory: pytest.TempPathFactory, docker_port_offset: int
) -> Iterator[Deployment]:
    home = tmp_path_factory.mktemp("seocho-docker-organisations")
    base = f"seocho-orgs-{uuid.uuid4().hex[:8]}"
    offset = docker_port_offset
    env = os.environ | docker_images.env | {
        "SEOCHO_HOME": str(home),
        "SEOCHO_NETWORK_PORT_OFFSET": str(offset),
        "COMPOSE_PROJECT_NAME": base,
    }  # fmt: skip
    for variable in ("SEOCHO_DOCKER_HOME", "SEOCHO_DOCKER_PROJECTS"):  # the default: a project each
        env.pop(variable, None)
    deployed = Deployment(home, base, env, load_topology(port_offset=offset), docker_images)
    try:
        deployed.network("up")
        deployed.network("deploy")
        yield deployed
    finally:
        subprocess.run(["bash", str(NETWORK_SH), "docker", "down", "--purge"], env=env, capture_output=True)
        for volume in docker("volume", "ls", "--quiet", "--filter", f"name={base}-").stdout.split():
            docker("volume", "rm", "--force", volume, check=False)


def _nodes(org: Organization) -> set[str]:
    ids = {org.ca.node_id, org.tls_ca.node_id, org.chaincode_server.node_id}
    return ids | {o.node_id for o in org.orderers} | {p.node_id for p in org.peers}


def test_each_organisation_is_a_project_of_its_own_on_its_own_network(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    networks = []
    monkeypatch.setenv("COMPOSE_PROJECT_NAME", deployment.base)
    monkeypatch.delenv("SEOCHO_DOCKER_PROJECTS", raising=False)
    for org in deployment.topology.organizations:
        # Its ledgers are its project's volumes, where `network.sh docker backup` looks for them.
        for node in (*org.orderers, *org.peers):
            volume = ledger_volume(node)
            assert volume.startswith(deployment.project(org) + "_"), volume
            docker("volume", "inspect", volume)
        containers = deployment.containers(org)
        assert set(containers) == _nodes(org), org.name
        own = f"{deployment.project(org)}_{TOPOLOGY_NETWORK}"
        assert {name for attached in containers.values() for name in attached} == {own}, org.name
        networks.append(own)
    assert len(set(networks)) == len(networks)


def _probe(deployment: Deployment, network: str, host: str, port: int, *extra: str) -> str:
    done = docker(
        "run", "--rm", "--network", network, *extra, "--entrypoint", "python3", deployment.images.chaincode,
        "-c", _PROBE, host, str(port),
    )  # fmt: skip
    return done.stdout.strip()


def test_the_other_organisation_is_reached_only_through_its_published_ports(deployment: Deployment) -> None:
    district, partners = deployment.topology.organizations[:2]
    peer = district.peers[0]
    (district_network,) = deployment.containers(district)[peer.node_id]
    partners_network = f"{deployment.project(partners)}_{TOPOLOGY_NETWORK}"
    address = deployment.containers(district)[peer.node_id][district_network]["IPAddress"]  # type: ignore[index]
    # From the partners' network the district's containers have no name, and their addresses no route.
    assert _probe(deployment, partners_network, peer.node_id, peer.port) == "gaierror"
    assert _probe(deployment, partners_network, str(address), peer.port) in ("timeout", "TimeoutError")
    # The port the district's project publishes for the other organisations answers, under the peer's name.
    via_host = ("--add-host", f"{peer.node_id}:host-gateway")
    assert _probe(deployment, partners_network, peer.node_id, peer.port, *via_host) == "connected"
    # On its own network the district reaches it directly.
    assert _probe(deployment, district_network, peer.node_id, peer.port) == "connected"


def _client_id(deployment: Deployment, name: str, msp_id: str) -> str:
    (certificate,) = (deployment.directory / "users" / name / "msp" / "signcerts").iterdir()
    serialized = identities_pb2.SerializedIdentity(mspid=msp_id, id_bytes=certificate.read_bytes())
    return client_id_of(serialized.SerializeToString())


def test_a_coin_movement_endorsed_by_both_organisations_commits(deployment: Deployment) -> None:
    run = deployment.seocho
    run("--as", "district-admin", "institution", "register", "seocho-welfare", "welfare_centre",
        "--activity", "volunteer_hour", "--sells-services", "--quota", "30000",
        "--staff-msp", "PartnersMSP")  # fmt: skip
    year = str(datetime.now(ZoneInfo("Asia/Seoul")).year)
    staff = _client_id(deployment, "staff-welfare", "PartnersMSP")
    run("--as", "district-admin", "institution", "allowance", "seocho-welfare", staff, year, "100")
    member = _client_id(deployment, "member-S-0001", "SeochoDistrictMSP")
    run("--as", "district-registrar", "member", "register", "S-0001", member, "--category", "senior")
    # Endorsed by the district's peer and, through the published port, the partners' (AND policy).
    run("--as", "staff-welfare", "earn", "S-0001", "volunteer_hour", "2", "--evidence", "cd" * 32,
        "--request-id", "VOL-DOCKER-ORGS-1")  # fmt: skip
    # The district's Gateway answered once its peer committed; the partners' peer gets the block by itself.
    for profile in ("profile.yaml", "profile-partners.yaml"):
        deadline = time.monotonic() + 30
        while True:
            balance = json.loads(run("--as", "member-S-0001", "--json", "balance", "S-0001", profile=profile))
            if balance["coins"] == 6 or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert balance["coins"] == 6, (profile, balance)


def test_down_purge_leaves_nothing_of_either_project(deployment: Deployment) -> None:
    deployment.network("down", "--purge")
    for org in deployment.topology.organizations:
        label = f"label=com.docker.compose.project={deployment.project(org)}"
        for listing in (["ps", "--all"], ["volume", "ls"], ["network", "ls"]):
            assert docker(*listing, "--quiet", "--filter", label).stdout.split() == [], (org.name, listing)
