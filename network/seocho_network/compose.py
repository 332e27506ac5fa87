"""The Docker runtime: every node (and each organisation's chaincode server) a container of its
organisation's own Compose project, on that organisation's own Docker network, reaching the other
organisations only through the ports their projects publish, as separate hosts would (or, with
SEOCHO_DOCKER_PROJECTS=single, of one project for everyone), rendered from the same topology as the
native one.

The bring-up steps are the native network's (identities from the CAs, channel joins through `osnadmin`
and the peer CLI, the chaincode lifecycle, profiles): those tools run on the host and reach the
containers through the ports published on 127.0.0.1, which are the topology's, so only the compose
file, the node configs and how nodes announce themselves (host names on the compose network) differ.
"""

from __future__ import annotations

import ipaddress
import json
import os
import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from . import ca_operations, crypto, ledger_copies, lifecycle, reenrolment
from .admin import NotReadyError, healthy, operations_client, operations_endpoints, wait_until
from .binaries import CommandError, run_tool
from .compose_render import (
    chaincode_id_variable,
    organisation_compose_file,
    prepare_chaincode_tls,
    project_name,
    render_configtx,
    render_orderer,
    render_peer,
    write_compose,
    write_organisation_compose,
)
from .context import STARTUP_TIMEOUT, NetworkContext, NetworkError
from .docker_releases import node_releases, release_binaries
from .layout import NetworkLayout, NodeFiles
from .registrars import retired
from .runtime import DOWN, UNHEALTHY, UP, Node
from .serving import write_serving_record
from .topology import CertificateAuthority, Orderer, Organization, Peer, Topology


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


PROJECTS_VARIABLE = "SEOCHO_DOCKER_PROJECTS"
"""`organisation` (default): one project and one Docker network per organisation, which reach each other
only through published ports; `single`: one Compose project and network for every organisation, for a
Docker host whose firewall drops what containers send to the host's own bridge address (the organisations'
projects meet there), and for deployments made as one project before the split became the default."""
EXCHANGE_VARIABLE = "SEOCHO_DOCKER_EXCHANGE_ADDRESS"
"""Where an organisation's project publishes the ports other organisations dial [default: the address
of Docker's default bridge on this host, which containers reach as `host-gateway`]."""


PROJECTS_MODES = ("organisation", "single")


DEFAULT_EXCHANGE_ADDRESS = "172.17.0.1"  # Docker's default bridge's gateway, unless dockerd says otherwise


def per_organisation() -> bool:
    value = os.environ.get(PROJECTS_VARIABLE) or PROJECTS_MODES[0]
    if value not in PROJECTS_MODES:
        raise NetworkError(f"{PROJECTS_VARIABLE} is `organisation` (the default) or `single`, not {value!r}")
    return value == "organisation"


def mode_problem(layout: NetworkLayout, topology: Topology) -> str | None:
    """Why the deployment directory's compose files are not of the mode SEOCHO_DOCKER_PROJECTS selects
    (a deployment made one way and managed the other would start a second, empty set of projects beside
    the first and lose sight of its containers and volumes), or None."""
    single = (layout.root / "compose.yaml").exists()
    split = any(organisation_compose_file(layout, org).exists() for org in topology.organizations)
    if per_organisation() and single and not split:
        return (
            f"{layout.root} was deployed as one Compose project (compose.yaml): manage it with "
            f"{PROJECTS_VARIABLE}=single, or `down --purge` it that way and bring it up again"
        )
    if not per_organisation() and split and not single:
        return (
            f"{layout.root} was deployed as one Compose project per organisation (compose.<domain>.yaml): "
            f"unset {PROJECTS_VARIABLE} to manage it"
        )
    return None


def exchange_address() -> str:
    """The host address the organisations' projects publish their ports between organisations on."""
    given = os.environ.get(EXCHANGE_VARIABLE)
    if given:
        return given
    try:
        found = run_tool(
            ["docker", "network", "inspect", "bridge", "--format",
             "{{(index .IPAM.Config 0).Gateway}} {{(index .IPAM.Config 0).Subnet}}"],
            what="docker network inspect bridge",
        ).split()  # fmt: skip
    except CommandError as exc:
        raise NetworkError(f"{exc}; set {EXCHANGE_VARIABLE}") from None
    return bridge_gateway(found)


def bridge_gateway(inspected: list[str]) -> str:
    """The gateway `docker network inspect bridge` names; Debian's Docker 20.10 may name only the subnet
    (an empty address would publish on dockerd's default --ip, 127.0.0.1, twice), whose first host
    address is then the gateway, as Docker assigns it."""
    if len(inspected) == 2:
        return inspected[0]
    if len(inspected) == 1 and "/" in inspected[0]:
        return str(next(ipaddress.ip_network(inspected[0], strict=False).hosts()))
    raise NetworkError(f"the bridge network has no gateway ({' '.join(inspected)}); set {EXCHANGE_VARIABLE}")


class DockerRuntime:
    name = "docker"

    def __init__(self, ctx: NetworkContext) -> None:
        self.ctx = ctx
        self.root = ctx.layout.root

    # ---- compose ---------------------------------------------------------------------------------

    def compose(self, *args: str, timeout: float = 300.0, org: Organization | None = None) -> str:
        """`docker compose ARGS` on the deployment's project, or on `org`'s (one project each)."""
        command = [*compose_command(), "--project-directory", str(self.root)]
        if org is None:
            command += ["-f", str(self.root / "compose.yaml")]
        else:
            base = os.environ.get("COMPOSE_PROJECT_NAME") or "seocho"
            command += [
                "-p",
                project_name(base, org),
                "-f",
                str(organisation_compose_file(self.ctx.layout, org)),
            ]
        try:
            return run_tool([*command, *args], None, timeout, what=f"compose {' '.join(args[:2])}")
        except CommandError as exc:
            raise NetworkError(str(exc)) from None

    def _projects(self) -> list[Organization | None]:
        """What `compose` runs on: each organisation's project, or the one project (None)."""
        if not per_organisation():
            return [None]
        return list(self.ctx.topology.organizations)

    def _project_of(self, node_id: str) -> Organization | None:
        if not per_organisation():
            return None
        for org in self.ctx.topology.organizations:
            if node_id.endswith("." + org.domain):
                return org
        raise NetworkError(f"{node_id} belongs to no organisation of the topology")

    def _by_project(self, names: Sequence[str]) -> dict[Organization | None, list[str]]:
        grouped: dict[Organization | None, list[str]] = {}
        for name in names:
            grouped.setdefault(self._project_of(name), []).append(name)
        return grouped

    def _check_mode(self) -> None:
        problem = mode_problem(self.ctx.layout, self.ctx.topology)
        if problem is not None:
            raise NetworkError(problem)

    def _write_compose(self) -> None:
        ctx = self.ctx
        self._check_mode()
        releases = node_releases(ctx.layout)  # a rolling upgrade's nodes on another release
        if not per_organisation():
            write_compose(ctx.layout, ctx.topology, releases)
            return
        address = exchange_address()
        for org in ctx.topology.organizations:
            write_organisation_compose(ctx.layout, ctx.topology, org, address, releases)

    def _deployed(self, org: Organization | None = None) -> bool:
        if org is None:
            return (self.root / "compose.yaml").exists()
        return organisation_compose_file(self.ctx.layout, org).exists()

    # ---- nodes -----------------------------------------------------------------------------------

    def start(self, nodes: Sequence[Node]) -> None:
        ctx = self.ctx
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._write_compose()
        services: list[tuple[str, Callable[[], bool]]] = []
        releases = node_releases(ctx.layout)
        for node in nodes:
            # Every operations endpoint is TLS with client certificates: asked from the host.
            if isinstance(node, CertificateAuthority):
                self._write_bootstrap_env(node)
                ca_operations.prepare(ctx.layout, node)
                services.append((node.node_id, ca_operations.readiness(ctx.layout, node)))
                continue
            # A node's config comes from its own release's samples (a rolling upgrade's record).
            binaries = release_binaries(ctx, releases.get(node.node_id))
            if isinstance(node, Orderer):
                render_orderer(binaries, ctx.layout, node)
            elif isinstance(node, Peer):
                render_peer(binaries, ctx.layout, node)
            else:
                raise NetworkError(f"{node.node_id}: a chaincode server starts with the package it serves")
            services.append((node.node_id, self._healthz(node)))
        # Starts (or recreates, when their definition changed) the services; waits for their /healthz.
        for project, names in self._by_project([name for name, _ in services]).items():
            self.compose("up", "--detach", *names, org=project)
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
        for project, names in self._by_project([node.node_id for node in nodes]).items():
            if not self._deployed(project):
                continue
            self.compose("stop", *names, org=project)
            for name in names:
                self.ctx.say(f"down: {name} stopped")

    def remove(self, purge: bool) -> None:
        self._check_mode()
        for project in self._projects():
            if self._deployed(project):
                self.compose("down", *(["--volumes"] if purge else []), org=project)
                what = "containers and volumes (ledgers, CA databases)" if purge else "containers"
                self.ctx.say(f"down: {what} removed" + (f" ({project.name})" if project else ""))

    def archive_ledger(self, node: Orderer | Peer, archive: Path) -> None:
        ledger_copies.archive_volume(node, archive)

    def restore_ledger(self, node: Orderer | Peer, archive: Path) -> None:
        ledger_copies.restore_volume(node, archive)

    def logs(self, node_id: str, lines: int) -> str:
        return self.compose(
            "logs", "--no-color", "--tail", str(lines), node_id, org=self._project_of(node_id)
        )

    def states(self) -> dict[str, str]:
        """Each service: "up", "unhealthy" or "down", from the compose projects' containers and, for a
        running CA, orderer or peer, its /healthz asked from the host over TLS as the operations client
        (the images cannot ask it themselves: the client's key stays on the host)."""
        self._check_mode()
        states = {name: DOWN for name in self._service_names()}
        operations = operations_endpoints(self.ctx.topology, self.ctx.layout)
        for project in self._projects():
            if not self._deployed(project):
                continue
            for line in self.compose("ps", "--all", "--format", "json", org=project).splitlines():
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
        self.update_env({chaincode_id_variable(org): package_id})
        prepare_chaincode_tls(self.ctx.layout, org)
        server = org.chaincode_server.node_id
        # --wait: until the image's own health check (a TCP connect to the gRPC port) passes.
        self.compose("up", "--detach", "--wait", server, org=self._project_of(server))
        write_serving_record(self.ctx.layout, org, service, package_id)
        self.ctx.say(f"  {server}: serving {package_id[:48]}... (mutual TLS)")

    def update_env(self, updates: Mapping[str, str | None]) -> None:
        """Sets (None: removes) variables of the deployment's .env, which compose reads; the other lines
        stay as they are. Its writers: the chaincode package ids, the HTTP service's origins."""
        path = self.root / ".env"
        lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
        pending = dict(updates)
        kept: list[str] = []
        for line in lines:
            name = line.split("=", 1)[0]
            if name not in updates:
                kept.append(line)
            elif name in pending and (value := pending.pop(name)) is not None:
                kept.append(f"{name}={value}")  # in its place; a second line of it goes
        kept += [f"{name}={value}" for name, value in pending.items() if value is not None]
        path.write_text("".join(line + "\n" for line in kept), encoding="utf-8")

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
        self.compose("restart", node_id, org=self._project_of(node_id))
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
