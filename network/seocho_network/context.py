"""What every bring-up step works on: the topology, where its files are, the Fabric tools, and a voice.

The steps (`channel`, `profiles`, `deployment`, `revocation`) take a `NetworkContext`; `Network` is one,
with a runtime added. So the steps never import the orchestrator, and both runtimes call the same steps.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .admin import OrdererAdmin, PeerAdmin
from .binaries import FabricBinaries
from .layout import NetworkLayout
from .topology import Orderer, Peer, Topology

Say = Callable[[str], None]
STARTUP_TIMEOUT = 60.0


class NetworkError(RuntimeError):
    """A step of bringing up or deploying the network failed; the message says which and why."""


@dataclass
class NetworkContext:
    topology: Topology
    layout: NetworkLayout
    binaries: FabricBinaries
    say: Say
    runtime_name: str = "native"  # which Runtime runs the nodes: "native" or "docker" (network.RUNTIMES)

    def peer_admin(self, peer: Peer) -> PeerAdmin:
        """The `peer` CLI against `peer`, as its own organisation's admin."""
        return PeerAdmin(self.binaries, self.layout, peer, self.topology)

    def orderer_admin(self, orderer: Orderer) -> OrdererAdmin:
        """`osnadmin` against `orderer`, as the admin of the organisation that runs it."""
        return OrdererAdmin(self.binaries, self.layout, orderer)
