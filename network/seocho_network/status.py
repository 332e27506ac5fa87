"""`status`: every node up or down, block heights, the Raft leader and the committed chaincode.

One report for both runtimes: the node states come from the runtime, everything else from the nodes.
It also carries what the one-page view (`status --html`, status_html.py) shows besides: each node's
organisation and kind, the definition's approvals, every certificate's expiry (read as the certificate
exporter reads them) and the alerts the live Prometheus of `monitoring up` has pending or firing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from .binaries import CommandError
from .certificate_exporter import certificate_files, expiry
from .channel import orderer_heights, ordering_leader, peer_heights
from .deployment import committed
from .monitoring import Monitoring
from .network import Network
from .runtime import UP
from .topology import Topology


@dataclass
class NetworkStatus:
    runtime: str = "native"
    nodes: dict[str, str] = field(default_factory=dict)  # node id -> "up" | "down" | "unhealthy"
    peer_heights: dict[str, int | None] = field(default_factory=dict)
    orderer_heights: dict[str, int | None] = field(default_factory=dict)
    raft_leader: str | None = None  # the consensus leader (Raft's, or SmartBFT's view leader)
    orderer_type: str = "raft"
    chaincode: dict[str, object] | None = None  # name, version, sequence, approvals {msp id: bool}
    organizations: dict[str, str] = field(default_factory=dict)  # node id -> its organisation's name
    kinds: dict[str, str] = field(default_factory=dict)  # node id -> "ca" | "orderer" | "peer" | "chaincode"
    certificates: list[dict[str, object]] = field(default_factory=list)  # identity kind not_after days_left
    alerts: list[dict[str, object]] | None = None  # pending or firing; None: monitoring is not running
    collected_at: str = ""  # ISO 8601, UTC

    @property
    def all_up(self) -> bool:
        return all(state == UP for state in self.nodes.values())


def collect(network: Network) -> NetworkStatus:
    status = NetworkStatus(runtime=network.runtime.name, nodes=network.runtime.states())
    status.collected_at = datetime.now(UTC).isoformat(timespec="seconds")
    status.organizations, status.kinds = _roles(network.topology, status.nodes)
    up = {node for node, state in status.nodes.items() if state == UP}
    topology = network.topology
    status.peer_heights = {p.node_id: None for p in topology.peers}
    status.peer_heights |= {k: v for k, v in peer_heights(network).items() if k in up}
    status.orderer_heights = {o.node_id: None for o in topology.orderers}
    status.orderer_heights |= {k: v for k, v in orderer_heights(network).items() if k in up}
    status.raft_leader = ordering_leader(network)
    status.orderer_type = topology.orderer_type
    if topology.organizations[0].peers[0].node_id in up:
        try:
            definition = committed(network, topology.chaincode.name)
        except CommandError:
            definition = None
        if definition is not None:
            status.chaincode = {
                "name": definition.name,
                "version": definition.version,
                "sequence": definition.sequence,
                "approvals": dict(definition.approvals),
            }
    status.certificates = _certificates(network)
    status.alerts = _alerts(network)
    return status


def _roles(topology: Topology, nodes: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """Each node's organisation and kind; chaincode servers of further chaincodes by their domain."""
    organizations: dict[str, str] = {}
    kinds: dict[str, str] = {}
    for org in topology.organizations:
        for node_id, kind in (
            *((ca.node_id, "ca") for ca in (org.ca, org.tls_ca)),
            *((o.node_id, "orderer") for o in org.orderers),
            *((p.node_id, "peer") for p in org.peers),
        ):
            organizations[node_id], kinds[node_id] = org.name, kind
        for node_id in nodes:
            if node_id not in kinds and node_id.endswith(org.chaincode_server.node_id):
                organizations[node_id], kinds[node_id] = org.name, "chaincode"
    return organizations, kinds


def _certificates(network: Network) -> list[dict[str, object]]:
    """Every certificate of the home that the certificate exporter exports, soonest expiry first."""
    now = time.time()
    found: dict[tuple[str, str], dict[str, object]] = {}
    for file in certificate_files(network.layout.root):
        if (file.identity, file.kind) in found:  # two signcerts: the first (sorted) counts, as exported
            continue
        try:
            not_after = expiry(file.path)
        except ValueError:
            continue
        found[(file.identity, file.kind)] = {
            "identity": file.identity,
            "kind": file.kind,
            "not_after": datetime.fromtimestamp(not_after, UTC).isoformat(timespec="seconds"),
            "days_left": int((not_after - now) // 86_400),
        }
    return sorted(found.values(), key=lambda c: (str(c["not_after"]), str(c["identity"]), str(c["kind"])))


def _alerts(network: Network) -> list[dict[str, object]] | None:
    """The alerts pending or firing in the Prometheus of `monitoring up`; None when it does not run."""
    state = Monitoring(network.topology, network.layout).status()
    if not state["prometheus"]["running"] or "error" in state["prometheus"]:
        return None
    return [dict(alert) for alert in state["alerts"]]


def render(status: NetworkStatus) -> str:
    lines = [f"{'node':<36} {'state':<10} height"]
    heights = status.peer_heights | status.orderer_heights
    for node_id, state in status.nodes.items():
        height = heights.get(node_id)
        shown = "" if node_id not in heights else ("?" if height is None else str(height))
        kind = "BFT" if status.orderer_type == "bft" else "Raft"
        leader = f"  ({kind} leader)" if node_id == status.raft_leader else ""
        lines.append(f"{node_id:<36} {state:<10} {shown}{leader}")
    if status.chaincode is None:
        lines.append("chaincode: none committed (run: scripts/network.sh deploy)")
    else:
        c = status.chaincode
        lines.append(f"chaincode: {c['name']} version {c['version']} sequence {c['sequence']}")
    return "\n".join(lines)
