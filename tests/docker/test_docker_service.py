"""The HTTP service as a container of the district's Compose project (`network.sh docker service up`).

One deployment for the module, docker_network_support.docker_running_network's (each organisation a project
of its own, the demo played so residents have coins), then the service beside the district's nodes: it runs
as uid 10001 on a read-only root filesystem, becomes healthy, answers /readyz over HTTPS verified against
the district's TLS CA, carries a resident-signed payment to commit, logs nothing secret; `docker renew`
renews its identity and default certificate (valid 29 days here) and its container serves the renewed
ones; and it keeps its state (terminals' hashed keys, recorded outcomes) when its container is recreated
with the district's own certificate. The tests run in order;
the last takes the deployment down. Its module scope keeps it from running beside test_docker_network's
deployment (each module's is down before the next module's comes up: the machine has 2 cores).
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import ipaddress
import json
import os
import ssl
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import fabric_gateway as fg
import httpx
import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from docker_network_support import docker_running_network, run_network_sh, service_container
from docker_support import REPO_ROOT, DockerImages, docker
from seocho.profile import load_profile
from seocho_network.compose_service import host_port, service_node_id, state_volume
from seocho_network.layout import NetworkLayout
from seocho_network.topology import Topology, load_topology

pytestmark = [pytest.mark.docker, pytest.mark.timeout(900)]

STAFF = "staff-welfare"  # the demo's staff of the institution seocho-welfare
MEMBER = "S-0003"
APP = "https://app.seocho.example"  # the resident app's origin
SERVICE_UP = ("service", "up", "--staff", STAFF, "--cors-origin", APP)


@dataclass
class Served:
    home: Path
    base: str
    env: dict[str, str]
    topology_file: Path
    topology: Topology
    sent: list[str] = field(default_factory=list)  # every signature and key the tests sent, for the log check
    recorded: dict[str, Any] = field(default_factory=dict)  # what later tests replay

    @property
    def directory(self) -> Path:
        return self.home / "docker"

    @property
    def layout(self) -> NetworkLayout:
        return NetworkLayout.for_topology(self.directory, self.topology)

    @property
    def district_project(self) -> str:
        return f"{self.base}-{self.topology.organizations[0].name.lower()}"

    def network(self, *args: str, timeout: float = 900) -> str:
        """`network.sh docker ARGS` on this deployment; its output."""
        return run_network_sh(self.env, *args, topology_file=self.topology_file, timeout=timeout)

    def container(self) -> str:
        """The service's container id (its Compose labels: the district's project, the service's name)."""
        return service_container(self.topology.organizations[0], service_node_id(self.topology))

    def inspect(self) -> dict[str, Any]:
        (document,) = json.loads(docker("inspect", self.container()).stdout)
        return dict(document)

    def client(self, ca: Path | None = None) -> httpx.Client:
        """HTTPS to the published port, verified against `ca` (default: the district's TLS CA)."""
        district = self.topology.organizations[0]
        context = ssl.create_default_context(cafile=str(ca or self.layout.ca_server_root(district.tls_ca)))
        url = f"https://127.0.0.1:{host_port(self.topology)}"
        return httpx.Client(base_url=url, verify=context, timeout=90)


@pytest.fixture(scope="module")
def served(
    docker_images: DockerImages,
    service_image: str,
    tmp_path_factory: pytest.TempPathFactory,
    docker_port_offset: int,
) -> Iterator[Served]:
    home = tmp_path_factory.mktemp("seocho-docker-service")
    # Every certificate valid 29 days: within `docker renew`'s 30-day window, so it renews them.
    document = yaml.safe_load((REPO_ROOT / "network" / "topology.yaml").read_text(encoding="utf-8"))
    document["certificates"] = {"lifetime": "696h"}
    topology_file = home / "topology.yaml"
    topology_file.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    deployment = docker_running_network(docker_images, home, docker_port_offset, {}, topology_file)
    try:
        next(deployment)  # up, deploy, the demo told; this process's environment is the deployment's
        env = dict(os.environ)
        topology = load_topology(topology_file, port_offset=docker_port_offset)
        deployed = Served(home, env["COMPOSE_PROJECT_NAME"], env, topology_file, topology)
        deployed.network(*SERVICE_UP)
        yield deployed
    finally:
        deployment.close()  # down --purge, the projects' volumes (the service's state too) removed


@dataclass
class Phone:
    """A resident's device: it holds the member's key; the service only ever sees signatures."""

    member_id: str
    msp_id: str
    certificate_pem: str
    signer: fg.Signer
    sent: list[str]

    def sign(self, to_sign_b64: str) -> str:
        signature = base64.b64encode(self.signer(hashlib.sha256(base64.b64decode(to_sign_b64)).digest()))
        self.sent.append(signature.decode())
        return signature.decode()

    def proposal(self, operation: dict[str, Any]) -> dict[str, Any]:
        return {"msp_id": self.msp_id, "certificate": self.certificate_pem, "operation": operation}


def phone(served: Served, member_id: str) -> Phone:
    ref = load_profile(served.directory / "profile.yaml").identity(f"member-{member_id}")
    identity, signer = fg.load_msp_directory(ref.msp_id, ref.msp_dir)
    assert signer is not None
    return Phone(member_id, ref.msp_id, identity.certificate_pem.decode(), signer, served.sent)


def signed(client: httpx.Client, device: Phone, operation: dict[str, Any]) -> httpx.Response:
    """The offline-signing flow: a query answers after one signature; a transaction is submitted after two."""
    proposed = client.post("/v1/proposals", json=device.proposal(operation))
    assert proposed.status_code == 201, proposed.text
    step = proposed.json()
    answered = client.post(step["next"], json={"signature": device.sign(step["to_sign"])})
    if "to_sign" not in answered.json():
        return answered
    step = answered.json()
    return client.post(step["next"], json={"signature": device.sign(step["to_sign"])})


def balance(client: httpx.Client, device: Phone) -> int:
    answered = signed(client, device, {"name": "get_balance", "member_id": device.member_id})
    assert answered.status_code == 200, answered.text
    return int(answered.json()["result"]["coins"])


def test_the_service_runs_as_its_own_user_on_a_read_only_root(served: Served) -> None:
    container = served.container()
    status = docker("exec", container, "cat", "/proc/1/status").stdout
    uids = next(line.split()[1:] for line in status.splitlines() if line.startswith("Uid:"))
    assert set(uids) == {"10001"}  # the service's process, not only a shell exec'ed into it
    refused = docker("exec", container, "sh", "-c", "echo x > /opt/seocho/written", check=False)
    assert refused.returncode != 0 and "Read-only file system" in refused.stderr
    assert docker("exec", container, "sh", "-c", "echo x > /tmp/written").returncode == 0  # the tmpfs
    host = served.inspect()["HostConfig"]
    assert host["ReadonlyRootfs"] is True and host["CapDrop"] == ["ALL"]
    assert "no-new-privileges:true" in host["SecurityOpt"]
    bindings = [b for ports in host["PortBindings"].values() for b in ports]
    assert [b["HostIp"] for b in bindings] == ["127.0.0.1"]
    # Its keys are 0600 and belong to uid 10001 (the HTTPS key and each identity's).
    keys = docker(
        "exec", container, "sh", "-c", "stat -c '%u %a %n' /etc/seocho/tls/server.key "
        "/etc/seocho/network/identities/*/msp/keystore/*",
    ).stdout.splitlines()  # fmt: skip
    assert len(keys) == 3 and all(line.startswith("10001 600 ") for line in keys), keys  # TLS, 2 identities


def test_its_health_check_says_healthy(served: Served) -> None:
    assert served.inspect()["State"]["Health"]["Status"] == "healthy"  # `service up` waited for it


def test_ready_over_https_verified_against_the_districts_tls_ca(served: Served) -> None:
    with served.client() as client:
        assert client.get("/readyz").status_code == 200  # the district's peer answers the container
        # The certificate names the service's host: verified by that name, not only by 127.0.0.1.
        named = client.get("/healthz", extensions={"sni_hostname": service_node_id(served.topology)})
        assert named.status_code == 200
        # The app's origin (`service up --cors-origin`) may call it from a browser, another may not.
        allowed = client.get("/healthz", headers={"Origin": APP})
        assert allowed.headers.get("access-control-allow-origin") == APP
        other = client.get("/healthz", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers
    partners = served.topology.organizations[1]
    stranger = served.client(served.layout.ca_server_root(partners.tls_ca))
    with stranger, pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        stranger.get("/healthz")


def test_a_resident_signed_payment_commits_on_the_docker_network(served: Served) -> None:
    device = phone(served, MEMBER)
    request_id = f"DOCKER-PAY-{uuid.uuid4().hex[:8]}"
    payment = {"name": "pay", "member_id": MEMBER, "institution_id": "seocho-welfare", "price_krw": 3000,
               "coins": 1, "service_code": "gym", "request_id": request_id}  # fmt: skip
    with served.client() as client:
        before = balance(client, device)
        submitted = signed(client, device, payment)
        assert submitted.status_code == 200, submitted.text
        outcome = submitted.json()
        assert outcome["status"] == "committed" and outcome["validation_code"] == "VALID"
        status = client.get(f"/v1/transactions/{outcome['transaction_id']}").json()
        assert status["status"] == "committed" and status["block_number"] == outcome["block_number"]
        assert balance(client, device) == before - 1
    served.recorded["payment"] = outcome


def test_a_terminal_earns_as_its_staff_identity(served: Served) -> None:
    key = docker(
        "exec", served.container(), "seocho", "serve", "terminals", "add", "welfare-kiosk",
        "--institution", "seocho-welfare", "--identity", STAFF, "--scope", "earn",
    ).stdout.strip()  # fmt: skip
    served.sent.append(key)
    body = {"member_id": MEMBER, "activity": "health_session", "quantity": 1,
            "evidence_hash": hashlib.sha256(os.urandom(16)).hexdigest(),
            "request_id": f"DOCKER-EARN-{uuid.uuid4().hex[:8]}"}  # fmt: skip
    headers = {"Authorization": f"Bearer {key}"}
    with served.client() as client:
        earned = client.post("/v1/institutions/seocho-welfare/earnings", json=body, headers=headers)
        assert earned.status_code == 201, earned.text
        other = client.post("/v1/institutions/yangjae1-cc/earnings", json=body, headers=headers)
        assert other.status_code == 403  # a terminal acts for its own institution only
    served.recorded["earning"] = (key, body, earned.json())


def test_its_log_lines_hold_no_key_signature_or_certificate(served: Served) -> None:
    logs = docker("logs", served.container())
    text = logs.stdout + logs.stderr
    assert "POST /v1/proposals" in text  # the access log is there (a route template per request)
    assert served.sent  # the signatures and the terminal key sent
    leaked = [secret for secret in served.sent if secret in text]
    assert not leaked
    for marker in ("BEGIN CERTIFICATE", "PRIVATE KEY", "Bearer"):
        assert marker not in text
    certificate_body = phone(served, MEMBER).certificate_pem.splitlines()[1]
    assert certificate_body not in text


def district_certificate(directory: Path, host: str) -> tuple[Path, Path, Path]:
    """(the district's CA, its certificate for `host` and 127.0.0.1 as a full chain, its key), as a
    district's own PKI or a public CA would hand them over."""
    now = datetime.datetime.now(datetime.UTC)

    def build(subject: str, issuer: str, public: Any, signer: Any, extensions: list[Any]) -> x509.Certificate:
        builder = (
            x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(_name(issuer))
            .public_key(public).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=90))
        )  # fmt: skip
        for extension, critical in extensions:
            builder = builder.add_extension(extension, critical=critical)
        return builder.sign(signer, hashes.SHA256())

    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = build("Seocho District Test Root", "Seocho District Test Root", ca_key.public_key(), ca_key,
               [(x509.BasicConstraints(ca=True, path_length=None), True)])  # fmt: skip
    loopback = x509.IPAddress(ipaddress.ip_address("127.0.0.1"))
    names = x509.SubjectAlternativeName([x509.DNSName(host), loopback])
    leaf = build(host, "Seocho District Test Root", key.public_key(), ca_key, [(names, False)])
    pem = serialization.Encoding.PEM
    paths = directory / "district-ca.pem", directory / "coin.crt", directory / "coin.key"
    paths[0].write_bytes(ca.public_bytes(pem))
    paths[1].write_bytes(leaf.public_bytes(pem) + ca.public_bytes(pem))
    pkcs8, plain = serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    paths[2].write_bytes(key.private_bytes(pem, pkcs8, plain))
    paths[2].chmod(0o600)
    return paths


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _leaf(pem: bytes) -> x509.Certificate:
    return x509.load_pem_x509_certificates(pem)[0]


def test_docker_renew_renews_the_services_identity_and_certificate_and_its_container_serves_them(
    served: Served,
) -> None:
    """The runbook: `network.sh docker renew` renews what expires within 30 days, the service's identity
    and default HTTPS certificate among them (29 days here), and recreates the service's container on
    the renewed copies."""
    before = served.container()
    files = served.layout.node(service_node_id(served.topology))
    identity_before = _leaf((files.msp / "signcerts" / "cert.pem").read_bytes())
    https_before = _leaf(files.tls_cert.read_bytes())
    # Renewed with a copy of the topology saying 60 days (the CAs recreated first with it): what the
    # renewal issues lies beyond the 30-day window, else everything would still be due after it.
    document = yaml.safe_load(served.topology_file.read_text(encoding="utf-8"))
    document["certificates"] = {"lifetime": "1440h"}
    renewed_topology = served.home / "topology-renewed.yaml"
    renewed_topology.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    served.topology_file = renewed_topology  # the deployment's from now on
    said = served.network("renew", timeout=1500)
    assert f"service: {service_node_id(served.topology)} recreated" in said, said
    assert served.container() != before
    identity = _leaf((files.msp / "signcerts" / "cert.pem").read_bytes())
    https = _leaf(files.tls_cert.read_bytes())
    assert identity.serial_number != identity_before.serial_number
    assert https.serial_number != https_before.serial_number
    # The container mounts the renewed ones, and serves the renewed HTTPS certificate.
    signcert = "/etc/seocho/network/identities/http-service/msp/signcerts/cert.pem"
    mounted = docker("exec", served.container(), "cat", signcert)
    assert _leaf(mounted.stdout.encode()) == identity
    served_pem = ssl.get_server_certificate(("127.0.0.1", host_port(served.topology)))
    assert x509.load_pem_x509_certificate(served_pem.encode()) == https
    with served.client() as client:
        assert client.get("/readyz").status_code == 200  # verified against the district's TLS CA


def test_the_districts_certificate_replaces_the_default_and_the_state_outlives_the_container(
    served: Served, tmp_path: Path
) -> None:
    before = served.container()
    host = "coin.seocho.example"
    ca, certificate, key = district_certificate(tmp_path, host)
    # The runbook's renewal of the district's certificate: `service up` with the new files.
    served.network(*SERVICE_UP, "--tls-cert", str(certificate), "--tls-key", str(key))
    assert served.container() != before
    with served.client(ca) as client:
        assert client.get("/readyz", extensions={"sni_hostname": host}).status_code == 200
        # The terminal's hashed key is still there, and the recorded outcome answers the retry.
        key_, body, first = served.recorded["earning"]
        headers = {"Authorization": f"Bearer {key_}"}
        again = client.post("/v1/institutions/seocho-welfare/earnings", json=body, headers=headers)
        assert again.status_code == 201 and again.json() == first
        payment = served.recorded["payment"]
        assert client.get(f"/v1/transactions/{payment['transaction_id']}").json()["status"] == "committed"
    stale = served.client()  # the default certificate's CA no longer verifies it
    with stale, pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        stale.get("/healthz")
    listed = docker("exec", served.container(), "seocho", "serve", "terminals", "list").stdout
    assert json.loads(listed)["terminal_id"] == "welfare-kiosk"


def test_docker_down_removes_the_service_and_purge_its_state(served: Served) -> None:
    volume = f"{served.district_project}_{state_volume(served.topology)}"
    assert volume in docker("volume", "ls", "--quiet").stdout.split()
    served.network("down", "--purge")
    label = f"label=com.docker.compose.project={served.district_project}"
    assert docker("ps", "--all", "--quiet", "--filter", label).stdout.split() == []
    assert volume not in docker("volume", "ls", "--quiet").stdout.split()
