"""`network.sh docker renew` (issue 18, item 4, in Docker): every certificate due renews, one node at a time,
on a Docker deployment of its own whose CAs issue certificates valid for minutes.

The topology copy says `certificates: {lifetime: 30m}`, which the compose file gives each CA container as its
signing expiries (the CAs write their config inside their containers at their first start), so as soon as
the deployment is up every certificate of its nodes, admins, users, chaincode servers and clients, and each
CA's own TLS certificate, is due within a 31-minute window. Renewal runs with a second copy of the topology
saying 60m: renewing a CA's own TLS certificate recreates its container with the new expiries, so what the
renewal issues lies beyond the window (a single lifetime shorter than the window would make every renewed
certificate due again).

While two clients earn, pay and donate, `network.sh docker renew --within 31m` renews everything due. Then:
every certificate but the CA roots was reissued (to the same subject, but a CA server's own TLS certificate,
named after its container) with a new serial and expires beyond the window, every container is up
(`status --json`), each orderer presents its new TLS certificate and the channel's consenter set carries
them, each CA's operations endpoint presents its renewed certificate, the ordering service still orders,
the chaincode is on a new sequence, a movement commits through each organisation's profile, and the report
differs from before by exactly what the clients were told committed and those movements. The renewal's
time is printed (measured).
"""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from docker_support import REPO_ROOT, DockerImages, docker

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "faults"))  # the coin load (tests/faults)

from load import Load, Outcome

pytestmark = [pytest.mark.docker, pytest.mark.timeout(1800)]

NETWORK_SH = REPO_ROOT / "scripts" / "network.sh"
SEOCHO = REPO_ROOT / ".venv" / "bin" / "seocho"
TOPOLOGY = REPO_ROOT / "network" / "topology.yaml"
FIRST_LIFETIME, RENEWED_LIFETIME = "30m", "60m"
WINDOW = timedelta(minutes=31)


@dataclass
class ShortLived:
    """The deployment, and the topology copies it was brought up with and is renewed with."""

    home: Path
    project: str
    env: dict[str, str]
    first: Path
    renewed: Path

    @property
    def directory(self) -> Path:
        return self.home / "docker"

    def network(
        self, *args: str, topology: Path | None = None, timeout: float = 900
    ) -> subprocess.CompletedProcess[str]:
        command = ["bash", str(NETWORK_SH), "--topology", str(topology or self.first), "docker", *args]
        result = subprocess.run(command, env=self.env, capture_output=True, text=True, timeout=timeout)
        assert result.returncode == 0, f"network.sh docker {' '.join(args)}:\n{result.stdout}{result.stderr}"
        return result

    def seocho(self, *args: str, profile: str = "profile.yaml") -> subprocess.CompletedProcess[str]:
        command = [str(SEOCHO), "--profile", str(self.directory / profile), *args]
        return subprocess.run(command, env=self.env, capture_output=True, text=True, timeout=300)

    def report(self, profile: str = "profile.yaml") -> dict[str, object]:
        result = self.seocho("--as", "district-auditor", "--json", "report", profile=profile)
        assert result.returncode == 0, result.stderr
        return dict(json.loads(result.stdout))

    def status(self) -> dict[str, object]:
        """`status --json` (whose exit status says whether everything is up: read, not asserted)."""
        command = ["bash", str(NETWORK_SH), "--topology", str(self.renewed), "docker", "status", "--json"]
        result = subprocess.run(command, env=self.env, capture_output=True, text=True, timeout=120)
        return dict(json.loads(result.stdout))

    def profile(self, org: object = None) -> Path:
        """What the load asks of a running network: the district's profile."""
        return self.directory / "profile.yaml"


def _topology_copy(path: Path, lifetime: str) -> Path:
    document = yaml.safe_load(TOPOLOGY.read_text(encoding="utf-8"))
    document["certificates"] = {"lifetime": lifetime}
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def short_lived(
    docker_images: DockerImages, tmp_path_factory: pytest.TempPathFactory, docker_port_offset: int
) -> Iterator[ShortLived]:
    directory = tmp_path_factory.mktemp("docker-renewal")
    project = f"seocho-renew-{uuid.uuid4().hex[:8]}"
    env = os.environ | docker_images.env | {
        "SEOCHO_HOME": str(directory / "home"),
        "SEOCHO_NETWORK_PORT_OFFSET": str(docker_port_offset),
        "COMPOSE_PROJECT_NAME": project,
    }  # fmt: skip
    env.pop("SEOCHO_DOCKER_HOME", None)
    deployed = ShortLived(
        directory / "home",
        project,
        env,
        _topology_copy(directory / "topology-first.yaml", FIRST_LIFETIME),
        _topology_copy(directory / "topology-renewed.yaml", RENEWED_LIFETIME),
    )
    try:
        deployed.network("up")
        deployed.network("deploy")
        told = deployed.seocho("demo", "--json")
        assert told.returncode == 0, told.stderr
        yield deployed
    finally:
        if any(deployed.directory.glob("compose*.yaml")):  # one file per organisation, or one for all
            subprocess.run(
                ["bash", str(NETWORK_SH), "--topology", str(deployed.first), "docker", "down", "--purge"],
                env=env,
                capture_output=True,
            )
        for volume in docker("volume", "ls", "--quiet", "--filter", f"name={project}_").stdout.split():
            docker("volume", "rm", "--force", volume, check=False)


def _certificates(home: Path) -> dict[Path, x509.Certificate]:
    from seocho_network.certificate_exporter import CA, certificate_files

    return {
        file.path: x509.load_pem_x509_certificate(file.path.read_bytes())
        for file in certificate_files(home)
        if file.kind != CA
    }


def _open_network(deployed: ShortLived, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """The deployment as `network.sh` opens it, in this process (to read the channel config)."""
    from seocho_network.network import Network

    for name in ("SEOCHO_HOME", "SEOCHO_NETWORK_PORT_OFFSET", "COMPOSE_PROJECT_NAME"):
        monkeypatch.setenv(name, deployed.env[name])
    return Network.open(deployed.directory, deployed.renewed, say=lambda line: None, runtime="docker")


def _resolve_unknowns(deployed: ShortLived, outcomes: list[Outcome]) -> None:
    """Settles each unknown outcome by its transaction's commit status (as the faults suite does)."""
    from seocho.gateway_backend import GatewayBackend, connect_gateway
    from seocho.profile import load_profile

    unknown = [o for o in outcomes if o.result == "unknown"]
    if not unknown:
        return
    profile = load_profile(deployed.profile())
    with connect_gateway(profile, "district-auditor") as gateway:
        backend = GatewayBackend(gateway.get_network(profile.channel).get_contract(profile.chaincode))
        for outcome in unknown:
            assert outcome.tx_id is not None
            status = backend.transaction_status(outcome.tx_id, wait=15)
            outcome.result = (
                "not_committed" if status is None else "valid" if status.successful else "invalid"
            )
            outcome.resolved = True


def _wait_all_up(deployed: ShortLived, timeout: float = 180) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while True:
        status = deployed.status()
        nodes, heights = status["nodes"], status["peer_heights"]
        assert isinstance(nodes, dict) and isinstance(heights, dict)
        if set(nodes.values()) == {"up"} and None not in heights.values():
            return status
        assert time.monotonic() < deadline, f"not every container is up: {status}"
        time.sleep(2)


@pytest.mark.timeout(900)  # the module's deployment comes up in this test's setup
def test_docker_cas_issue_certificates_of_the_topologys_lifetime(short_lived: ShortLived) -> None:
    horizon = datetime.now(UTC) + WINDOW
    issued = _certificates(short_lived.directory)
    assert len(issued) > 20, sorted(map(str, issued))
    late = {str(path) for path, cert in issued.items() if cert.not_valid_after_utc > horizon}
    assert not late, f"issued for longer than {FIRST_LIFETIME}: {late}"
    told = short_lived.network("renew", "--within", "31m", "--dry-run", topology=short_lived.renewed)
    from seocho_network.topology import load_topology

    topology = load_topology(
        short_lived.first, port_offset=int(short_lived.env["SEOCHO_NETWORK_PORT_OFFSET"])
    )
    for node in [*topology.orderers, *topology.peers, *topology.cas]:
        assert f" {node.node_id}:" in told.stdout, told.stdout
    assert _certificates(short_lived.directory).keys() == issued.keys()
    assert all(
        cert.serial_number == issued[path].serial_number
        for path, cert in _certificates(short_lived.directory).items()
    ), "the dry run renewed a certificate"


def test_renew_in_docker_under_load_renews_everything_due(
    short_lived: ShortLived, monkeypatch: pytest.MonkeyPatch
) -> None:
    from seocho_network import config_updates
    from seocho_network.certificate_exporter import CA
    from seocho_network.consenter_certificates import consenter_tls_certificates
    from seocho_network.renewal_plan import due_certificates

    before_report = short_lived.report()
    before = _certificates(short_lived.directory)
    sequence_before = short_lived.status()["chaincode"]
    assert isinstance(sequence_before, dict)
    load = Load(short_lived, workers=2)  # type: ignore[arg-type]  # it asks only for the profile
    timing: dict[str, float] = {}

    def renew() -> str:
        began = time.monotonic()
        told = short_lived.network("renew", "--within", "31m", topology=short_lived.renewed, timeout=1500)
        timing["renew"] = time.monotonic() - began
        return told.stdout

    outcomes, said = load.run(10.0, fault=renew, after=10.0, fault_timeout=1500)
    _resolve_unknowns(short_lived, outcomes)
    results = Counter(o.result for o in outcomes)
    steps = [line.removeprefix("renew: ") for line in (said or "").splitlines() if "took" in line]
    print(
        f"\nrenewal in Docker of {len(before)} certificates under load: {timing['renew']:.1f} s "
        f"({'; '.join(steps)}); outcomes: {dict(results)}"
    )
    assert results["valid"] > 0 and results["unknown"] == 0, results

    # Every certificate reissued to the same subject, none due within the window any more.
    after = _certificates(short_lived.directory)
    assert after.keys() == before.keys()
    horizon = datetime.now(UTC) + WINDOW
    for path, certificate in after.items():
        assert certificate.serial_number != before[path].serial_number, f"{path} was not renewed"
        if path.name == "tls-cert.pem":  # a CA server's own: named after its container's host name
            assert certificate.issuer == before[path].issuer, path
        else:
            assert certificate.subject == before[path].subject, path
        assert certificate.not_valid_after_utc > horizon, f"{path} still expires within the window"
    assert not [d for d in due_certificates(short_lived.directory, WINDOW) if d.kind != CA]

    # Every container is up; the orderers present their new certificates, which the consenter set carries.
    status = _wait_all_up(short_lived)
    assert status["raft_leader"] is not None
    chaincode = status["chaincode"]
    assert isinstance(chaincode, dict) and chaincode["sequence"] == sequence_before["sequence"] + 1
    network = _open_network(short_lived, monkeypatch)
    orderers = network.topology.orderers
    for orderer in orderers:
        presented = ssl.get_server_certificate(("127.0.0.1", orderer.port), timeout=10)
        files = network.layout.node(orderer.node_id)
        assert ssl.PEM_cert_to_DER_cert(presented) == ssl.PEM_cert_to_DER_cert(files.tls_cert.read_text())
    for ca in network.topology.cas:  # each CA restarted with its renewed operations certificate
        presented = ssl.get_server_certificate(("127.0.0.1", ca.operations_port), timeout=10)
        files = network.layout.ca_operations(ca)
        assert ssl.PEM_cert_to_DER_cert(presented) == ssl.PEM_cert_to_DER_cert(files.tls_cert.read_text())
    config = config_updates.channel_config(network, network.topology.organizations[0])
    assert set(consenter_tls_certificates(config)) == {
        network.layout.node(o.node_id).tls_cert.read_bytes() for o in orderers
    }

    # A movement commits through each organisation's profile (ordered by the renewed orderers).
    heights = status["orderer_heights"]
    assert isinstance(heights, dict)
    request = uuid.uuid4().hex[:8]
    earned = short_lived.seocho(
        "--as", "staff-yangjae1", "earn", "S-0001", "course_session", "1",
        "--evidence", uuid.uuid4().hex * 2, "--request-id", f"RENEW-EARN-{request}",
    )  # fmt: skip
    assert earned.returncode == 0, earned.stderr
    paid = short_lived.seocho(
        "--as", "member-S-0001", "pay", "S-0001", "yangjae1-cc", "--price", "1000", "--coins", "1",
        "--service", "course", "--request-id", f"RENEW-PAY-{request}", profile="profile-partners.yaml",
    )  # fmt: skip
    assert paid.returncode == 0, paid.stderr
    deadline = time.monotonic() + 60
    while True:  # every orderer, each restarted with its new certificate, has the blocks
        later = _wait_all_up(short_lived)["orderer_heights"]
        assert isinstance(later, dict)
        if all(later[o.node_id] > heights[o.node_id] for o in orderers):
            break
        assert time.monotonic() < deadline, (heights, later)
        time.sleep(1)

    # The report moved by exactly what the clients were told committed, and the two movements.
    valid = Counter(o.kind for o in outcomes if o.result == "valid")
    coins = before_report["coins"]
    assert isinstance(coins, dict)
    expected = dict(coins)
    expected["earned"] += valid["earn"] + 1
    expected["spent"] += valid["pay"] + 1
    expected["donated"] += valid["donate"]
    expected["outstanding"] += valid["earn"] + 1  # spent and donated coins stay out until redeemed
    report = short_lived.report()
    assert report["coins"] == expected, (report["coins"], expected, valid)
    assert short_lived.report("profile-partners.yaml") == report
