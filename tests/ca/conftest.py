"""Fixtures that run a real fabric-ca-server on 127.0.0.1 for the Fabric CA client tests."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from ca_server import BOOTSTRAP_ID, BOOTSTRAP_SECRET, RunningCA, start_fabric_ca
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from fabric_ca import CAClient, Enrollment


@pytest.fixture(scope="session")
def fabric_ca(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningCA]:
    """A real fabric-ca-server with TLS on a free 127.0.0.1 port, bootstrap identity admin:adminpw."""
    yield from start_fabric_ca(tmp_path_factory.mktemp("fabric-ca-server"))


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
