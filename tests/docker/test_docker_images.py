"""The locally built images: the official layout, and a chaincode image serving with mounted TLS."""

from __future__ import annotations

import json
import os
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from docker_support import DockerImages, docker

# The first test builds the images on a fresh machine (debootstrap, Compose from source): minutes.
pytestmark = [pytest.mark.docker, pytest.mark.timeout(900)]


def test_fabric_stand_ins_run_the_pinned_versions(docker_images: DockerImages) -> None:
    for image, command, version in [
        (docker_images.env["FABRIC_PEER_IMAGE"], "peer", "2.5.16"),
        (docker_images.env["FABRIC_ORDERER_IMAGE"], "orderer", "2.5.16"),
        # A rolling upgrade runs both releases at once: each has its own images.
        (docker_images.env["FABRIC_PEER_IMAGE_3_1_5"], "peer", "3.1.5"),
        (docker_images.env["FABRIC_ORDERER_IMAGE_3_1_5"], "orderer", "3.1.5"),
        (docker_images.env["FABRIC_CA_IMAGE"], "fabric-ca-server", "1.5.15"),
    ]:
        printed = docker("run", "--rm", image, command, "version").stdout
        assert f"Version: {version}" in printed, printed


@pytest.mark.parametrize("variable", ["FABRIC_PEER_IMAGE", "FABRIC_PEER_IMAGE_3_1_5"])
def test_peer_stand_in_has_the_official_layout(docker_images: DockerImages, variable: str) -> None:
    peer = docker_images.env[variable]
    config = json.loads(docker("image", "inspect", peer).stdout)[0]["Config"]
    assert "FABRIC_CFG_PATH=/etc/hyperledger/fabric" in config["Env"]
    assert config["Cmd"] == ["peer", "node", "start"]
    assert "7051/tcp" in config["ExposedPorts"]
    directories = ("/opt/hyperledger/ccaas_builder/bin", "/etc/hyperledger/fabric")
    listed = docker("run", "--rm", peer, "ls", *directories).stdout.split()
    assert {"detect", "build", "release", "core.yaml"} <= set(listed)


def _write_tls(directory: Path) -> None:
    """A CA and a server certificate signed by it, readable by the image's non-root user (uid 10001)."""
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test-ca")])
    ca_cert = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "cc")]))
        .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1)).not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    files = {
        "server.key": key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
        "server.crt": cert.public_bytes(serialization.Encoding.PEM),
        "client-ca.crt": ca_cert.public_bytes(serialization.Encoding.PEM),
    }
    for name, data in files.items():
        path = directory / name
        path.write_bytes(data)
        path.chmod(0o600 if name.endswith(".key") else 0o644)
        if os.geteuid() == 0:
            os.chown(path, 10001, 10001)


def _wait_healthy(container: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    status = ""
    while time.monotonic() < deadline:
        status = docker("inspect", "--format", "{{.State.Health.Status}}", container).stdout.strip()
        if status in ("healthy", "unhealthy"):
            return status
        time.sleep(1)
    return status


def test_chaincode_image_serves_mutual_tls_from_mounted_material(
    docker_images: DockerImages, tmp_path: Path
) -> None:
    config = json.loads(docker("image", "inspect", docker_images.chaincode).stdout)[0]["Config"]
    assert config["User"] == "10001:10001"
    assert config["Entrypoint"] == ["seocho-chaincode"]
    tls = tmp_path / "tls"
    tls.mkdir()
    _write_tls(tls)
    name = f"seocho-test-cc-{uuid.uuid4().hex[:8]}"
    try:
        docker(
            "run", "--detach", "--name", name, "--volume", f"{tls}:/etc/seocho/tls:ro",
            "--env", "CHAINCODE_ID=seocho_1.0:" + "0" * 64, "--env", "CHAINCODE_SERVER_ADDRESS=0.0.0.0:7080",
            "--env", "CHAINCODE_TLS_KEY=/etc/seocho/tls/server.key",
            "--env", "CHAINCODE_TLS_CERT=/etc/seocho/tls/server.crt",
            "--env", "CHAINCODE_CLIENT_CA_CERT=/etc/seocho/tls/client-ca.crt",
            docker_images.chaincode,
        )
        status = _wait_healthy(name)
        logs = docker("logs", name).stderr
        assert status == "healthy", logs
        assert "mutual TLS" in logs or "TLS" in logs, logs
    finally:
        docker("rm", "--force", name, check=False)


def test_chaincode_image_refuses_to_start_without_tls_material(docker_images: DockerImages) -> None:
    result = docker(
        "run", "--rm", "--env", "CHAINCODE_ID=seocho_1.0:x", "--env", "CHAINCODE_SERVER_ADDRESS=0.0.0.0:7080",
        docker_images.chaincode, check=False,
    )
    assert result.returncode == 2
    assert "CHAINCODE_TLS_KEY" in result.stderr
