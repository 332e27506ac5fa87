"""The Docker Compose deployment brought up here: channel, chaincode, the demo, restart, backup and restore.

One deployment for the module (bringing it up takes about half a minute), each organisation in a compose
project of its own (the default: `<base>-<org>`, on its own Docker network) with a base name of the test's,
on ports shifted clear of a native network, so it runs beside a developer's own. The tests run in order;
the last one takes the deployment down and checks that nothing of any project is left.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from docker_support import REPO_ROOT, DockerImages, docker
from seocho_network.topology import Orderer, Organization, Peer, Topology, load_topology

pytestmark = [pytest.mark.docker, pytest.mark.timeout(900)]

NETWORK_SH = REPO_ROOT / "scripts" / "network.sh"
SEOCHO = REPO_ROOT / ".venv" / "bin" / "seocho"


@dataclass
class Deployment:
    home: Path
    base: str
    env: dict[str, str]
    volumes_before: set[str]
    topology: Topology

    def project(self, org: Organization) -> str:
        """The organisation's Compose project (compose_render.project_name)."""
        return f"{self.base}-{org.name.lower()}"

    @property
    def projects(self) -> list[str]:
        return [self.project(org) for org in self.topology.organizations]

    @property
    def directory(self) -> Path:
        return self.home / "docker"

    def network(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            ["bash", str(NETWORK_SH), "docker", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert result.returncode == 0, f"network.sh docker {' '.join(args)}:\n{result.stdout}{result.stderr}"
        return result

    def compose(self, *args: str) -> str:
        """`docker compose ARGS` on every organisation's project in turn (as the runbook's operator would,
        one project each); their outputs joined."""
        outputs = []
        for org in self.topology.organizations:
            command = [
                "docker", "compose", "--project-directory", str(self.directory), "-p", self.project(org),
                "-f", str(self.directory / f"compose.{org.domain}.yaml"), *args,
            ]  # fmt: skip
            result = subprocess.run(command, env=self.env, capture_output=True, text=True, timeout=300)
            what = f"docker compose -p {self.project(org)} {' '.join(args)}"
            assert result.returncode == 0, f"{what}:\n{result.stderr}"
            outputs.append(result.stdout)
        return "".join(outputs)

    def seocho(self, *args: str, profile: str = "profile.yaml") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(SEOCHO), "--profile", str(self.directory / profile), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
        )

    def report(self, profile: str = "profile.yaml", timeout: float = 90) -> dict[str, object]:
        """The district's report, retried while the nodes come back (after a restart or a restore)."""
        deadline = time.monotonic() + timeout
        while True:
            result = self.seocho("--as", "district-auditor", "--json", "report", profile=profile)
            if result.returncode == 0:
                return dict(json.loads(result.stdout))
            if time.monotonic() > deadline:
                raise AssertionError(f"report through {profile} failed: {result.stderr}")
            time.sleep(2)

    def status(self) -> dict[str, object]:
        result = subprocess.run(
            ["bash", str(NETWORK_SH), "docker", "status", "--json"],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        return dict(json.loads(result.stdout))

    def wait_all_up(self, timeout: float = 120) -> dict[str, object]:
        deadline = time.monotonic() + timeout
        while True:
            status = self.status()
            nodes = status["nodes"]
            assert isinstance(nodes, dict)
            heights = status["peer_heights"]
            assert isinstance(heights, dict)
            if all(state == "up" for state in nodes.values()) and None not in heights.values():
                return status
            if time.monotonic() > deadline:
                raise AssertionError(f"not every container came back: {status}")
            time.sleep(2)

    def wait_same_height(self, timeout: float = 60) -> int:
        """Until every peer and orderer reports the same height (a new block reaches them one by one)."""
        deadline = time.monotonic() + timeout
        while True:
            status = self.wait_all_up()
            heights = {**status["peer_heights"], **status["orderer_heights"]}  # type: ignore[dict-item]
            if len(set(heights.values())) == 1:
                return int(next(iter(heights.values())))
            if time.monotonic() > deadline:
                raise AssertionError(f"heights differ: {heights}")
            time.sleep(1)

    def volume(self, node: Orderer | Peer) -> str:
        return f"{self.project(node.org)}_ledger-{node.node_id.replace('.', '-')}"


def _unlabelled_volumes() -> set[str]:
    """The volumes no Compose project claims (an anonymous volume of a container is one)."""
    listed = docker("volume", "ls", "--format", '{{.Name}}={{.Label "com.docker.compose.project"}}').stdout
    return {name for name, _, project in (line.partition("=") for line in listed.split()) if not project}


def _leftovers(projects: list[str]) -> dict[str, list[str]]:
    """The containers, volumes and networks any of the projects still has."""
    found: dict[str, list[str]] = {"containers": [], "volumes": [], "networks": []}
    for project in projects:
        label = f"label=com.docker.compose.project={project}"
        for kind, listing in [
            ("containers", ["ps", "--all", "--quiet", "--filter", label]),
            ("volumes", ["volume", "ls", "--quiet", "--filter", label]),
            ("networks", ["network", "ls", "--quiet", "--filter", label]),
        ]:
            found[kind] += docker(*listing).stdout.split()
    return found


@pytest.fixture(scope="module")
def deployment(
    docker_images: DockerImages, tmp_path_factory: pytest.TempPathFactory, docker_port_offset: int
) -> Iterator[Deployment]:
    home = tmp_path_factory.mktemp("seocho-docker-home")
    base = f"seocho-test-{uuid.uuid4().hex[:8]}"
    offset = docker_port_offset
    env = (
        os.environ
        | docker_images.env
        | {"SEOCHO_HOME": str(home), "SEOCHO_NETWORK_PORT_OFFSET": str(offset), "COMPOSE_PROJECT_NAME": base}
    )
    for variable in ("SEOCHO_DOCKER_HOME", "SEOCHO_DOCKER_PROJECTS"):  # the default: a project each
        env.pop(variable, None)
    volumes = set(docker("volume", "ls", "--quiet").stdout.split())
    deployed = Deployment(home, base, env, volumes, load_topology(port_offset=offset))
    try:
        deployed.network("up")
        deployed.network("deploy")
        yield deployed
    finally:
        # Whatever the tests did, nothing of the projects may outlive them.
        if any(deployed.directory.glob("compose.*.yaml")):
            subprocess.run(
                ["bash", str(NETWORK_SH), "docker", "down", "--purge"], env=env, capture_output=True
            )
        for volume in docker("volume", "ls", "--quiet", "--filter", f"name={base}-").stdout.split():
            docker("volume", "rm", "--force", volume, check=False)


def test_channel_created_joined_and_chaincode_committed(deployment: Deployment) -> None:
    status = deployment.wait_all_up()
    assert status["raft_leader"] is not None
    deployment.wait_same_height()  # every peer and orderer at the same block
    chaincode = status["chaincode"]
    assert isinstance(chaincode, dict)
    assert (chaincode["name"], chaincode["sequence"]) == ("seocho", 1)
    published = deployment.compose("ps", "--format", "{{.Ports}}")
    assert "0.0.0.0" not in published and "127.0.0.1:" in published
    # Each organisation's project runs its own containers, and only those.
    for org in deployment.topology.organizations:
        label = f"label=com.docker.compose.project={deployment.project(org)}"
        services = docker("ps", "--filter", label, "--format", '{{.Label "com.docker.compose.service"}}')
        own = {org.ca, org.tls_ca, org.chaincode_server, *org.orderers, *org.peers}
        assert sorted(services.stdout.split()) == sorted(node.node_id for node in own), org.name


def test_demo_through_published_ports_tells_the_embedded_report(
    deployment: Deployment, tmp_path: Path
) -> None:
    on_docker = deployment.seocho("demo", "--json")
    assert on_docker.returncode == 0, on_docker.stderr
    embedded = subprocess.run(
        [str(SEOCHO), "demo", "--json"],
        env=deployment.env | {"SEOCHO_HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert embedded.returncode == 0, embedded.stderr
    # The embedded story happens on its own 2023 dates, a network's peers take only today's: the months
    # differ (their totals do not), and nothing else may.
    network_report, embedded_report = json.loads(on_docker.stdout), json.loads(embedded.stdout)
    for monthly in ("by_month", "members_by_month"):
        months = (network_report.pop(monthly), embedded_report.pop(monthly))
        assert _month_totals(months[0]) == _month_totals(months[1]), monthly
    assert network_report == embedded_report
    # Both organisations' peers answer the same.
    assert deployment.report() == deployment.report("profile-partners.yaml")


def test_monitoring_scrapes_every_container_through_its_published_port(deployment: Deployment) -> None:
    """`network.sh docker monitoring up`: the native scrape configuration reaches the containers, the
    chaincode servers' metrics included (after the demo they have counted transactions)."""
    if shutil.which("prometheus") is None:
        pytest.skip("prometheus is not installed (Debian's prometheus package: scripts/install-test-deps.sh)")
    deployment.network("monitoring", "up", "--scrape-interval", "2s", "--evaluation-interval", "2s")
    try:
        deadline = time.monotonic() + 90
        while True:
            state = json.loads(deployment.network("monitoring", "status", "--json").stdout)
            health = {(t["job"], t["instance"]): t["health"] for t in state["targets"]}
            jobs = {job for job, _ in health}
            if {"fabric-peer", "fabric-orderer", "seocho-chaincode"} <= jobs and {*health.values()} == {"up"}:
                break
            assert time.monotonic() < deadline, f"not every container's target is up: {health}"
            time.sleep(2)
        from seocho_network.topology import load_topology

        topology = load_topology(port_offset=int(deployment.env["SEOCHO_NETWORK_PORT_OFFSET"]))
        servers = {org.chaincode_server.node_id for org in topology.organizations}
        assert {instance for job, instance in health if job == "seocho-chaincode"} == servers
        query = urllib.parse.urlencode({"query": 'sum(chaincode_transactions_total{job="seocho-chaincode"})'})
        url = f"{state['prometheus']['url']}/api/v1/query?{query}"
        with urllib.request.urlopen(url, timeout=10) as answer:
            (result,) = json.load(answer)["data"]["result"]
        assert float(result["value"][1]) > 0  # the demo's transactions, counted inside the containers
    finally:
        deployment.network("monitoring", "down")


def test_status_asks_each_node_over_tls_as_its_operations_client(deployment: Deployment) -> None:
    """A running container is "up" only when its /healthz answers the organisation's operations client:
    with the district's client key gone from the host, the district's CAs, orderers and peers are
    unhealthy, and only those."""
    from seocho_network.layout import NetworkLayout
    from seocho_network.topology import load_topology

    topology = load_topology(port_offset=int(deployment.env["SEOCHO_NETWORK_PORT_OFFSET"]))
    district = topology.organizations[0]
    key = NetworkLayout(deployment.directory).operations_client(district).tls_key
    hidden = key.with_name(key.name + ".away")
    key.rename(hidden)
    try:
        nodes = deployment.status()["nodes"]
        assert isinstance(nodes, dict)
    finally:
        hidden.rename(key)
    own = {node.node_id for node in [district.ca, district.tls_ca, *district.orderers, *district.peers]}
    assert {nodes[node] for node in own} == {"unhealthy"}, nodes
    assert all(state == "up" for node, state in nodes.items() if node not in own), nodes
    assert deployment.wait_all_up()  # the key back: every node up again


def _month_totals(by_month: dict[str, dict[str, int]]) -> dict[str, int]:
    totals: dict[str, int] = {}
    for figures in by_month.values():
        for kind, coins in figures.items():
            totals[kind] = totals.get(kind, 0) + coins
    return totals


def test_compose_restart_keeps_state_and_height(deployment: Deployment) -> None:
    before, height = deployment.report(), deployment.wait_all_up()["peer_heights"]
    deployment.compose("restart")
    assert deployment.wait_all_up()["peer_heights"] == height
    assert deployment.report() == before
    assert deployment.report("profile-partners.yaml") == before


def _earn_one_session(deployment: Deployment, request_id: str) -> None:
    evidence = hashlib.sha256(request_id.encode() + os.urandom(16)).hexdigest()
    earned = deployment.seocho(
        "--as", "staff-yangjae1", "earn", "S-0001", "course_session", "1",
        "--evidence", evidence, "--request-id", request_id,
    )  # fmt: skip
    assert earned.returncode == 0, earned.stderr


def test_renewed_tls_certificates_keep_endorsing_and_ordering(deployment: Deployment) -> None:
    before = deployment.report()
    # A peer and a chaincode server get a new key; an orderer keeps its key (the consenter set pins it).
    for node in (
        "peer0.partners.seocho.local",
        "orderer1.district.seocho.local",
        "chaincode.partners.seocho.local",
    ):
        # A node's files are in its organisation's home: orgs/<domain>/nodes/<node>/.
        domain = node.split(".", 1)[1]
        certificate = deployment.directory / "orgs" / domain / "nodes" / node / "tls" / "server.crt"
        old = certificate.read_bytes()
        deployment.network("renew-tls", node)
        assert certificate.read_bytes() != old
    deployment.wait_all_up()
    deadline = time.monotonic() + 60
    while True:  # the peers redial the restarted chaincode server and orderer by themselves
        try:
            _earn_one_session(deployment, f"TLS-{uuid.uuid4().hex[:8]}")
            break
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(2)
    coins = deployment.report()["coins"]
    assert isinstance(coins, dict) and isinstance(before["coins"], dict)
    assert coins["earned"] == before["coins"]["earned"] + 1
    deployment.wait_same_height()


def test_upgrade_with_a_renewed_chaincode_client_certificate_keeps_state(deployment: Deployment) -> None:
    before = deployment.report()
    # The peers' client certificate for the chaincode server is in the packages: renewal needs new ones.
    deployment.network("renew-tls", "chaincode-client.partners.seocho.local")
    deployment.network("upgrade")
    chaincode = deployment.wait_all_up()["chaincode"]
    assert isinstance(chaincode, dict) and chaincode["sequence"] == 2
    assert deployment.report() == before
    _earn_one_session(deployment, f"UPG-{uuid.uuid4().hex[:8]}")  # the new packages serve transactions


def test_peer_backed_up_and_restored_by_network_sh(deployment: Deployment, tmp_path: Path) -> None:
    # The runbook's procedure: `docker backup`, more transactions, `docker stop`, `restore`, `start`.
    peer = "peer0.partners.seocho.local"
    height = deployment.wait_same_height()
    backup = tmp_path / "backup"
    deployment.network("backup", peer, "--to", str(backup))
    manifest = json.loads((backup / "manifest.json").read_text())
    assert (manifest["node"], manifest["runtime"], manifest["height"]) == (peer, "docker", height)
    archive = (backup / "ledger.tar.gz").stat()
    assert (archive.st_mode & 0o777, archive.st_uid) == (0o600, os.getuid())
    _earn_one_session(deployment, f"BACKUP-{uuid.uuid4().hex[:8]}")
    later = deployment.wait_same_height()
    assert later > height
    deployment.network("stop", peer)
    deployment.network("restore", peer, "--from", str(backup))
    # Before it starts, the volume holds the backup's ledger: a copy of it now counts the backup's height.
    check = tmp_path / "restored"
    deployment.network("backup", peer, "--to", str(check))
    assert json.loads((check / "manifest.json").read_text())["height"] == height < later
    deployment.network("start", peer)
    assert deployment.wait_same_height() == later  # the restored peer fetched the blocks after the backup
    assert deployment.report("profile-partners.yaml") == deployment.report()


def test_down_with_volumes_leaves_nothing(deployment: Deployment) -> None:
    # Before: each organisation's project has its containers, volumes and network (the check can fail).
    before = _leftovers(deployment.projects)
    assert all(before.values()), before
    assert len(before["networks"]) == len(deployment.projects)
    deployment.network("down", "--purge")
    assert _leftovers(deployment.projects) == {"containers": [], "volumes": [], "networks": []}
    # Nor an anonymous volume (they carry no project label; other sessions' projects may make volumes
    # meanwhile, labelled with their projects).
    assert _unlabelled_volumes() <= deployment.volumes_before
    assert not deployment.directory.exists()
