"""The rendered scrape config (from the real topology file) and the certificate exporter (on certificates
made here), without a network; tests/network/test_monitoring.py runs both against the real one."""

from __future__ import annotations

import datetime
import shutil
import subprocess
import urllib.request
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from prometheus_client import start_http_server
from prometheus_client.parser import text_string_to_metric_families
from seocho_network.certificate_exporter import registry_for
from seocho_network.layout import NetworkLayout
from seocho_network.monitoring import MonitoringSettings, render_config
from seocho_network.topology import load_topology

JOBS = {
    "fabric-orderer",
    "fabric-peer",
    "fabric-ca",
    "seocho-chaincode",
    "seocho-certificates",
    "seocho-index",
    "seocho-http",
}


def _relabelled_job(job: dict) -> str:
    (rule,) = [r for r in job["relabel_configs"] if r.get("target_label") == "job"]
    return str(rule["replacement"])


def _targets(job: dict) -> dict[str, str]:
    return {c["labels"]["node"]: address for c in job["static_configs"] for address in c["targets"]}


def test_every_node_is_scraped_with_its_organisations_client(tmp_path: Path) -> None:
    topology = load_topology(port_offset=1000)
    layout = NetworkLayout(tmp_path)
    settings = MonitoringSettings.defaults(
        topology, scrape_interval="2s", index_targets=("127.0.0.1:9470",), http_targets=("127.0.0.1:8443",)
    )
    document = render_config(topology, layout, settings, tmp_path / "alerts.yml")
    assert document["global"]["scrape_interval"] == "2s"
    assert document["rule_files"] == [str(tmp_path / "alerts.yml")]
    jobs = document["scrape_configs"]
    assert len({j["job_name"] for j in jobs}) == len(jobs)  # Prometheus refuses duplicate job names
    assert {_relabelled_job(j) for j in jobs} == JOBS
    scraped = {node: (_relabelled_job(j), address, j) for j in jobs for node, address in _targets(j).items()}
    for org in topology.organizations:
        client = layout.operations_client(org)
        nodes = [(o.node_id, o.operations_port, "fabric-orderer") for o in org.orderers]
        nodes += [(p.node_id, p.operations_port, "fabric-peer") for p in org.peers]
        nodes += [(org.chaincode_server.node_id, org.chaincode_server.metrics_port, "seocho-chaincode")]
        # Both CA servers' operations endpoints: TLS, with the organisation's client like its nodes'.
        nodes += [(ca.node_id, ca.operations_port, "fabric-ca") for ca in (org.ca, org.tls_ca)]
        for node_id, port, kind in nodes:
            job_label, address, job = scraped[node_id]
            assert (job_label, address, job["scheme"]) == (kind, f"127.0.0.1:{port}", "https")
            tls = (str(client.tls_ca), str(client.tls_cert), str(client.tls_key))
            assert tuple(job["tls_config"][k] for k in ("ca_file", "cert_file", "key_file")) == tls
    assert {node for node, (kind, _, _) in scraped.items() if kind == "fabric-ca"} == {
        ca.node_id for ca in topology.cas
    }
    assert scraped["certificates"][1] == f"127.0.0.1:{9491 + 1000}"
    assert scraped["index-0"][:2] == ("seocho-index", "127.0.0.1:9470")
    # Without --http-ca the service is scraped over loopback HTTP, the only plain HTTP it offers.
    assert scraped["http-0"][:2] == ("seocho-http", "127.0.0.1:8443") and "scheme" not in scraped["http-0"][2]


def test_promtool_accepts_the_rendered_config(tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (Debian's prometheus package: scripts/install-test-deps.sh)")
    topology = load_topology()
    layout = NetworkLayout(tmp_path)
    for org in topology.organizations:  # promtool checks that the TLS files exist
        files = layout.operations_client(org)
        files.tls.mkdir(parents=True)
        for path in (files.tls_ca, files.tls_cert, files.tls_key):
            path.write_text("")
    rules = Path(__file__).resolve().parents[2] / "network" / "monitoring" / "alerts.yml"
    config = tmp_path / "prometheus.yml"
    config.write_text(
        yaml.safe_dump(render_config(topology, layout, MonitoringSettings.defaults(topology), rules))
    )
    checked = subprocess.run([promtool, "check", "config", str(config)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def _certificate(path: Path, days: int) -> float:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, path.parent.name)])
    now = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=days)).sign(key, hashes.SHA256())
    )  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return certificate.not_valid_after_utc.timestamp()


def test_the_exporter_reports_every_certificates_expiry(tmp_path: Path) -> None:
    expected = {
        ("peer0.a.example", "enrollment"): _certificate(
            tmp_path / "orgs/a.example/nodes/peer0.a.example/msp/signcerts/cert.pem", 10
        ),
        ("peer0.a.example", "tls"): _certificate(
            tmp_path / "orgs/a.example/nodes/peer0.a.example/tls/server.crt", 20
        ),
        ("admin.a.example", "enrollment"): _certificate(
            tmp_path / "orgs/a.example/users/admin/msp/signcerts/cert.pem", 30
        ),
        ("admin.a.example", "tls"): _certificate(
            tmp_path / "orgs/a.example/users/admin/tls/server.crt", 40
        ),
        ("district-admin", "enrollment"): _certificate(
            tmp_path / "users/district-admin/msp/signcerts/cert.pem", 50
        ),
        ("ca.a.example", "ca"): _certificate(tmp_path / "orgs/a.example/fabric-ca/ca-cert.pem", 3650),
        ("tlsca.a.example", "ca"): _certificate(tmp_path / "orgs/a.example/fabric-tlsca/ca-cert.pem", 3650),
        ("tlsca.a.example", "tls"): _certificate(tmp_path / "orgs/a.example/fabric-tlsca/tls-cert.pem", 365),
        ("ca.a.example", "operations"): _certificate(
            tmp_path / "orgs/a.example/fabric-ca/operations/tls/server.crt", 360
        ),
        ("tlsca.a.example", "operations"): _certificate(
            tmp_path / "orgs/a.example/fabric-tlsca/operations/tls/server.crt", 361
        ),
    }
    # A root it trusts, not its own:
    _certificate(tmp_path / "orgs/a.example/nodes/peer0.a.example/tls/ca.crt", 1)
    broken = tmp_path / "orgs/a.example/nodes/orderer0.a.example/tls/server.crt"
    broken.parent.mkdir(parents=True)
    broken.write_text("not a certificate")
    server, thread = start_http_server(0, addr="127.0.0.1", registry=registry_for(tmp_path))
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{server.server_port}/metrics", timeout=5) as answer:
            text = answer.read().decode()
        # Scanned at each scrape: a renewed certificate shows at once.
        renewed = _certificate(tmp_path / "orgs/a.example/nodes/peer0.a.example/tls/server.crt", 400)
        with urllib.request.urlopen(f"http://127.0.0.1:{server.server_port}/metrics", timeout=5) as answer:
            after = answer.read().decode()
    finally:
        server.shutdown()
        thread.join()
    assert _expiries(text) == expected
    assert _sample(text, "seocho_certificate_unreadable_files") == 1
    assert _expiries(after) == expected | {("peer0.a.example", "tls"): renewed}


def _expiries(text: str) -> dict[tuple[str, str], float]:
    return {
        (s.labels["identity"], s.labels["kind"]): s.value
        for f in text_string_to_metric_families(text)
        for s in f.samples
        if s.name == "seocho_certificate_expiry_timestamp_seconds"
    }


def _sample(text: str, name: str) -> float:
    (value,) = [s.value for f in text_string_to_metric_families(text) for s in f.samples if s.name == name]
    return value
