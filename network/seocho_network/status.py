"""`status`: every node up or down, block heights, the Raft leader and the committed chaincode."""

from __future__ import annotations

from dataclasses import dataclass, field

from .admin import OperationsClient, healthy, operations_client
from .binaries import CommandError
from .network import Network, orderer_heights, peer_heights
from .processes import running_pid
from .topology import Orderer, Peer


@dataclass
class NetworkStatus:
    nodes: dict[str, str] = field(default_factory=dict)  # node id -> "up" | "down" | "unhealthy"
    peer_heights: dict[str, int | None] = field(default_factory=dict)
    orderer_heights: dict[str, int | None] = field(default_factory=dict)
    raft_leader: str | None = None
    chaincode: dict[str, object] | None = None

    @property
    def all_up(self) -> bool:
        return all(state == "up" for state in self.nodes.values())


def _operations_ports(network: Network) -> dict[str, tuple[int, OperationsClient | None]]:
    layout = network.layout
    ports: dict[str, tuple[int, OperationsClient | None]]
    ports = {ca.node_id: (ca.operations_port, None) for ca in network.topology.cas}
    nodes: list[Orderer | Peer] = [*network.topology.orderers, *network.topology.peers]
    for node in nodes:
        ports[node.node_id] = (node.operations_port, operations_client(layout, node.org))
    return ports


def collect(network: Network) -> NetworkStatus:
    status = NetworkStatus()
    operations = _operations_ports(network)
    for node_id, pid_file in network.pid_files().items():
        if running_pid(pid_file) is None:
            status.nodes[node_id] = "down"
        elif node_id in operations and not healthy(*operations[node_id]):
            status.nodes[node_id] = "unhealthy"
        else:
            status.nodes[node_id] = "up"
    up = {node for node, state in status.nodes.items() if state == "up"}
    status.peer_heights = {k: v for k, v in peer_heights(network).items() if k in up} | {
        p.node_id: None for p in network.topology.peers if p.node_id not in up
    }
    status.orderer_heights = {k: v for k, v in orderer_heights(network).items() if k in up} | {
        o.node_id: None for o in network.topology.orderers if o.node_id not in up
    }
    status.raft_leader = network.raft_leader()
    if network.topology.organizations[0].peers[0].node_id in up:
        try:
            definition = network.committed()
        except CommandError:
            definition = None
        if definition is not None:
            status.chaincode = {
                "name": definition.name,
                "version": definition.version,
                "sequence": definition.sequence,
            }
    return status


def render(status: NetworkStatus) -> str:
    lines = [f"{'node':<36} {'state':<10} height"]
    heights = status.peer_heights | status.orderer_heights
    for node_id, state in status.nodes.items():
        height = heights.get(node_id)
        shown = "" if node_id not in heights else ("?" if height is None else str(height))
        leader = "  (Raft leader)" if node_id == status.raft_leader else ""
        lines.append(f"{node_id:<36} {state:<10} {shown}{leader}")
    if status.chaincode is None:
        lines.append("chaincode: none committed (run: scripts/network.sh deploy)")
    else:
        c = status.chaincode
        lines.append(f"chaincode: {c['name']} version {c['version']} sequence {c['sequence']}")
    return "\n".join(lines)
