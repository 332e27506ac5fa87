# ruff: noqa: F811  (the fixtures imported below are redefined as test parameters, as pytest wants)
"""`seocho index --metrics-address`: the store's lag behind the peer for Prometheus, through the Gateway
double (qscc GetChainInfo answered from the embedded ledger; tests/network checks it on a real peer)."""

from __future__ import annotations

import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import fabric_gateway as fg
import pytest
from embedded_ledger import EmbeddedLedger
from gateway_double import RunningGateway
from loopback_ports import free_port
from polling import wait_for
from prometheus_client.parser import text_string_to_metric_families
from seocho.backend import connect_gateway
from seocho.index_metrics import IndexMetrics, MetricsServer, chain_height
from seocho.profile import load_profile
from test_seocho_cli_over_gateway import client_id, coin_peer, profile, seocho  # noqa: F401  (fixtures)
from test_seocho_index_over_gateway import EVIDENCE, build
from tls_pki import TlsMaterial  # noqa: F401


def scrape(port: int) -> dict[str, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
        text = answer.read().decode()
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name.startswith("seocho_index_")
    }


def test_chain_height_is_the_peers(profile: Path, coin_peer: tuple[RunningGateway, EmbeddedLedger]) -> None:
    _, ledger = coin_peer
    build(profile, ledger)
    with connect_gateway(load_profile(profile), "M-1") as gateway:
        network = gateway.get_network(ledger.channel_id)
        assert chain_height(network) == ledger.height > 1
        with pytest.raises(fg.GatewayError):
            network.get_contract("qscc").evaluate_transaction("GetBlockByNumber", ledger.channel_id, "0")


def test_the_lag_is_the_peer_height_less_the_store_height(
    profile: Path, coin_peer: tuple[RunningGateway, EmbeddedLedger]
) -> None:
    _, ledger = coin_peer
    build(profile, ledger)
    with connect_gateway(load_profile(profile), "admin") as gateway:
        network = gateway.get_network(ledger.channel_id)
        metrics = IndexMetrics(lambda: chain_height(network))
        metrics.indexed(2)
        with MetricsServer("127.0.0.1:0", metrics.registry) as server:
            seen = scrape(server.port)
            assert seen == {
                "seocho_index_height": 2,
                "seocho_index_peer_up": 1,
                "seocho_index_peer_height": ledger.height,
                "seocho_index_lag_blocks": ledger.height - 2,
            }
            metrics.indexed(1)  # a block the store already had (a replay after a reconnect)
            assert scrape(server.port)["seocho_index_height"] == 2
            metrics.indexed(ledger.height)
            assert scrape(server.port)["seocho_index_lag_blocks"] == 0


def test_an_unreachable_peer_reports_no_lag(
    profile: Path, coin_peer: tuple[RunningGateway, EmbeddedLedger]
) -> None:
    running, ledger = coin_peer
    with connect_gateway(load_profile(profile), "admin") as gateway:
        network = gateway.get_network(ledger.channel_id)
        metrics = IndexMetrics(lambda: chain_height(network))
        metrics.indexed(1)
        running.stop()
        with MetricsServer("127.0.0.1:0", metrics.registry) as server:
            assert scrape(server.port) == {"seocho_index_height": 1, "seocho_index_peer_up": 0}


def test_seocho_index_follow_serves_its_lag(
    profile: Path, coin_peer: tuple[RunningGateway, EmbeddedLedger], tmp_path: Path
) -> None:
    _, ledger = coin_peer
    build(profile, ledger)
    port = free_port()
    follower = subprocess.Popen(
        [str(Path(sys.executable).parent / "seocho"), "--profile", str(profile), "--as", "admin",
         "index", "--db", str(tmp_path / "index.sqlite"), "--follow",
         "--metrics-address", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip

    def caught_up() -> bool:
        assert follower.poll() is None, follower.stderr.read()  # type: ignore[union-attr]
        try:
            seen = scrape(port)
        except (urllib.error.URLError, ConnectionError):
            return False  # not serving yet
        return seen.get("seocho_index_height") == ledger.height and seen.get("seocho_index_lag_blocks") == 0

    try:
        wait_for(caught_up, "the follower caught up with the peer", 30)
        before = ledger.height
        code, _, err = seocho(profile, "staff", "earn", "M-1", "volunteer_hour", "1", "--evidence", EVIDENCE,
                              "--request-id", "VOL-METRICS")  # fmt: skip
        assert code == 0, err
        assert ledger.height > before
        wait_for(caught_up, "the follower caught up with the new block", 30)
    finally:
        follower.terminate()
        follower.wait(timeout=30)


def test_a_bad_metrics_address_is_refused(profile: Path, tmp_path: Path) -> None:
    db = str(tmp_path / "index.sqlite")
    code, _, err = seocho(profile, "admin", "--lang", "en", "index", "--db", db, "--metrics-address", "9470")
    assert code == 2 and "HOST:PORT" in err
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        address = f"127.0.0.1:{taken.getsockname()[1]}"
        code, _, err = seocho(
            profile, "admin", "--lang", "en", "index", "--db", db, "--metrics-address", address
        )
    assert code != 0 and f"cannot serve metrics on {address}" in err
    assert not Path(db).exists()  # refused before the store was made
