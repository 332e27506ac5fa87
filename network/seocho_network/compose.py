"""The Docker runtime: every node (and each organisation's chaincode server) a container of one Compose
project, rendered from the same topology as the native network.

The bring-up steps are the native network's (identities from the CAs, channel joins through `osnadmin`
and the peer CLI, the chaincode lifecycle, profiles): those tools run on the host and reach the
containers through the ports published on 127.0.0.1, which are the topology's, so only the compose
file, the node configs and how nodes announce themselves (host names on the compose network) differ.
"""

from __future__ import annotations

import json
import os
import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from . import ca_operations, crypto, ledger_copies, lifecycle, reenrolment
from .admin import NotReadyError, healthy, operations_client, operations_endpoints, wait_until
from .binaries import CommandError, run_tool
from .compose_render import (
    chaincode_id_variable,
    prepare_chaincode_tls,
    render_configtx,
    render_orderer,
    render_peer,
    write_compose,
)
from .context import STARTUP_TIMEOUT, NetworkContext, NetworkError
from .layout import NodeFiles
from .registrars import retired
from .runtime import DOWN, UNHEALTHY, UP, Node
from .serving import write_serving_record
from .topology import CertificateAuthority, Orderer, Organization, Peer


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


class DockerRuntime:
    name = "docker"

    def __init__(self, ctx: NetworkContext) -> None:
        self.ctx = ctx
        self.root = ctx.layout.root

    # ---- compose ---------------------------------------------------------------------------------

    def compose(self, *args: str, timeout: float = 300.0) -> str:
        command = [
            *compose_command(),
            "--project-directory",
            str(self.root),
            "-f",
            str(self.root / "compose.yaml"),
        ]
        try:
            return run_tool([*command, *args], None, timeout, what=f"compose {' '.join(args[:2])}")
        except CommandError as exc:
            raise NetworkError(str(exc)) from None

    def _deployed(self) -> bool:
        return (self.root / "compose.yaml").exists()

    # ---- nodes -----------------------------------------------------------------------------------

    def start(self, nodes: Sequence[Node]) -> None:
        ctx = self.ctx
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_compose(ctx.layout, ctx.topology)
        services: list[tuple[str, Callable[[], bool]]] = []
        for node in nodes:
            # Every operations endpoint is TLS with client certificates: asked from the host.
            if isinstance(node, CertificateAuthority):
                self._write_bootstrap_env(node)
                ca_operations.prepare(ctx.layout, node)
                services.append((node.node_id, ca_operations.readiness(ctx.layout, node)))
                continue
            if isinstance(node, Orderer):
                render_orderer(ctx.binaries, ctx.layout, node)
            elif isinstance(node, Peer):
                render_peer(ctx.binaries, ctx.layout, node)
            else:
                raise NetworkError(f"{node.node_id}: a chaincode server starts with the package it serves")
            services.append((node.node_id, self._healthz(node)))
        # Starts (or recreates, when their definition changed) the services; waits for their /healthz.
        self.compose("up", "--detach", *[name for name, _ in services])
        for name, ready in services:
            try:
                wait_until(ready, f"{name} health", STARTUP_TIMEOUT, lambda: True)
            except NotReadyError as exc:
                raise NetworkError(f"{exc}; its last log lines:\n{self.logs(name, 15)}") from None
            ctx.say(f"  {name}: running")

    def _healthz(self, node: CertificateAuthority | Orderer | Peer) -> Callable[[], bool]:
        if isinstance(node, CertificateAuthority):
            return partial(ca_operations.healthz, self.ctx.layout, node)
        client = operations_client(self.ctx.layout, node.org)
        return lambda: healthy(node.operations_port, client)

    def _write_bootstrap_env(self, ca: CertificateAuthority) -> None:
        # The CA reads its bootstrap registrar from the environment once, when it creates its database;
        # a 0600 env file keeps the secret out of the compose file and the command line (`docker inspect`
        # still shows the container's environment to whoever may use the Docker socket, i.e. root).
        # Once the bootstrap registrar is retired (`org retire-registrar`) the file stays, empty.
        boot = "" if retired(self.ctx, ca) else crypto.bootstrap_secret(self.ctx.layout, ca)
        path = self.ctx.layout.ca_server_home(ca) / "bootstrap.env"
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as stream:
            stream.write(f"FABRIC_CA_SERVER_BOOT={crypto.BOOTSTRAP_USER}:{boot}\n" if boot else "")

    def stop(self, nodes: Sequence[Node]) -> None:
        if not self._deployed() or not nodes:
            return
        self.compose("stop", *[node.node_id for node in nodes])
        for node in nodes:
            self.ctx.say(f"down: {node.node_id} stopped")

    def remove(self, purge: bool) -> None:
        if self._deployed():
            self.compose("down", *(["--volumes"] if purge else []))
            what = "containers and volumes (ledgers, CA databases)" if purge else "containers"
            self.ctx.say(f"down: {what} removed")

    def archive_ledger(self, node: Orderer | Peer, archive: Path) -> None:
        ledger_copies.archive_volume(node, archive)

    def restore_ledger(self, node: Orderer | Peer, archive: Path) -> None:
        ledger_copies.restore_volume(node, archive)

    def logs(self, node_id: str, lines: int) -> str:
        return self.compose("logs", "--no-color", "--tail", str(lines), node_id)

    def states(self) -> dict[str, str]:
        """Each service: "up", "unhealthy" or "down", from the compose project's containers and, for a
        running CA, orderer or peer, its /healthz asked from the host over TLS as the operations client
        (the images cannot ask it themselves: the client's key stays on the host)."""
        states = {name: DOWN for name in self._service_names()}
        if not self._deployed():
            return states
        operations = operations_endpoints(self.ctx.topology, self.ctx.layout)
        for line in self.compose("ps", "--all", "--format", "json").splitlines():
            if not line.strip().startswith("{"):
                continue
            entry = json.loads(line)
            service = entry["Service"]
            running = entry.get("State") == "running"
            sick = entry.get("Health") not in ("", "healthy", None)
            sick = sick or (running and service in operations and not healthy(*operations[service]))
            states[service] = DOWN if not running else UNHEALTHY if sick else UP
        return states

    def _service_names(self) -> list[str]:
        topology = self.ctx.topology
        names = [ca.node_id for ca in topology.cas]  # each organisation's identity CA and TLS CA
        names += [o.node_id for o in topology.orderers] + [p.node_id for p in topology.peers]
        return names + [org.chaincode_server.node_id for org in topology.organizations]

    # ---- chaincode -------------------------------------------------------------------------------

    def write_configtx(self) -> Path:
        return render_configtx(self.ctx.layout, self.ctx.topology)

    def coin_service(self) -> ContainerChaincodeService:
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
        district_msp = self.ctx.topology.organizations[0].msp_id
        return ContainerChaincodeService(
            self.ctx.topology.chaincode,
            ("seocho-chaincode",),
            digest,
            environment={"SEOCHO_DISTRICT_MSP": district_msp},
        )

    def serve_chaincode(
        self, org: Organization, service: lifecycle.ChaincodeService, package_id: str
    ) -> None:
        if service.index != 0:
            raise NetworkError(f"{service.spec.name}: the Docker runtime serves only the coin's image")
        ids = self._chaincode_ids() | {chaincode_id_variable(org): package_id}
        lines = [f"{name}={value}" for name, value in sorted(ids.items())]
        (self.root / ".env").write_text("\n".join(lines) + "\n", encoding="utf-8")
        prepare_chaincode_tls(self.ctx.layout, org)
        server = org.chaincode_server.node_id
        # --wait: until the image's own health check (a TCP connect to the gRPC port) passes.
        self.compose("up", "--detach", "--wait", server)
        write_serving_record(self.ctx.layout, org, service, package_id)
        self.ctx.say(f"  {server}: serving {package_id[:48]}... (mutual TLS)")

    def _chaincode_ids(self) -> dict[str, str]:
        try:
            text = (self.root / ".env").read_text(encoding="utf-8")
        except OSError:
            return {}
        return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)

    # ---- TLS renewal -----------------------------------------------------------------------------

    def renew_tls(self, node_id: str) -> None:
        """Renews a node's TLS certificate from its organisation's TLS CA, then restarts the node.

        The node's current TLS certificate authenticates the request (no secret needed). Orderers keep
        their key: the channel's Raft consenter set holds their TLS certificates and matches a node by its
        public key, so a renewed certificate with the same key needs no channel config update. Peers and
        chaincode servers get a new key (their clients trust the organisation's TLS CA, not the certificate).
        `network.sh renew` renews everything due, with the config and package updates it needs.
        """
        layout, say = self.ctx.layout, self.ctx.say
        org, files = self._tls_node(node_id)
        keep_key = any(o.node_id == node_id for o in org.orderers)
        renewed = reenrolment.renew_tls(layout, self.ctx.topology, files, keep_key=keep_key)
        if node_id == org.chaincode_server.node_id:
            prepare_chaincode_tls(layout, org)
        expires = renewed.not_valid_after_utc.strftime("%Y-%m-%d %H:%M UTC")
        say(f"renew-tls: {node_id}: new certificate until {expires}{' (same key)' if keep_key else ''}")
        if node_id == chaincode_client(org):
            # No container presents it: the peers read it from the chaincode package's connection.json.
            say("renew-tls: the chaincode packages carry it; `renew` installs new ones on a new sequence")
            return
        self.compose("restart", node_id)
        say(f"renew-tls: {node_id}: restarted")

    def _tls_node(self, node_id: str) -> tuple[Organization, NodeFiles]:
        for org in self.ctx.topology.organizations:
            ids = [*(o.node_id for o in org.orderers), *(p.node_id for p in org.peers)]
            ids += [org.chaincode_server.node_id, chaincode_client(org)]
            if node_id in ids:
                return org, self.ctx.layout.node(node_id)
        raise NetworkError(f"{node_id} is not an orderer, peer, chaincode server or client of the topology")


def chaincode_client(org: Organization) -> str:
    """The identity whose TLS certificate an organisation's peers present to its chaincode server."""
    return f"chaincode-client.{org.domain}"
