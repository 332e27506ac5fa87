"""`network.sh monitoring` on the session network: Prometheus (Debian's 2.42) scrapes every node's operations
endpoint over TLS with the operations client certificate, the chaincode servers' metrics, the certificate
exporter and a `seocho index` lag endpoint; what it collects is checked against the nodes themselves."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from click.testing import CliRunner
from cryptography import x509
from fabric_network_support import RunningNetwork
from monitoring_support import all_targets_up, query, running_monitoring, wait_for
from seocho.backend import connect_gateway
from seocho.index_metrics import IndexMetrics, MetricsServer, chain_height
from seocho.profile import load_profile
from seocho_network.cli import cli
from seocho_network.monitoring import Monitoring

pytestmark = pytest.mark.fabric

INDEXED = 1  # the height the test's index endpoint claims: its lag is the channel's height less 1


@dataclass
class Monitored:
    network: RunningNetwork
    monitoring: Monitoring


@pytest.fixture(scope="module")
def monitored(fabric_network: RunningNetwork) -> Iterator[Monitored]:
    profile = load_profile(fabric_network.profile())
    with connect_gateway(profile, "district-auditor") as gateway:
        channel = gateway.get_network(fabric_network.topology.channel)
        metrics = IndexMetrics(lambda: chain_height(channel))
        metrics.indexed(INDEXED)
        with (
            MetricsServer("127.0.0.1:0", metrics.registry) as index,
            running_monitoring(fabric_network.network, [f"127.0.0.1:{index.port}"]) as monitoring,
        ):
            yield Monitored(fabric_network, monitoring)


def expected_targets(network: RunningNetwork) -> set[tuple[str, str]]:
    topology = network.topology
    expected = {("fabric-orderer", o.node_id) for o in topology.orderers}
    expected |= {("fabric-peer", p.node_id) for p in topology.peers}
    expected |= {("fabric-ca", ca.node_id) for ca in topology.cas}
    expected |= {("seocho-chaincode", org.chaincode_server.node_id) for org in topology.organizations}
    return expected | {("seocho-certificates", "certificates"), ("seocho-index", "index-0")}


def test_every_target_is_scraped_and_healthy(monitored: Monitored) -> None:
    expected = len(expected_targets(monitored.network))
    wait_for(lambda: all_targets_up(monitored.monitoring, expected), "every target up")
    assert {(t["job"], t["instance"]) for t in monitored.monitoring.targets()} == expected_targets(
        monitored.network
    )
    # What the nodes export arrives with the labels the rules select on.
    leaders = query(monitored.monitoring, "max by (channel) (consensus_etcdraft_is_leader)")
    assert [(r["metric"], r["value"][1]) for r in leaders] == [
        ({"channel": monitored.network.topology.channel}, "1")
    ]
    network = monitored.network.network
    for peer in network.topology.peers:
        height = network.peer_admin(peer).height(network.topology.channel)
        series = f'ledger_blockchain_height{{job="fabric-peer",instance="{peer.node_id}"}}'
        wait_for(
            lambda s=series, h=height: _values(monitored.monitoring, s) == [h], f"{peer.node_id}: {height}"
        )


def _values(monitoring: Monitoring, series: str) -> list[float]:
    return [float(r["value"][1]) for r in query(monitoring, series)]


def _not_after(path: object) -> float:
    return x509.load_pem_x509_certificate(path.read_bytes()).not_valid_after_utc.timestamp()  # type: ignore[attr-defined]


def test_certificate_expiries_are_the_certificates(monitored: Monitored) -> None:
    network = monitored.network.network
    layout = network.layout
    expected: dict[tuple[str, str], float] = {}
    for node_id in [o.node_id for o in network.topology.orderers] + [
        p.node_id for p in network.topology.peers
    ]:
        files = layout.node(node_id)
        expected[(node_id, "enrollment")] = _not_after(next((files.msp / "signcerts").glob("*.pem")))
        expected[(node_id, "tls")] = _not_after(files.tls_cert)
    for org in network.topology.organizations:
        admin = layout.org_admin(org)
        expected[(f"admin.{org.domain}", "enrollment")] = _not_after(
            next((admin.msp / "signcerts").glob("*.pem"))
        )
        expected[(f"admin.{org.domain}", "tls")] = _not_after(admin.tls_cert)
        expected[(f"chaincode-client.{org.domain}", "tls")] = _not_after(
            layout.node(f"chaincode-client.{org.domain}").tls_cert
        )
        expected[(f"ca.{org.domain}", "ca")] = _not_after(layout.ca_server_root(org.ca))
        for ca, name in ((org.ca, f"ca.{org.domain}"), (org.tls_ca, f"tlsca.{org.domain}")):
            expected[(name, "operations")] = _not_after(layout.ca_operations(ca).tls_cert)
    auditor = layout.users / "district-auditor" / "msp" / "signcerts"
    expected[("district-auditor", "enrollment")] = _not_after(next(auditor.glob("*.pem")))

    def exported() -> dict[tuple[str, str], float]:
        found = query(
            monitored.monitoring, 'seocho_certificate_expiry_timestamp_seconds{job="seocho-certificates"}'
        )
        return {(r["metric"]["identity"], r["metric"]["kind"]): float(r["value"][1]) for r in found}

    wait_for(lambda: expected.keys() <= exported().keys(), "every expected certificate exported")
    seen = exported()
    assert {key: seen[key] for key in expected} == expected
    # A year's certificates: the 30-day alert is quiet.
    assert query(monitored.monitoring, 'ALERTS{alertname="SeochoCertificateExpiresSoon"}') == []


def test_chaincode_transactions_are_counted_by_function(monitored: Monitored) -> None:
    series = 'sum(chaincode_transactions_total{job="seocho-chaincode",function="list_policies",status="200"})'

    def counted() -> float:
        result = query(monitored.monitoring, series)
        return float(result[0]["value"][1]) if result else 0.0

    wait_for(lambda: all_targets_up(monitored.monitoring), "every target up")
    before = counted()
    with monitored.network.contract("district-auditor") as contract:
        for _ in range(3):
            contract.evaluate_transaction("list_policies")
    wait_for(lambda: counted() == before + 3, f"3 more list_policies than {before} counted")


def test_the_index_lag_is_the_peers_height_less_the_stores(monitored: Monitored) -> None:
    network = monitored.network.network
    district_peer = network.topology.peers[0]

    def lag_matches() -> bool:
        height = network.peer_admin(district_peer).height(network.topology.channel)
        found = query(monitored.monitoring, 'seocho_index_lag_blocks{job="seocho-index"}')
        return [float(r["value"][1]) for r in found] == [height - INDEXED]

    wait_for(lag_matches, "seocho_index_lag_blocks = the peer's height - the store's")


def test_network_sh_monitoring_status_and_a_second_up(monitored: Monitored) -> None:
    network = monitored.network.network
    expected = expected_targets(monitored.network)
    wait_for(lambda: all_targets_up(monitored.monitoring, len(expected)), "every target up")

    def network_sh(*args: str) -> tuple[int, str]:
        result = CliRunner().invoke(
            cli,
            ["--home", str(network.layout.root), "monitoring", *args],
            env={"SEOCHO_NETWORK_PORT_OFFSET": str(network.topology.port_offset)},
        )
        return result.exit_code, result.output

    code, output = network_sh("status", "--json")
    assert code == 0, output
    state = json.loads(output)
    assert state["prometheus"]["running"] and state["exporter"]["running"]
    assert {(t["job"], t["instance"], t["health"]) for t in state["targets"]} == {
        (job, instance, "up") for job, instance in expected
    }
    code, output = network_sh("status")
    assert code == 0 and all(instance in output for _, instance in expected), output
    # up again with the same settings: the running Prometheus re-reads its config, nothing restarts.
    pid = monitored.monitoring.files.process("prometheus")[1].read_text()
    settings = monitored.monitoring.settings
    (index,) = settings.index_targets
    intervals = [
        "--scrape-interval",
        settings.scrape_interval,
        "--evaluation-interval",
        settings.evaluation_interval,
    ]
    code, output = network_sh("up", *intervals, "--index", index)
    assert code == 0, output
    assert monitored.monitoring.files.process("prometheus")[1].read_text() == pid
    wait_for(lambda: all_targets_up(monitored.monitoring, len(expected)), "every target up after the reload")
