"""`network.sh status --html` of a network whose nodes all are down (no Fabric process runs): the page
says so, in Korean, as headless Chromium shows it. (test_status_page.py reads it on the live network.)"""

from __future__ import annotations

from pathlib import Path

import pytest
from browser_support import chromium_driver
from network_cli_support import network_sh
from seocho_network.binaries import MissingBinariesError
from seocho_network.network import Network


def test_every_node_down_no_leader_no_definition_and_monitoring_not_running(tmp_path: Path) -> None:
    try:
        network = Network.open(tmp_path / "home", say=lambda line: None)
    except MissingBinariesError as exc:
        pytest.skip(str(exc))
    network.layout.root.mkdir(parents=True)
    code, output = network_sh(network, "status", "--html", "--lang", "ko")  # FILE defaults to the home's
    page = network.layout.root / "status.html"
    assert code == 3 and str(page) in output, output
    from selenium.webdriver.common.by import By

    with chromium_driver("--lang=ko-KR") as driver:
        driver.get(page.as_uri())
        rows = driver.find_elements(By.CSS_SELECTOR, "tr[data-node]")
        assert {row.get_attribute("data-node") for row in rows} >= set(network.topology.node_ids())
        assert {row.find_elements(By.TAG_NAME, "td")[2].text for row in rows} == {"중지됨"}
        assert driver.find_element(By.CSS_SELECTOR, "[data-leader]").text.startswith("Raft 리더 없음")
        assert "커밋된 정의 없음" in driver.find_element(By.CSS_SELECTOR, "[data-chaincode]").text
        assert "모니터링이 실행 중이 아닙니다" in driver.find_element(By.CSS_SELECTOR, "[data-alerts]").text
        assert driver.find_element(By.CSS_SELECTOR, "h1").text == "서초코인 — 네트워크 상태"
