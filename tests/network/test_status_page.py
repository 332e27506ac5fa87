"""`network.sh status --html`: the operations view of the session network, read in headless Chromium.

The page must show what the nodes themselves say (asked here independently of `status`): every node and
its state, each peer's and orderer's height, the Raft leader, the committed definition with its approvals,
the certificates' expiries; and the alerts of the live Prometheus, or that monitoring does not run. A peer
stopped for real shows as down, with the SeochoNodeDown alert firing for it, and serves again after.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from browser_support import chromium_driver
from fabric_network_support import RunningNetwork
from monitoring_support import running_monitoring, wait_for
from network_cli_support import network_sh
from seocho_network.monitoring import Monitoring
from seocho_network.processes import running_pid

pytestmark = pytest.mark.fabric


def rendered(network: RunningNetwork, page: Path, lang: str = "en") -> tuple[int, str]:
    code, output = network_sh(network.network, "status", "--html", str(page), "--lang", lang)
    assert page.is_file(), output
    assert page.stat().st_mode & 0o777 == 0o600
    html = page.read_text(encoding="utf-8")
    assert "<script" not in html and "https://" not in html
    assert "http://" not in html.replace("http://www.w3.org/2000/svg", "")
    return code, output


def shown(driver: Any, page: Path, name: str) -> Callable[[str], Any]:
    """Opens the page; a function finding a displayed element by CSS selector. Keeps a screenshot."""
    from selenium.webdriver.common.by import By

    driver.get(page.as_uri())
    artefacts = Path(os.environ.get("SEOCHO_TEST_ARTEFACTS", page.parent)) / "status-page"
    artefacts.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(artefacts / f"{name}.png"))

    def element(selector: str) -> Any:
        found = driver.find_element(By.CSS_SELECTOR, selector)
        assert found.is_displayed(), selector
        return found

    return element


def cells(row: Any) -> list[str]:
    from selenium.webdriver.common.by import By

    return [cell.text for cell in row.find_elements(By.TAG_NAME, "td")]


def test_the_page_shows_every_node_its_height_the_leader_the_definition_and_the_certificates(
    after_demo: RunningNetwork, tmp_path: Path
) -> None:
    network = after_demo.network
    assert not Monitoring(network.topology, network.layout).status()["prometheus"]["running"]
    page = tmp_path / "status.html"
    code, output = rendered(after_demo, page)
    assert code == 0, output
    channel = network.topology.channel
    peer_heights = {p.node_id: network.peer_admin(p).height(channel) for p in network.topology.peers}
    orderer_heights = {
        o.node_id: int(network.orderer_admin(o).info(channel)["height"]) for o in network.topology.orderers
    }
    leader, definition = network.raft_leader(), network.committed()
    assert leader is not None and definition is not None

    from selenium.webdriver.common.by import By

    with chromium_driver() as driver:
        element = shown(driver, page, "all-up")
        assert element("h1").text == "Seocho Coin — network status"
        for org in network.topology.organizations:
            assert element(f'h3[data-organisation="{org.name}"]').text == org.name
        for node_id in network.topology.node_ids():
            row = cells(element(f'tr[data-node="{node_id}"]'))
            assert row[0] == node_id and row[2] == "up", row
        for node_id, height in (peer_heights | orderer_heights).items():
            row = cells(element(f'tr[data-node="{node_id}"]'))
            assert row[3] == f"{height:,}", (node_id, row)
        chart = element('svg[data-chart="heights"]')
        bars = [
            int(bar.get_attribute("data-value")) for bar in chart.find_elements(By.CSS_SELECTOR, "rect.bar")
        ]
        assert sorted(bars) == sorted((peer_heights | orderer_heights).values())
        assert cells(element(f'tr[data-node="{leader}"]'))[4] == "Raft leader"
        assert element("[data-leader]").text == f"Raft leader: {leader}"
        assert cells(element('tr[data-field="name"]')) == ["name", definition.name]
        assert cells(element('tr[data-field="version"]')) == ["version", definition.version]
        assert cells(element('tr[data-field="sequence"]')) == ["sequence", str(definition.sequence)]
        for org in network.topology.organizations:
            assert cells(element(f'tr[data-approval="{org.msp_id}"]')) == [f"approved by {org.msp_id}", "yes"]
        peer = after_demo.partners.peers[0].node_id
        tls = cells(element(f'tr[data-certificate="{peer}"][data-kind="tls"]'))
        assert tls[:2] == [peer, "tls"] and int(tls[3]) > 300  # Fabric CA issues for a year
        assert "monitoring not running" in element('[data-alerts="not-running"]').text

    code, _ = rendered(after_demo, page, lang="ko")
    assert code == 0
    with chromium_driver("--lang=ko-KR") as driver:
        element = shown(driver, page, "all-up-ko")
        assert element("h1").text == "서초코인 — 네트워크 상태"
        assert cells(element(f'tr[data-node="{leader}"]'))[2] == "실행 중"


def test_a_stopped_peer_shows_as_down_with_its_alert_firing_and_serves_again(
    after_demo: RunningNetwork, tmp_path: Path
) -> None:
    network = after_demo.network
    peer = after_demo.partners.peers[0].node_id
    page = tmp_path / "status.html"
    with running_monitoring(network) as monitoring:
        code, output = network_sh(network, "stop", peer)
        assert code == 0 and f"{peer} stopped" in output, output
        try:
            assert running_pid(network.layout.node(peer).pid) is None

            def node_down_firing() -> bool:
                return any(
                    (a["name"], a["state"], a["labels"].get("instance")) == ("SeochoNodeDown", "firing", peer)
                    for a in monitoring.alerts()
                )

            wait_for(node_down_firing, f"SeochoNodeDown firing for {peer}", 120)
            code, output = rendered(after_demo, page)
            assert code == 3, output  # `status` exits 3 when a node is down, page or not
            with chromium_driver() as driver:
                element = shown(driver, page, "peer-down")
                row = cells(element(f'tr[data-node="{peer}"]'))
                assert row[2] == "down" and row[3] == "?", row  # its height is unknown
                state_cell = element(f'tr[data-node="{peer}"] td:nth-child(3)')
                assert state_cell.get_attribute("class") == "state-down"
                district_peer = after_demo.district.peers[0].node_id
                assert cells(element(f'tr[data-node="{district_peer}"]'))[2] == "up"
                alert = cells(element('tr[data-alert="SeochoNodeDown"][data-alert-state="firing"]'))
                assert alert == ["SeochoNodeDown", "firing", peer], alert
        finally:
            code, output = network_sh(network, "start", peer)
            assert code == 0, output
    channel = network.topology.channel
    heights = lambda: {network.peer_admin(p).height(channel) for p in network.topology.peers}  # noqa: E731
    wait_for(lambda: len(heights()) == 1, "the restarted peer at the channel's height")
