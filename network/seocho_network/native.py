"""The native runtime: every node a process on this machine, listening on 127.0.0.1 only.

A node is tracked by its PID file (`processes`); `start` resumes what is not running and waits on each
node's operations /healthz; chaincode servers are the Python programs of the services they serve.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Sequence
from pathlib import Path

from . import ca_operations, ledger_copies, lifecycle
from .admin import NotReadyError, healthy, operations_client, operations_endpoints, wait_until
from .configs import ca_process, initialise_ca, orderer_process, peer_process, write_configtx
from .context import STARTUP_TIMEOUT, NetworkContext, NetworkError
from .lifecycle import ChaincodeService
from .processes import ProcessSpec, running_pid, start, stop, tail
from .runtime import DOWN, UNHEALTHY, UP, Node
from .serving import serving_record, write_serving_record
from .topology import LOOPBACK, CertificateAuthority, ChaincodeServer, Orderer, Organization, Peer


def ca_pid_file(ctx: NetworkContext, ca: CertificateAuthority) -> Path:
    return ctx.layout.ca_server_home(ca) / "ca.pid"


class NativeRuntime:
    name = "native"

    def __init__(self, ctx: NetworkContext) -> None:
        self.ctx = ctx

    # ---- nodes -----------------------------------------------------------------------------------

    def start(self, nodes: Sequence[Node]) -> None:
        ctx = self.ctx
        for node in nodes:
            if isinstance(node, CertificateAuthority):
                if initialise_ca(ctx.binaries, ctx.layout, node):
                    ctx.say(f"  {node.node_id}: keys, database and bootstrap registrar created")
                ca_operations.prepare(ctx.layout, node)
                spec = ca_process(ctx.binaries, ctx.layout, node)
                self._start(spec, node, ca_operations.readiness(ctx.layout, node))
            elif isinstance(node, Orderer):
                self._start(orderer_process(ctx.binaries, ctx.layout, node), node, self._healthz(node))
            elif isinstance(node, Peer):
                self._start(peer_process(ctx.binaries, ctx.layout, node), node, self._healthz(node))
            else:
                raise NetworkError(f"{node.node_id}: a chaincode server starts with the package it serves")

    def _healthz(self, node: Orderer | Peer) -> Callable[[], bool]:
        """Its /healthz; an orderer's also its cluster port: the others' consensus messages to a node
        still starting are refused, and gRPC then backs off before its next try (SmartBFT does not
        send them again)."""
        client = operations_client(self.ctx.layout, node.org)
        if isinstance(node, Orderer):
            return lambda: healthy(node.operations_port, client) and _listening(LOOPBACK, node.cluster_port)
        return lambda: healthy(node.operations_port, client)

    def _start(
        self, spec: ProcessSpec, node: CertificateAuthority | Orderer | Peer, ready: Callable[[], bool]
    ) -> None:
        """Starts the node's process unless it runs; waits until `ready` (`_healthz`, over TLS)."""
        if running_pid(spec.pid_file) is not None and ready():
            self.ctx.say(f"  {spec.node_id}: already running")
            return
        for port in _ports(node):
            if _listening(LOOPBACK, port):
                raise NetworkError(
                    f"{spec.node_id} cannot start: port {port} on {LOOPBACK} is taken by another program "
                    "(set SEOCHO_NETWORK_PORT_OFFSET to move the whole network)"
                )
        start(spec)
        try:
            wait_until(
                ready,
                f"{spec.node_id} health check",
                STARTUP_TIMEOUT,
                lambda: running_pid(spec.pid_file) is not None,
            )
        except NotReadyError as exc:
            raise NetworkError(f"{exc}; last lines of {spec.log_file}:\n{tail(spec.log_file, 15)}") from None
        self.ctx.say(f"  {spec.node_id}: running (log {spec.log_file})")

    def stop(self, nodes: Sequence[Node]) -> None:
        for node in nodes:
            pid_files = (
                self._server_pid_files(node.org)
                if isinstance(node, ChaincodeServer)
                else {node.node_id: self._pid_file(node)}
            )
            for node_id, pid_file in pid_files.items():
                if stop(pid_file):
                    self.ctx.say(f"down: {node_id} stopped")

    def _pid_file(self, node: Node) -> Path:
        if isinstance(node, CertificateAuthority):
            return ca_pid_file(self.ctx, node)
        return self.ctx.layout.node(node.node_id).pid

    def _server_pid_files(self, org: Organization) -> dict[str, Path]:
        """The coin's chaincode server and those of further chaincodes (NAME.chaincode.DOMAIN)."""
        base = org.chaincode_server.node_id
        files = {base: self.ctx.layout.node(base).pid}
        nodes = self.ctx.layout.nodes_dir(org)
        if nodes.is_dir():
            for directory in sorted(nodes.glob(f"*.{base}")):
                files[directory.name] = directory / "node.pid"
        return files

    def pid_files(self) -> dict[str, Path]:
        """Every process of the network by node id, chaincode servers included, in start order."""
        topology = self.ctx.topology
        files = {ca.node_id: ca_pid_file(self.ctx, ca) for ca in topology.cas}
        files |= {o.node_id: self.ctx.layout.node(o.node_id).pid for o in topology.orderers}
        files |= {p.node_id: self.ctx.layout.node(p.node_id).pid for p in topology.peers}
        for org in topology.organizations:
            files |= self._server_pid_files(org)
        return files

    def log_file(self, node_id: str) -> Path:
        for ca in self.ctx.topology.cas:
            if ca.node_id == node_id:
                return self.ctx.layout.ca_server_home(ca) / "ca.log"
        return self.ctx.layout.node(node_id).log

    def logs(self, node_id: str, lines: int) -> str:
        path = self.log_file(node_id)
        try:
            text = path.read_text(errors="replace")
        except OSError as exc:
            raise NetworkError(f"no log for {node_id} at {path}: {exc.strerror}") from None
        return "\n".join(text.splitlines()[-lines:])

    def states(self) -> dict[str, str]:
        operations = operations_endpoints(self.ctx.topology, self.ctx.layout)
        states: dict[str, str] = {}
        for node_id, pid_file in self.pid_files().items():
            if running_pid(pid_file) is None:
                states[node_id] = DOWN
            elif node_id in operations and not healthy(*operations[node_id]):
                states[node_id] = UNHEALTHY
            else:
                states[node_id] = UP
        return states

    def remove(self, purge: bool) -> None:
        """Processes leave nothing outside the network home."""

    def archive_ledger(self, node: Orderer | Peer, archive: Path) -> None:
        ledger_copies.archive_directory(ledger_copies.native_ledger(self.ctx.layout, node), archive)

    def restore_ledger(self, node: Orderer | Peer, archive: Path) -> None:
        ledger_copies.restore_directory(ledger_copies.native_ledger(self.ctx.layout, node), archive)

    # ---- chaincode -------------------------------------------------------------------------------

    def write_configtx(self) -> Path:
        return write_configtx(self.ctx.layout, self.ctx.topology)

    def coin_service(self) -> ChaincodeService:
        return lifecycle.coin_service(self.ctx.topology)

    def serve_chaincode(self, org: Organization, service: ChaincodeService, package_id: str) -> None:
        ctx = self.ctx
        spec = lifecycle.server_process(ctx.layout, org, service, package_id)
        running = running_pid(spec.pid_file) is not None
        record = serving_record(ctx.layout, org, service)
        if running and record is not None and record.get("package_id") == package_id:
            ctx.say(f"  {spec.node_id}: serving {package_id[:48]}...")
            return
        if running:
            stop(spec.pid_file)
        host, port = service.server_address(org)
        if _listening(host, port):
            raise NetworkError(
                f"{spec.node_id} cannot start: port {port} on {host} is taken by another program"
            )
        start(spec)
        try:
            wait_until(
                lambda: _listening(host, port),
                f"{spec.node_id} listening",
                30,
                lambda: running_pid(spec.pid_file) is not None,
            )
        except NotReadyError as exc:
            raise NetworkError(f"{exc}; last lines of {spec.log_file}:\n{tail(spec.log_file, 15)}") from None
        write_serving_record(ctx.layout, org, service, package_id)
        ctx.say(f"  {spec.node_id}: serving on {host}:{port} (mutual TLS)")


def _ports(node: Node) -> list[int]:
    if isinstance(node, CertificateAuthority):
        return [node.port, node.operations_port]
    if isinstance(node, Orderer):
        return [node.port, node.cluster_port, node.admin_port, node.operations_port]
    if isinstance(node, Peer):
        return [node.port, node.chaincode_port, node.operations_port]
    return []


def _listening(host: str, port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex((host, port)) == 0
