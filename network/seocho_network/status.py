"""`status`: every node up or down, block heights, the Raft leader and the committed chaincode.

One report for both runtimes: the node states come from the runtime, everything else from the nodes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .binaries import CommandError
from .channel import orderer_heights, ordering_leader, peer_heights
from .deployment import committed
from .network import Network
from .runtime import UP


@dataclass
class NetworkStatus:
    runtime: str = "native"
    nodes: dict[str, str] = field(default_factory=dict)  # node id -> "up" | "down" | "unhealthy"
    peer_heights: dict[str, int | None] = field(default_factory=dict)
    orderer_heights: dict[str, int | None] = field(default_factory=dict)
    raft_leader: str | None = None  # the consensus leader (Raft's, or SmartBFT's view leader)
    orderer_type: str = "raft"
    chaincode: dict[str, object] | None = None

    @property
    def all_up(self) -> bool:
        return all(state == UP for state in self.nodes.values())


def collect(network: Network) -> NetworkStatus:
    status = NetworkStatus(runtime=network.runtime.name, nodes=network.runtime.states())
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
            }
    return status


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
