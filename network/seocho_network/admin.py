"""Administration through Fabric's own tools: readiness, `osnadmin` on the orderers, the `peer` CLI.

Readiness is asked of the nodes (operations `/healthz`, channel lists), never assumed after a sleep.
"""

from __future__ import annotations

import json
import socket
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .binaries import CommandError, FabricBinaries, run_tool
from .configs import node_environment
from .layout import NetworkLayout
from .topology import LOOPBACK, CertificateAuthority, Orderer, Organization, Peer, Topology


class NotReadyError(RuntimeError):
    """A node did not become ready in time."""


def wait_until(check: Callable[[], bool], what: str, timeout: float, alive: Callable[[], bool]) -> None:
    """Polls `check` until it holds; fails early when `alive` says the process is gone."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        if not alive():
            raise NotReadyError(f"{what}: the process exited")
        time.sleep(0.2)
    raise NotReadyError(f"{what}: not ready after {timeout:.0f} s")


@dataclass(frozen=True)
class OperationsClient:
    """The TLS client certificate, and the root to trust, for an organisation's operations endpoints.

    Its nodes' and CA servers' operations endpoints require a client certificate from the organisation's
    TLS CA, so health checks and metrics readers present the organisation's operations client.
    """

    root: Path
    cert: Path
    key: Path

    def context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(self.root))
        context.load_cert_chain(str(self.cert), str(self.key))
        return context


def operations_client(layout: NetworkLayout, org: Organization) -> OperationsClient:
    files = layout.operations_client(org)
    return OperationsClient(files.tls_ca, files.tls_cert, files.tls_key)


def operations_endpoints(
    topology: Topology, layout: NetworkLayout
) -> dict[str, tuple[int, OperationsClient]]:
    """Each CA's, orderer's and peer's operations port and the client that may ask it (its organisation's
    operations client: every one is TLS with client certificates; both runtimes publish the same ports on
    the loopback interface)."""
    nodes: list[CertificateAuthority | Orderer | Peer] = [*topology.cas, *topology.orderers, *topology.peers]
    return {node.node_id: (node.operations_port, operations_client(layout, node.org)) for node in nodes}


def _operations_get(port: int, path: str, client: OperationsClient, timeout: float) -> Any:
    url = f"https://{LOOPBACK}:{port}{path}"
    return urllib.request.urlopen(url, timeout=timeout, context=client.context())


def healthy(operations_port: int, client: OperationsClient) -> bool:
    """True when the node's operations endpoint answers /healthz with OK (over TLS as `client`)."""
    try:
        with _operations_get(operations_port, "/healthz", client, 2) as answer:
            return bool(answer.status == 200)
    except (OSError, urllib.error.URLError):
        return False


def metrics(operations_port: int, client: OperationsClient) -> str:
    """The node's Prometheus metrics text ('' when it does not answer)."""
    try:
        with _operations_get(operations_port, "/metrics", client, 3) as answer:
            return str(answer.read().decode("utf-8", "replace"))
    except (OSError, urllib.error.URLError):
        return ""


class OrdererAdmin:
    """`osnadmin` against one orderer's admin endpoint, as the ordering organisation's admin (mutual TLS)."""

    def __init__(self, binaries: FabricBinaries, layout: NetworkLayout, orderer: Orderer) -> None:
        self.binaries = binaries
        self.orderer = orderer
        admin = layout.org_admin(orderer.org)
        self._tls = [
            "--ca-file",
            str(layout.node(orderer.node_id).tls_ca),
            "--client-cert",
            str(admin.tls_cert),
            "--client-key",
            str(admin.tls_key),
        ]

    def _osnadmin(self, *args: str) -> Any:
        command = [
            str(self.binaries.tool("osnadmin")),
            "channel",
            *args,
            "-o",
            f"{LOOPBACK}:{self.orderer.admin_port}",
            *self._tls,
        ]
        output = run_tool(
            command, node_environment(), what=f"osnadmin channel {args[0]} on {self.orderer.node_id}"
        )
        # osnadmin prints "Status: NNN" then a JSON body.
        status_line, _, body = output.partition("\n")
        status = int(status_line.removeprefix("Status:").strip() or 0)
        document = json.loads(body) if body.strip() else {}
        return status, document

    def channels(self) -> list[str]:
        status, document = self._osnadmin("list")
        if status != 200:
            raise CommandError(f"osnadmin channel list on {self.orderer.node_id}: status {status}")
        return [entry["name"] for entry in document.get("channels") or []]

    def join(self, channel: str, block: Path) -> None:
        status, document = self._osnadmin("join", "--channelID", channel, "--config-block", str(block))
        if status not in (201, 405):  # 405: this orderer already has the channel
            raise CommandError(
                f"osnadmin channel join on {self.orderer.node_id}: status {status}: {document}"
            )

    def info(self, channel: str) -> dict[str, Any]:
        status, document = self._osnadmin("list", "--channelID", channel)
        if status != 200:
            raise CommandError(
                f"osnadmin channel info on {self.orderer.node_id}: status {status}: {document}"
            )
        return dict(document)


class PeerAdmin:
    """The `peer` CLI against one peer, as its organisation's admin."""

    def __init__(
        self, binaries: FabricBinaries, layout: NetworkLayout, peer: Peer, topology: Topology
    ) -> None:
        self.binaries = binaries
        self.layout = layout
        self.peer = peer
        self.topology = topology
        files = layout.node(peer.node_id)
        self.environment = node_environment() | {
            "FABRIC_CFG_PATH": str(files.config),
            "CORE_PEER_ADDRESS": peer.address,
            "CORE_PEER_LOCALMSPID": peer.org.msp_id,
            "CORE_PEER_MSPCONFIGPATH": str(layout.org_admin(peer.org).msp),
            "CORE_PEER_TLS_ENABLED": "true",
            "CORE_PEER_TLS_ROOTCERT_FILE": str(files.tls_ca),
        }

    def _orderers(self) -> list[Orderer]:
        # Its own organisation's orderers first; another's are trusted through that one's definition.
        own = [o for o in self.topology.orderers if o.org is self.peer.org]
        return own + [o for o in self.topology.orderers if o.org is not self.peer.org]

    def _flags(self, orderer: Orderer) -> list[str]:
        root = self.layout.definition_tls_root(orderer.org)
        return ["-o", orderer.address, "--tls", "--cafile", str(root)]

    def orderer_flags(self) -> list[str]:
        return self._flags(self._orderers()[0])

    def orderer_flags_any(self) -> list[str]:
        """Orderer flags naming the first orderer that answers, so a tool works while one is down.

        Its own organisation's orderers answer its health check; another's, a TCP connection (their
        operations endpoints admit only their own organisation's client)."""
        for orderer in self._orderers():
            if orderer.org is self.peer.org:
                answers = healthy(orderer.operations_port, operations_client(self.layout, orderer.org))
            else:
                answers = _accepts(orderer.address)
            if answers:
                return self._flags(orderer)
        return self.orderer_flags()

    def run(self, args: Sequence[str], timeout: float = 120.0) -> str:
        command = [str(self.binaries.tool("peer")), *args]
        return run_tool(
            command, self.environment, timeout, what=f"peer {' '.join(args[:3])} on {self.peer.node_id}"
        )

    def channels(self) -> list[str]:
        output = self.run(["channel", "list"])
        marker = "Channels peers has joined:"
        listed = output.split(marker, 1)[1] if marker in output else ""
        return [line.strip() for line in listed.splitlines() if line.strip()]

    def join(self, block: Path) -> None:
        self.run(["channel", "join", "-b", str(block)])

    def height(self, channel: str) -> int:
        output = self.run(["channel", "getinfo", "-c", channel])
        document, _ = json.JSONDecoder().raw_decode(output.split("Blockchain info:", 1)[1].strip())
        return int(document["height"])


def tls_flags_for(layout: NetworkLayout, peers: Sequence[Peer]) -> list[str]:
    """Peer CLI flags to reach `peers`, each trusted through its organisation's definition."""
    flags: list[str] = []
    for peer in peers:
        flags += [
            "--peerAddresses",
            peer.address,
            "--tlsRootCertFiles",
            str(layout.definition_tls_root(peer.org)),
        ]
    return flags


def _accepts(address: str) -> bool:
    host, port = address.rsplit(":", 1)
    with socket.socket() as probe:
        probe.settimeout(2)
        return probe.connect_ex((host, int(port))) == 0
