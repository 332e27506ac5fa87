"""Prometheus (Debian's package) scraping the session network, for the monitoring and fault tests."""

from __future__ import annotations

import contextlib
import json
import shutil
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import polling
import pytest
from seocho_network.monitoring import Monitoring, MonitoringSettings
from seocho_network.network import Network

# Short intervals so the tests wait seconds, not minutes; the rules are the production file, unchanged
# (SeochoNodeDown needs its 30 s).
TEST_INTERVAL = "2s"


@contextlib.contextmanager
def running_monitoring(network: Network, index_targets: Sequence[str] = ()) -> Iterator[Monitoring]:
    if shutil.which("prometheus") is None:
        pytest.skip("prometheus is not installed (Debian's prometheus package: scripts/install-test-deps.sh)")
    monitoring = Monitoring(network.topology, network.layout)
    settings = MonitoringSettings.defaults(
        network.topology,
        scrape_interval=TEST_INTERVAL,
        evaluation_interval=TEST_INTERVAL,
        index_targets=tuple(index_targets),
    )
    monitoring.up(settings)
    try:
        yield monitoring
    finally:
        monitoring.down()


def query(monitoring: Monitoring, promql: str) -> list[dict[str, Any]]:
    """An instant query's result: [{'metric': labels, 'value': [time, 'value']}, ...]."""
    url = f"{monitoring.url}/api/v1/query?{urllib.parse.urlencode({'query': promql})}"
    with urllib.request.urlopen(url, timeout=10) as answer:
        document = json.loads(answer.read())
    assert document["status"] == "success", document
    return list(document["data"]["result"])


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 90.0) -> None:
    """`polling.wait_for` at monitoring's pace: Prometheus scrapes and evaluates every few seconds."""
    polling.wait_for(condition, what, timeout, interval=0.5)


def all_targets_up(monitoring: Monitoring, expected: int | None = None) -> bool:
    """Every active target healthy (and, given `expected`, that many of them)."""
    targets = monitoring.targets()
    if not targets or (expected is not None and len(targets) != expected):
        return False
    return all(t["health"] == "up" for t in targets)
