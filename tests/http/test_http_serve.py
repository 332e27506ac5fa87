"""`seocho serve` as a process: uvicorn over HTTPS with a given certificate; a resident pays through it."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from loopback_ports import free_port
from seocho_network.layout import NetworkLayout
from seocho_network.monitoring import MonitoringError, MonitoringSettings, prometheus_binary, render_config
from seocho_network.topology import load_topology
from test_http_residents import pay
from world import build_world


def server_certificate(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                       critical=False)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    cert_path, key_path = directory / "tls.pem", directory / "tls.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    key_path.chmod(0o600)
    return cert_path, key_path


@pytest.fixture
def https_service(tmp_path: Path) -> Iterator[tuple[httpx.Client, object]]:
    home = tmp_path / "home"
    world = build_world(home / "ledger")
    world.ledger.close()
    cert, key = server_certificate(tmp_path)
    port = free_port()
    env = {**os.environ, "SEOCHO_HOME": str(home)}
    seocho = [str(Path(sys.executable).with_name("seocho"))]
    process = subprocess.Popen(
        [*seocho, "serve", "--host", "127.0.0.1", "--port", str(port),
         "--tls-cert", str(cert), "--tls-key", str(key)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    client = httpx.Client(base_url=f"https://127.0.0.1:{port}", verify=str(cert), timeout=30)
    try:
        while True:  # until it answers (or the process ends, which fails the test)
            if process.poll() is not None:
                raise AssertionError(process.stderr.read().decode() if process.stderr else "serve exited")
            try:
                if client.get("/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        yield client, world
    finally:
        client.close()
        process.terminate()
        process.wait(timeout=30)


def test_seocho_serve_answers_over_https_and_a_resident_pays(
    https_service: tuple[httpx.Client, object],
) -> None:
    client, world = https_service
    phone = world.phones["M-0001"]  # type: ignore[attr-defined]
    proposed = client.post("/v1/proposals", json=phone.proposal(pay("M-0001", 1, "PAY-HTTPS"))).json()
    endorsed = client.post(proposed["next"], json={"signature": phone.sign(proposed["to_sign"])}).json()
    submitted = client.post(endorsed["next"], json={"signature": phone.sign(endorsed["to_sign"])})
    assert submitted.status_code == 200 and submitted.json()["status"] == "committed", submitted.text
    assert client.get(f"/v1/transactions/{proposed['transaction_id']}").json()["status"] == "committed"
    with pytest.raises(httpx.TransportError):
        httpx.get(str(client.base_url).replace("https", "http") + "/healthz", timeout=5)


def test_prometheus_scrapes_the_service_over_https_with_the_rendered_job(
    https_service: tuple[httpx.Client, object], tmp_path: Path
) -> None:
    """`network.sh monitoring up --http ADDRESS --http-ca FILE`'s job, run by a real Prometheus."""
    try:
        prometheus = prometheus_binary()
    except MonitoringError as exc:
        pytest.skip(str(exc))
    client, _ = https_service
    assert client.get("/v1/members/nobody/balance").status_code >= 400  # one refusal among the counts
    address = str(client.base_url).removeprefix("https://")
    topology = load_topology()
    settings = MonitoringSettings.defaults(
        topology, scrape_interval="1s", http_targets=(address,), http_ca=str(tmp_path / "tls.pem")
    )
    document = render_config(topology, NetworkLayout(tmp_path / "network"), settings, tmp_path / "none.yml")
    (job,) = [j for j in document["scrape_configs"] if j["job_name"] == "seocho-http"]
    config = tmp_path / "prometheus.yml"
    config.write_text(yaml.safe_dump({"global": document["global"], "scrape_configs": [job]}))
    port = free_port()
    server = subprocess.Popen(
        [str(prometheus), f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    api = httpx.Client(base_url=f"http://127.0.0.1:{port}/api/v1", timeout=10)

    def answered(query: str) -> list[dict[str, object]]:
        try:
            result = api.get("/query", params={"query": query}).json()
        except (httpx.TransportError, ValueError):
            return []
        return list(result.get("data", {}).get("result", []))

    try:
        deadline = time.monotonic() + 60
        while not answered('up{job="seocho-http",instance="http-0"} == 1'):
            assert server.poll() is None, "prometheus exited"
            assert time.monotonic() < deadline, api.get("/targets").text if server.poll() is None else ""
            time.sleep(0.5)
        statuses = {
            str(series["metric"]["status"])  # type: ignore[index]
            for series in answered('seocho_http_requests_total{job="seocho-http"}')
        }
        assert "200" in statuses and any(status.startswith("4") for status in statuses), statuses
    finally:
        api.close()
        server.terminate()
        server.wait(timeout=30)
