"""What `renew` plans for each kind of holder, read from certificate files in a network home's layout."""

from __future__ import annotations

import socket
import ssl
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from background import Background
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from loopback_ports import free_port
from seocho_network.context import NetworkContext
from seocho_network.crypto import chaincode_client_name
from seocho_network.layout import NetworkLayout
from seocho_network.lifecycle import ChaincodeService, build_package
from seocho_network.renewal import plan_renewal
from seocho_network.serving import write_serving_record
from seocho_network.topology import ChaincodeSpec, load_topology

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
WINDOW = timedelta(days=30)


def _write(path: Path, days: int) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, path.parts[-3])])
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=days)).sign(key, hashes.SHA256())
    )  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))


@pytest.fixture
def home(tmp_path: Path) -> NetworkContext:
    """Every holder of the topology with certificates valid for 400 days."""
    topology = load_topology(port_offset=0)
    layout = NetworkLayout.for_topology(tmp_path, topology)
    for org in topology.organizations:
        holders = [layout.node(n.node_id) for n in (*org.orderers, *org.peers)]
        holders += [layout.org_user(org, name) for name in ("admin", "ca-registrar", "operations-client")]
        for files in holders:
            _write(files.msp / "signcerts" / "cert.pem", 400)
            _write(files.tls_cert, 400)
        for node_id in (org.chaincode_server.node_id, chaincode_client_name(org)):
            _write(layout.node(node_id).tls_cert, 400)
            _write(layout.node(node_id).tls_ca, 4000)
            _write(layout.node(node_id).tls_key, 400)  # any text: packages copy it, nothing parses it
        for ca in (org.ca, org.tls_ca):
            _write(layout.ca_server_home(ca) / "ca-cert.pem", 4000)
            _write(layout.ca_server_home(ca) / "tls-cert.pem", 400)
    _write(layout.users / "S-0001" / "msp" / "signcerts" / "cert.pem", 400)
    return NetworkContext(topology, layout, None, print)  # type: ignore[arg-type]  # plans need no tools


def test_nothing_due_plans_nothing(home: NetworkContext) -> None:
    plan = plan_renewal(home, WINDOW, NOW)
    assert plan.empty and not plan.certificates and not plan.roots


def test_an_admins_tls_certificate_restarts_its_organisations_orderers_for_the_pin(
    home: NetworkContext,
) -> None:
    district = home.topology.organizations[0]
    _write(home.layout.org_admin(district).tls_cert, 10)

    plan = plan_renewal(home, WINDOW, NOW)

    assert plan.identities == [home.layout.org_admin(district).root]
    assert plan.orderers == list(district.orderers)
    assert set(plan.restart_only) == {o.node_id for o in district.orderers}
    assert "pins" in "\n".join(plan.lines(NOW))
    assert not (plan.peers or plan.cas or plan.chaincode_clients or plan.chaincode_servers)


def test_each_holder_goes_to_its_own_step(home: NetworkContext) -> None:
    layout = home.layout
    district, partners = home.topology.organizations
    _write(layout.node(partners.peers[0].node_id).msp / "signcerts" / "cert.pem", 29)
    _write(layout.node(district.orderers[1].node_id).tls_cert, 1)
    _write(layout.node(chaincode_client_name(partners)).tls_cert, 2)
    _write(layout.node(district.chaincode_server.node_id).tls_cert, 3)
    _write(layout.ca_server_home(partners.tls_ca) / "tls-cert.pem", 4)
    _write(layout.ca_server_home(district.ca) / "ca-cert.pem", 5)
    _write(layout.users / "S-0001" / "msp" / "signcerts" / "cert.pem", -1)  # expired already

    plan = plan_renewal(home, WINDOW, NOW)

    assert plan.peers == [partners.peers[0]]
    assert plan.orderers == [district.orderers[1]] and not plan.restart_only
    assert plan.chaincode_clients == [partners] and plan.chaincode_servers == [district]
    assert plan.cas == [partners.tls_ca]
    assert plan.identities == [layout.users / "S-0001"]
    assert [d.path for d in plan.roots] == [layout.ca_server_home(district.ca) / "ca-cert.pem"]
    assert len(plan.certificates) == 6
    said = "\n".join(plan.lines(NOW))
    assert "S-0001 enrollment (expired" in said and "not renewed here (a CA root)" in said


def test_packages_carrying_an_older_client_certificate_are_renewed_again(home: NetworkContext) -> None:
    """An interrupted renewal: the chaincode client's certificate is new, the served packages are not."""
    layout = home.layout
    district, partners = home.topology.organizations
    service = ChaincodeService(ChaincodeSpec("seocho", "1.0", "OR('A.peer')"), ("server",), "abc123")
    for org in (district, partners):
        _, package_id = build_package(layout, org, service)
        write_serving_record(layout, org, service, package_id)
    assert plan_renewal(home, WINDOW, NOW).empty

    _write(layout.node(chaincode_client_name(partners)).tls_cert, 400)  # renewed, not yet packaged

    plan = plan_renewal(home, WINDOW, NOW)
    assert plan.stale_packages == [partners] and not plan.chaincode_clients
    assert "chaincode packages of Partners" in "\n".join(plan.lines(NOW))


def test_a_node_presenting_another_certificate_than_its_files_is_restarted(
    home: NetworkContext, tmp_path: Path
) -> None:
    """An interrupted renewal: the files are new, the running node still presents the old certificate."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "peer0")])
    old = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=400)).sign(key, hashes.SHA256())
    )  # fmt: skip
    (tmp_path / "old.crt").write_bytes(old.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "old.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "old.crt", tmp_path / "old.key")
    port = free_port()
    peer = home.topology.organizations[1].peers[0]
    stale = replace(home, topology=load_topology(port_offset=port - peer.port))
    stale_peer = stale.topology.organizations[1].peers[0]
    with socket.create_server(("127.0.0.1", port)) as listener:
        served = Background(lambda: _serve_once(listener, context), name="tls-server")
        plan = plan_renewal(replace(stale, layout=home.layout), WINDOW, NOW)
        served.join(timeout=30)
    # (Other ports of the shifted topology may belong to anyone's programs: only this peer is asserted.)
    assert stale_peer in plan.peers and "older TLS certificate" in plan.restart_only[stale_peer.node_id]
    assert not plan.certificates


def _serve_once(listener: socket.socket, context: ssl.SSLContext) -> None:
    connection, _ = listener.accept()
    with context.wrap_socket(connection, server_side=True) as tls:
        tls.recv(1)
