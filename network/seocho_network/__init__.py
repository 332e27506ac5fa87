"""The Seocho Coin network on one machine, rendered from `network/topology.yaml`.

`scripts/network.sh` runs this package's command line; tests import `Network` to share one network.
"""

from .network import Network, NetworkError
from .topology import Topology, TopologyError, load_topology

__all__ = ["Network", "NetworkError", "Topology", "TopologyError", "load_topology"]
