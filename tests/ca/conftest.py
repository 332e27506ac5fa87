"""Fixtures that run a real fabric-ca-server on 127.0.0.1 for the Fabric CA client tests."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from fabric_ca import CAClient, CAConnectionError, Enrollment

REPO_ROOT = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = REPO_ROOT / "scripts" / "build-fabric.sh"
BOOTSTRAP_ID, BOOTSTRAP_SECRET = "admin", "adminpw"
STARTUP_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class RunningCA:
    """A fabric-ca-server started for the test session."""

    url: str
    tls_root_pem: bytes
    home: Path


def _ca_bin_dir() -> Path:
    printed = subprocess.run(
        ["bash", str(BUILD_SCRIPT), "--print-path", "ca"], check=True, capture_output=True, text=True
    )
    return Path(printed.stdout.strip())


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_until_ready(process: subprocess.Popen[bytes], ca: RunningCA, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if ca.home.joinpath("ca-cert.pem").exists():
            try:
                with CAClient(ca.url, ca.home / "ca-cert.pem", timeout=2) as client:
                    client.ca_info()
                return
            except (CAConnectionError, OSError):
                pass
        try:
            # Waiting on the process (not sleeping) also notices a server that exits during startup.
            process.wait(timeout=0.1)
        except subprocess.TimeoutExpired:
            continue
        break
    tail = log.read_text(errors="replace")[-3000:]
    pytest.fail(f"fabric-ca-server did not become ready (exit code {process.returncode}):\n{tail}")


@pytest.fixture(scope="session")
def fabric_ca(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningCA]:
    """A real fabric-ca-server with TLS on a free 127.0.0.1 port, bootstrap identity admin:adminpw."""
    yield from start_fabric_ca(tmp_path_factory.mktemp("fabric-ca-server"))


def start_fabric_ca(home: Path) -> Iterator[RunningCA]:
    """Run a fabric-ca-server in `home` until the generator is closed (for fixtures that need their own)."""
    server = _ca_bin_dir() / "fabric-ca-server"
    if not os.access(server, os.X_OK):
        pytest.skip(f"fabric-ca-server is not built at {server}; run scripts/build-fabric.sh --ca-only")
    port, operations_port = _free_port(), _free_port()
    environment = dict(os.environ)
    # The operations (metrics, health) listener has no command-line flag; its default port 9443 may be taken.
    environment["FABRIC_CA_SERVER_OPERATIONS_LISTENADDRESS"] = f"127.0.0.1:{operations_port}"
    command = [
        str(server), "start",
        "--boot", f"{BOOTSTRAP_ID}:{BOOTSTRAP_SECRET}",
        "--address", "127.0.0.1", "--port", str(port),
        "--tls.enabled", "--csr.hosts", "127.0.0.1,localhost",
        "--home", str(home),
    ]  # fmt: skip
    log = home / "server.log"
    with log.open("wb") as log_stream:
        process = subprocess.Popen(command, stdout=log_stream, stderr=subprocess.STDOUT, env=environment)
    ca = RunningCA(f"https://127.0.0.1:{port}", b"", home)
    try:
        _wait_until_ready(process, ca, log)
        yield RunningCA(ca.url, (home / "ca-cert.pem").read_bytes(), home)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def ca_client(fabric_ca: RunningCA) -> Iterator[CAClient]:
    """A client of the session's CA that trusts its TLS root."""
    with CAClient(fabric_ca.url, fabric_ca.tls_root_pem, timeout=10) as client:
        yield client


@pytest.fixture(scope="session")
def unrelated_root_pem() -> bytes:
    """A self-signed CA certificate that signed nothing the test server presents."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "unrelated test root")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM)


@pytest.fixture(scope="session")
def bootstrap_admin(fabric_ca: RunningCA) -> Enrollment:
    """The bootstrap registrar, enrolled once for the session."""
    with CAClient(fabric_ca.url, fabric_ca.tls_root_pem, timeout=10) as client:
        return client.enroll(BOOTSTRAP_ID, BOOTSTRAP_SECRET)
