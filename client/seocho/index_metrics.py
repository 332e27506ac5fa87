"""`seocho index --metrics-address`: how far the reporting store is behind the peer, for Prometheus.

| metric                     | meaning                                                              |
|----------------------------|----------------------------------------------------------------------|
| seocho_index_height        | blocks in the store (the next block it will read)                    |
| seocho_index_peer_height   | the channel's height at the Gateway's peer (qscc GetChainInfo)       |
| seocho_index_lag_blocks    | peer height − store height (absent while the peer does not answer)   |
| seocho_index_peer_up       | 1 when the peer answered the last scrape's height query, else 0      |

The peer is asked at scrape time, so the lag is as fresh as the scrape; the store's height is what
the follower last applied.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

import fabric_gateway as fg
from fabric_protos.common import ledger_pb2
from fabric_shim.metrics import MetricsEndpoint
from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

logger = logging.getLogger(__name__)


def chain_height(network: fg.Network) -> int:
    """The channel's height (blocks, genesis included) at a peer, by qscc GetChainInfo through the Gateway."""
    raw = network.get_contract("qscc").evaluate_transaction("GetChainInfo", network.channel_id)
    return int(ledger_pb2.BlockchainInfo.FromString(raw).height)


class IndexMetrics(Collector):
    """The store's height (set by `indexed`) against `peer_height()` (asked at each scrape).

    `peer_height` may be set later (None: the peer is not connected yet, and reported down).
    """

    def __init__(
        self, peer_height: Callable[[], int] | None = None, registry: CollectorRegistry | None = None
    ) -> None:
        self.peer_height = peer_height
        self.height = 0
        self.registry = registry if registry is not None else CollectorRegistry()
        self.registry.register(self)

    def indexed(self, height: int) -> None:
        """The store now holds `height` blocks (called by the follower after each block)."""
        self.height = max(self.height, height)

    def collect(self) -> Iterator[Metric]:
        height = self.height
        yield GaugeMetricFamily("seocho_index_height", "Blocks in the reporting store.", value=height)
        try:
            if self.peer_height is None:
                raise ConnectionError("not connected yet")
            peer = self.peer_height()
        except (fg.GatewayError, OSError, ValueError) as exc:
            logger.warning("cannot read the peer's height: %s", type(exc).__name__)
            yield GaugeMetricFamily("seocho_index_peer_up", "The peer answered the height query.", value=0)
            return
        yield GaugeMetricFamily("seocho_index_peer_up", "The peer answered the height query.", value=1)
        yield GaugeMetricFamily("seocho_index_peer_height", "The channel's height at the peer.", value=peer)
        yield GaugeMetricFamily(
            "seocho_index_lag_blocks", "Blocks the store is behind the peer.", value=max(0, peer - height)
        )


class MetricsServer(MetricsEndpoint):
    """Serves a registry's /metrics over HTTP on `host:port` until `close()` (the shim's endpoint's
    lifecycle; only the address parsing is the index's own)."""

    def __init__(self, address: str, registry: CollectorRegistry) -> None:
        host, _, port = address.rpartition(":")
        if not host or not port.isdigit() or int(port) > 65535:
            raise ValueError(f"a metrics address is HOST:PORT, got {address!r}")
        super().__init__(*start_http_server(int(port), addr=host.strip("[]"), registry=registry))
