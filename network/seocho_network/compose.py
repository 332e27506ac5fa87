"""The network in Docker Compose: the same topology, identities, channel and chaincode lifecycle as the
native network, with every node (and each organisation's chaincode server) in a container.

It reuses the native network's steps: enrolment from the CAs (`crypto`), channel joins through `osnadmin`
and the peer CLI (`Network`), the chaincode lifecycle (`deployment.deploy`), profiles and the demo's cast.
Those tools run on the host and reach the containers through the ports published on 127.0.0.1, which
are the topology's ports, so nothing but the compose file and the node configs differs.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from fabric_ca import Enrollment

from . import crypto, lifecycle
from .admin import NotReadyError, OperationsClient, healthy, operations_client, wait_until
from .binaries import CommandError, find_binaries, run_tool
from .compose_render import (
    chaincode_id_variable,
    prepare_chaincode_tls,
    render_configtx,
    render_orderer,
    render_peer,
    write_compose,
)
from .configs import write_genesis_block
from .layout import NetworkLayout, NodeFiles
from .network import STARTUP_TIMEOUT, Network, NetworkError, Say, orderer_heights, peer_heights
from .status import NetworkStatus
from .topology import LOOPBACK, CertificateAuthority, Organization, load_topology


def default_docker_home() -> Path:
    home = os.environ.get("SEOCHO_HOME") or os.path.expanduser("~/.seocho")
    return Path(home) / "docker"


def compose_command() -> list[str]:
    """`docker compose`, or what SEOCHO_COMPOSE names (another Compose v2 binary: `up --wait` is used)."""
    return shlex.split(os.environ.get("SEOCHO_COMPOSE", "docker compose"))


@dataclass(frozen=True)
class ContainerChaincodeService(lifecycle.ChaincodeService):
    """A chaincode served from a container: the peers dial the server by its host name."""

    def server_address(self, org: Organization) -> tuple[str, int]:
        return org.chaincode_server.node_id, org.chaincode_server.port + self.index


def chaincode_image() -> str:
    return os.environ.get("SEOCHO_CHAINCODE_IMAGE", "seocho/chaincode:0.1.0")


class DockerNetwork:
    def __init__(self, home: Path | None = None, topology_file: Path | None = None, say: Say = print) -> None:
        layout = NetworkLayout((home or default_docker_home()).resolve())
        self.network = Network(load_topology(topology_file), layout, find_binaries(), say)
        self.topology = self.network.topology
        self.layout = layout
        self.say = say

    # ---- compose ----------------------------------------------------------------------------------

    def compose(self, *args: str, timeout: float = 300.0) -> str:
        root = self.layout.root
        command = [*compose_command(), "--project-directory", str(root), "-f", str(root / "compose.yaml")]
        try:
            return run_tool([*command, *args], None, timeout, what=f"compose {' '.join(args[:2])}")
        except CommandError as exc:
            raise NetworkError(str(exc)) from None

    def _start(self, services: Sequence[tuple[str, int, OperationsClient | None]]) -> None:
        """Starts (or recreates, when their definition changed) the services; waits for their /healthz."""
        self.compose("up", "--detach", *[name for name, _, _ in services])
        for name, operations_port, client in services:
            try:
                wait_until(_healthz(operations_port, client), f"{name} health", STARTUP_TIMEOUT, lambda: True)
            except NotReadyError as exc:
                logs = self.compose("logs", "--no-color", "--tail", "15", name)
                raise NetworkError(f"{exc}; its last log lines:\n{logs}") from None
            self.say(f"  {name}: running")

    # ---- up ---------------------------------------------------------------------------------------

    def up(self) -> None:
        topology, layout = self.topology, self.layout
        layout.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.say(f"docker up: deployment directory {layout.root}")
        for ca in topology.cas:
            self._write_bootstrap_env(ca)
        self.say(f"  {write_compose(layout, topology)}")
        self.say("docker up: certificate authorities")
        self._start([(ca.node_id, ca.operations_port, None) for ca in topology.cas])
        self.say("docker up: identities from each organisation's CA")
        for org in topology.organizations:
            for line in crypto.issue_organization(layout, org):
                self.say(f"  {line}")
        self.say("docker up: channel genesis block")
        self._genesis_block()
        self.say("docker up: orderers (Raft)")
        for orderer in topology.orderers:
            render_orderer(self.network.binaries, layout, orderer)
        self._start(
            [(o.node_id, o.operations_port, operations_client(layout, o.org)) for o in topology.orderers]
        )
        self.network._join_orderers()
        self.say("docker up: peers")
        for peer in topology.peers:
            render_peer(self.network.binaries, layout, peer)
        self._start(
            [(p.node_id, p.operations_port, operations_client(layout, p.org)) for p in topology.peers]
        )
        self.network._join_peers()  # and waits until gossip lets every peer see the others
        self.say("docker up: client profile and the demo's identities")
        self.network._write_profiles()
        self.network._provision_demo_cast()
        if self._chaincode_ids():
            self.say("docker up: chaincode servers of the last deploy")
            self._start_chaincode()
        self.say(f"docker up: ready; next: scripts/network.sh docker deploy; profile {layout.profile}")

    def _write_bootstrap_env(self, ca: CertificateAuthority) -> None:
        # The CA reads its bootstrap registrar from the environment once, when it creates its database;
        # a 0600 env file keeps the secret out of the compose file and the command line (`docker inspect`
        # still shows the container's environment to whoever may use the Docker socket, i.e. root).
        secret = crypto.bootstrap_secret(self.layout, ca)
        path = self.layout.ca_server_home(ca) / "bootstrap.env"
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as stream:
            stream.write(f"FABRIC_CA_SERVER_BOOT={crypto.BOOTSTRAP_USER}:{secret}\n")

    def _genesis_block(self) -> None:
        block = self.layout.genesis_block
        if block.exists():
            self.say(f"  {block}: exists")
            return
        configtx = render_configtx(self.layout, self.topology)
        write_genesis_block(self.network.binaries, configtx, self.topology.channel, block)
        self.say(f"  {block}: written for channel {self.topology.channel}")

    # ---- chaincode --------------------------------------------------------------------------------

    def service(self) -> ContainerChaincodeService:
        """The coin chaincode as the image holds it: the image's ID is the code's digest."""
        name = chaincode_image()
        try:
            image_id = run_tool(
                ["docker", "image", "inspect", "--format", "{{.Id}}", name], what="docker image inspect"
            )
        except CommandError:
            raise NetworkError(
                f"the chaincode image {name} is not on this Docker host: build it (chaincode/Dockerfile, "
                "or scripts/docker-images.sh chaincode) or set SEOCHO_CHAINCODE_IMAGE"
            ) from None
        digest = image_id.strip().removeprefix("sha256:")[:12]
        district_msp = self.topology.organizations[0].msp_id
        return ContainerChaincodeService(
            self.topology.chaincode,
            ("seocho-chaincode",),
            digest,
            environment={"SEOCHO_DISTRICT_MSP": district_msp},
        )

    def deploy(self, force_new_sequence: bool = False) -> None:
        from .deployment import deploy

        deploy(self.network, self.service(), force_new_sequence, serve=self._serve)

    def _serve(self, network: Network, service: lifecycle.ChaincodeService) -> None:
        ids = {
            chaincode_id_variable(org): lifecycle.build_package(self.layout, org, service)[1]
            for org in self.topology.organizations
        }
        lines = [f"{name}={value}" for name, value in sorted(ids.items())]
        (self.layout.root / ".env").write_text("\n".join(lines) + "\n", encoding="utf-8")
        self._start_chaincode()

    def _chaincode_ids(self) -> dict[str, str]:
        try:
            text = (self.layout.root / ".env").read_text(encoding="utf-8")
        except OSError:
            return {}
        return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)

    def _start_chaincode(self) -> None:
        for org in self.topology.organizations:
            prepare_chaincode_tls(self.layout, org)
        servers = [org.chaincode_server.node_id for org in self.topology.organizations]
        # --wait: until the image's own health check (a TCP connect to the gRPC port) passes.
        self.compose("up", "--detach", "--wait", *servers)
        for server in servers:
            self.say(f"  {server}: serving (mutual TLS)")

    # ---- TLS renewal ------------------------------------------------------------------------------

    def renew_tls(self, node_id: str) -> None:
        """Renews a node's TLS certificate from its organisation's TLS CA, then restarts the node.

        The node's current TLS certificate authenticates the request (no secret needed). Orderers keep
        their key: the channel's Raft consenter set holds their TLS certificates and matches a node by its
        public key, so a renewed certificate with the same key needs no channel config update. Peers and
        chaincode servers get a new key (their clients trust the organisation's TLS CA, not the certificate).
        """
        org, files = self._tls_node(node_id)
        key = load_pem_private_key(files.tls_key.read_bytes(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise NetworkError(f"{files.tls_key} is not an elliptic-curve key, as Fabric CA issues")
        current = Enrollment(files.tls_cert.read_bytes(), key, files.tls_ca.read_bytes())
        keep_key = any(o.node_id == node_id for o in org.orderers)
        with crypto.ca_client(self.layout, org.tls_ca) as client:
            renewed = client.reenroll(
                current,
                csr_hosts=[node_id, LOOPBACK, "localhost"],
                key=current.private_key if keep_key else None,
                profile="tls",
            )
        # Key first, then certificate, each replaced atomically: a crash leaves a pair the CA issued.
        _replace(files.tls_key, renewed.private_key_pem(), 0o600)
        _replace(files.tls_cert, renewed.certificate_pem, 0o644)
        if node_id == org.chaincode_server.node_id:
            prepare_chaincode_tls(self.layout, org)
        expires = renewed.certificate.not_valid_after_utc.strftime("%Y-%m-%d %H:%M UTC")
        self.say(f"renew-tls: {node_id}: new certificate until {expires}{' (same key)' if keep_key else ''}")
        if node_id == _chaincode_client(org):
            # No container presents it: the peers read it from the chaincode package's connection.json.
            self.say("renew-tls: the chaincode packages carry it; run `docker upgrade` to install new ones")
            return
        self.compose("restart", node_id)
        self.say(f"renew-tls: {node_id}: restarted")

    def _tls_node(self, node_id: str) -> tuple[Organization, NodeFiles]:
        for org in self.topology.organizations:
            ids = [*(o.node_id for o in org.orderers), *(p.node_id for p in org.peers)]
            ids += [org.chaincode_server.node_id, _chaincode_client(org)]
            if node_id in ids:
                return org, self.layout.node(node_id)
        raise NetworkError(f"{node_id} is not an orderer, peer, chaincode server or client of the topology")

    # ---- down, status, logs -----------------------------------------------------------------------

    def down(self, purge: bool = False) -> None:
        if not (self.layout.root / "compose.yaml").exists():
            self.say(f"docker down: nothing deployed in {self.layout.root}")
            return
        self.compose("down", *(["--volumes"] if purge else []))
        if purge:
            shutil.rmtree(self.layout.root)
            self.say(f"docker down: containers, volumes (ledgers, CA databases), {self.layout.root} removed")
        else:
            self.say("docker down: containers removed; the volumes keep the ledgers; `docker up` resumes")

    def container_states(self) -> dict[str, str]:
        """Each service: "up", "unhealthy" or "down", from the compose project's containers."""
        listed = self.compose("ps", "--all", "--format", "json")
        states = {name: "down" for name in self._service_names()}
        for line in listed.splitlines():
            if not line.strip().startswith("{"):
                continue
            entry = json.loads(line)
            running = entry.get("State") == "running"
            sick = entry.get("Health") not in ("", "healthy", None)
            states[entry["Service"]] = "down" if not running else "unhealthy" if sick else "up"
        return states

    def _service_names(self) -> list[str]:
        names = []
        for org in self.topology.organizations:
            names += [
                org.ca.node_id,
                org.tls_ca.node_id,
                *(o.node_id for o in org.orderers),
                *(p.node_id for p in org.peers),
            ]
            names.append(org.chaincode_server.node_id)
        return names

    def status(self) -> NetworkStatus:
        report = NetworkStatus(nodes=self.container_states())
        up = {node for node, state in report.nodes.items() if state == "up"}
        report.peer_heights = {k: (v if k in up else None) for k, v in peer_heights(self.network).items()}
        report.orderer_heights = {
            k: (v if k in up else None) for k, v in orderer_heights(self.network).items()
        }
        report.raft_leader = self.network.raft_leader()
        if self.topology.organizations[0].peers[0].node_id in up:
            try:
                definition = self.network.committed()
            except CommandError:
                definition = None
            if definition is not None:
                report.chaincode = {
                    "name": definition.name,
                    "version": definition.version,
                    "sequence": definition.sequence,
                }
        return report

    def logs(self, service: str, lines: int) -> str:
        return self.compose("logs", "--no-color", "--tail", str(lines), service)


def _chaincode_client(org: Organization) -> str:
    """The identity whose TLS certificate an organisation's peers present to its chaincode server."""
    return f"chaincode-client.{org.domain}"


def _replace(path: Path, data: bytes, mode: int) -> None:
    temporary = path.with_suffix(path.suffix + ".new")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(descriptor, "wb") as stream:
        stream.write(data)
    temporary.replace(path)


def _healthz(port: int, client: OperationsClient | None) -> Callable[[], bool]:
    return lambda: healthy(port, client)
