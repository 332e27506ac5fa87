"""The node-down alert in the live Prometheus: an orderer killed (SIGKILL) fires SeochoNodeDown for it,
restarted (as the fault suite restarts nodes: `network.up()`) clears it. The rule file is production's,
so the alert fires only after its `for: 30s`."""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest
from fabric_network_support import RunningNetwork
from monitoring_support import all_targets_up, running_monitoring, wait_for
from seocho_network.monitoring import Monitoring
from seocho_network.processes import signal_node

pytestmark = [pytest.mark.fabric, pytest.mark.faults]


@pytest.fixture(scope="module")
def monitoring(fabric_network: RunningNetwork) -> Iterator[Monitoring]:
    with running_monitoring(fabric_network.network) as running:
        yield running


def _node_down(monitoring: Monitoring, instance: str) -> list[str]:
    """The states (pending, firing) of SeochoNodeDown alerts for `instance`."""
    return [
        a["state"]
        for a in monitoring.alerts()
        if a["name"] == "SeochoNodeDown" and a["labels"].get("instance") == instance
    ]


def test_a_killed_orderer_fires_node_down_and_its_return_clears_it(
    fabric_network: RunningNetwork, monitoring: Monitoring
) -> None:
    network = fabric_network.network
    orderer = network.topology.orderers[-1].node_id
    wait_for(lambda: all_targets_up(monitoring), "every target up before the fault")
    assert _node_down(monitoring, orderer) == []
    assert signal_node(network.layout.node(orderer).pid, signal.SIGKILL), f"{orderer} was not running"
    try:
        wait_for(
            lambda: _node_down(monitoring, orderer) == ["firing"], f"SeochoNodeDown firing for {orderer}", 120
        )
        others = {a["labels"].get("instance") for a in monitoring.alerts() if a["name"] == "SeochoNodeDown"}
        assert others == {orderer}  # only the killed node
    finally:
        network.up()  # restarts what is not running
    wait_for(lambda: _node_down(monitoring, orderer) == [], f"SeochoNodeDown cleared for {orderer}", 120)
    assert {t["health"] for t in monitoring.targets()} == {"up"}
