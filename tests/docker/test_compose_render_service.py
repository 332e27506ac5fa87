"""The HTTP service in the rendered deployment (no Docker needed): a container of the district's project
only, hardened like the chaincode's, its state on a named volume, its HTTPS port on loopback; and the
district's certificate is checked before anything is written."""

from __future__ import annotations

import datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from seocho_network.compose import DockerRuntime
from seocho_network.compose_render import compose_document
from seocho_network.compose_service import service_node_id
from seocho_network.context import NetworkError
from seocho_network.http_service import (
    check_certificate_pair,
    check_origins,
    write_container_files,
    write_origins,
)
from seocho_network.layout import NetworkLayout
from seocho_network.topology import load_topology


def test_the_service_is_in_the_district_project_only_and_in_the_single_one() -> None:
    topology = load_topology(port_offset=0)
    district, partners = topology.organizations
    name = service_node_id(topology)
    assert name == "api.district.seocho.local"
    assert name in compose_document(topology)["services"]
    assert name in compose_document(topology, None, district, "172.17.0.1")["services"]
    assert name not in compose_document(topology, None, partners, "172.17.0.1")["services"]


def test_the_service_is_hardened_keeps_its_state_on_a_volume_and_publishes_on_loopback() -> None:
    topology = load_topology(port_offset=3000)
    document = compose_document(topology)
    service = document["services"]["api.district.seocho.local"]
    assert (service["read_only"], service["cap_drop"], service["security_opt"]) == (
        True, ["ALL"], ["no-new-privileges:true"],
    )  # fmt: skip
    assert service["tmpfs"] == ["/tmp:size=64m"] and "user" not in service  # the image's uid 10001
    assert service["ports"] == ["127.0.0.1:11443:8443"]  # 8443 + the port offset, loopback only
    assert service["environment"] == {
        "SEOCHO_PROFILE": "/etc/seocho/network/profile.yaml",
        "SEOCHO_IDENTITY": "http-service",
        "SEOCHO_SERVE_CORS_ORIGINS": "${SEOCHO_SERVICE_CORS_ORIGINS:-}",
    }
    home = "./orgs/district.seocho.local/nodes/api.district.seocho.local"
    assert service["volumes"] == [
        f"{home}/container:/etc/seocho/network:ro",
        f"{home}/container-tls:/etc/seocho/tls:ro",
        "http-api-district-seocho-local:/var/lib/seocho",
    ]
    assert "http-api-district-seocho-local" in document["volumes"]
    assert "healthcheck" not in service  # the image's own HEALTHCHECK
    assert service["image"] == "${SEOCHO_SERVICE_IMAGE:-seocho/service:0.1.0}"


def test_deployed_by_another_user_the_service_runs_as_them_with_its_state_beside_its_files() -> None:
    document = compose_document(load_topology(port_offset=0), "1000:1000")
    service = document["services"]["api.district.seocho.local"]
    assert service["user"] == "1000:1000" and "cap_add" not in service
    home = "./orgs/district.seocho.local/nodes/api.district.seocho.local"
    assert service["volumes"][2] == f"{home}/state:/var/lib/seocho"
    assert not any(name.startswith("http-") for name in document["volumes"])


def _pair(tmp_path: Path, name: str, days: int = 30) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "coin.seocho.example")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=days)).sign(key, hashes.SHA256())
    )  # fmt: skip
    cert_path, key_path = tmp_path / f"{name}.crt", tmp_path / f"{name}.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    pkcs8 = serialization.PrivateFormat.PKCS8
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, pkcs8, serialization.NoEncryption()))
    return cert_path, key_path


def test_the_districts_certificate_must_go_with_its_key_and_be_valid_now(tmp_path: Path) -> None:
    cert, key = _pair(tmp_path, "good")
    check_certificate_pair(cert, key)
    _, other_key = _pair(tmp_path, "other")
    with pytest.raises(NetworkError, match="is not the key of"):
        check_certificate_pair(cert, other_key)
    expired_cert, expired_key = _pair(tmp_path, "expired", days=-1)
    with pytest.raises(NetworkError, match="is not valid now"):
        check_certificate_pair(expired_cert, expired_key)
    with pytest.raises(NetworkError, match="not a PEM certificate"):
        check_certificate_pair(key, key)
    with pytest.raises(NetworkError, match="not an unencrypted PEM private key"):
        check_certificate_pair(cert, cert)


@pytest.mark.parametrize(
    "origin",
    ["app.seocho.example", "http://app.seocho.example", "https://app.seocho.example/wallet", "https://", "ftp://a"],
)
def test_a_cors_origin_must_be_a_browser_origin(origin: str) -> None:
    with pytest.raises(NetworkError, match="an origin is"):
        check_origins([origin])


def test_origins_are_kept_in_the_env_file_beside_the_chaincode_ids(tmp_path: Path) -> None:
    check_origins(["https://app.seocho.example", "http://127.0.0.1:5173"])
    (tmp_path / ".env").write_text("CHAINCODE_ID_PARTNERS=seocho_1.0:ab\n")
    runtime = DockerRuntime(SimpleNamespace(layout=NetworkLayout(tmp_path)))  # type: ignore[arg-type]
    write_origins(runtime, ["https://app.seocho.example"])
    write_origins(runtime, ["https://app.seocho.example", "https://kiosk.seocho.example"])
    runtime.update_env({"CHAINCODE_ID_DISTRICT": "seocho_1.0:cd"})  # the chaincode's ids: the same file
    assert (tmp_path / ".env").read_text() == (
        "CHAINCODE_ID_PARTNERS=seocho_1.0:ab\n"
        "SEOCHO_SERVICE_CORS_ORIGINS=https://app.seocho.example https://kiosk.seocho.example\n"
        "CHAINCODE_ID_DISTRICT=seocho_1.0:cd\n"
    )
    write_origins(runtime, [])
    runtime.update_env({"CHAINCODE_ID_PARTNERS": "seocho_1.0:ef"})
    assert (tmp_path / ".env").read_text() == (
        "CHAINCODE_ID_PARTNERS=seocho_1.0:ef\nCHAINCODE_ID_DISTRICT=seocho_1.0:cd\n"
    )


def _service_home(tmp_path: Path) -> SimpleNamespace:
    """What write_container_files reads, in a home: the organisation's roots and the service's MSP."""
    topology = load_topology(port_offset=0)
    layout = NetworkLayout(tmp_path, tuple(org.domain for org in topology.organizations))
    district = topology.organizations[0]
    for path in (layout.definition_tls_root(district), layout.ca_server_root(district.ca)):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("root\n")
    signcerts = layout.node(service_node_id(topology)).msp / "signcerts"
    signcerts.mkdir(parents=True)
    (signcerts / "cert.pem").write_text("identity\n")
    return SimpleNamespace(layout=layout, topology=topology)


def test_the_mounted_https_files_may_be_given_again_and_the_key_is_never_readable_by_others(
    tmp_path: Path,
) -> None:
    context = _service_home(tmp_path)
    cert, key = _pair(tmp_path, "district")
    write_container_files(context, {}, cert, key)  # type: ignore[arg-type]
    mounted = context.layout.node(service_node_id(context.topology)).root / "container-tls"
    # Run again with the copies the container mounts (e.g. `service up --tls-cert .../container-tls/...`).
    write_container_files(context, {}, mounted / "server.crt", mounted / "server.key")  # type: ignore[arg-type]
    assert (mounted / "server.crt").read_bytes() == cert.read_bytes()
    assert (mounted / "server.key").read_bytes() == key.read_bytes()
    assert (mounted / "server.key").stat().st_mode & 0o077 == 0
    district = context.topology.organizations[0]
    profile = yaml.safe_load((mounted.parent / "container" / "profile.yaml").read_text())
    peer = district.peers[0]  # by its container name, on the project's network
    assert profile["gateway"] == {
        "address": f"{peer.node_id}:{peer.port}",
        "tls_root_cert": "tls/gateway-root.pem",
        "server_name": peer.node_id,
    }
    assert profile["ca"]["url"] == f"https://{district.ca.node_id}:{district.ca.port}"
    assert profile["identities"] == {
        "http-service": {"msp_id": district.msp_id, "msp_dir": "identities/http-service/msp"}
    }
    with pytest.raises(NetworkError, match="cannot read the HTTPS certificate"):
        write_container_files(context, {}, tmp_path / "missing.crt", key)  # type: ignore[arg-type]
    assert (mounted / "server.crt").read_bytes() == cert.read_bytes()  # nothing emptied
