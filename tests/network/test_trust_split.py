"""The trust split on the real network: a resident's certificate (the identity CA's) opens no TLS door.

Each organisation has an identity CA (every identity, members included) and a TLS CA (its nodes and admin
clients only). The orderers' admin endpoints accept their organisation's admin TLS certificate alone, the
chaincode servers their own peers' chaincode client alone, the operations endpoints (nodes' and CA servers')
the TLS CA's clients.
"""

from __future__ import annotations

import socket
import ssl
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from cryptography import x509
from fabric_ca import load_msp
from fabric_network_support import RunningNetwork
from fabric_protos.peer import chaincode_shim_pb2
from seocho_network.admin import OrdererAdmin, operations_client
from seocho_network.configs import node_environment
from seocho_network.layout import NodeFiles
from seocho_network.topology import Orderer, Organization, Peer

pytestmark = pytest.mark.fabric

RESIDENT = "member-S-0001"


def _tls_pair(directory: Path, cert_pem: bytes, key_pem: bytes) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    cert, key = directory / "client.crt", directory / "client.key"
    cert.write_bytes(cert_pem)
    key.write_bytes(key_pem)
    key.chmod(0o600)
    return cert, key


@pytest.fixture(scope="module")
def resident(after_demo: RunningNetwork, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The demo resident's enrolment certificate and key, offered as a TLS client certificate."""
    enrollment = load_msp(after_demo.network.layout.users / RESIDENT / "msp")
    directory = tmp_path_factory.mktemp("resident")
    return _tls_pair(directory, enrollment.certificate_pem, enrollment.private_key_pem())


def _files(files: NodeFiles) -> tuple[Path, Path]:
    return files.tls_cert, files.tls_key


def _osnadmin(running: RunningNetwork, orderer: Orderer, client: tuple[Path, Path], *args: str) -> str:
    layout = running.network.layout
    command = [
        str(running.network.binaries.tool("osnadmin")), "channel", *args,
        "-o", f"127.0.0.1:{orderer.admin_port}", "--ca-file", str(layout.node(orderer.node_id).tls_ca),
        "--client-cert", str(client[0]), "--client-key", str(client[1]),
    ]  # fmt: skip
    done = subprocess.run(command, env=node_environment(), capture_output=True, text=True, timeout=30)
    return f"exit {done.returncode}\n{done.stdout}{done.stderr}"


def test_osnadmin_refuses_a_residents_and_a_nodes_certificate_and_serves_the_admin(
    after_demo: RunningNetwork, resident: tuple[Path, Path]
) -> None:
    layout, channel = after_demo.network.layout, after_demo.topology.channel
    peer_tls = _files(layout.node(after_demo.district.peers[0].node_id))
    monitor = _files(layout.operations_client(after_demo.district))
    for orderer in after_demo.topology.orderers:
        for refused in (resident, peer_tls, monitor):
            for args in (("list",), ("remove", "--channelID", channel)):
                said = _osnadmin(after_demo, orderer, refused, *args)
                assert "Status:" not in said, said  # no HTTP answer at all: the TLS handshake failed
                assert not said.startswith("exit 0"), said
        # The channel is still on every orderer, as its admin (whose TLS certificate is pinned) sees.
        assert channel in OrdererAdmin(after_demo.network.binaries, layout, orderer).channels()


def _connect(server_address: str, root: bytes, client: tuple[Path, Path], name: str) -> Iterator[object]:
    credentials = grpc.ssl_channel_credentials(root, client[1].read_bytes(), client[0].read_bytes())
    channel = grpc.secure_channel(
        server_address, credentials, options=[("grpc.ssl_target_name_override", name)]
    )
    try:
        connect = channel.stream_stream(
            "/protos.Chaincode/Connect",
            request_serializer=chaincode_shim_pb2.ChaincodeMessage.SerializeToString,
            response_deserializer=chaincode_shim_pb2.ChaincodeMessage.FromString,
        )
        # A peer that never speaks: the server's first message (REGISTER) says it accepted the stream.
        yield from connect(iter(()), timeout=10)
    finally:
        channel.close()


def _first_message_or_code(server_address: str, root: bytes, client: tuple[Path, Path], name: str) -> object:
    try:
        for message in _connect(server_address, root, client, name):
            return message
    except grpc.RpcError as error:
        return error.code()
    return None


def test_each_chaincode_server_accepts_only_its_own_peers_chaincode_client(
    after_demo: RunningNetwork, resident: tuple[Path, Path]
) -> None:
    layout = after_demo.network.layout
    for org in after_demo.topology.organizations:
        server = org.chaincode_server
        root = layout.node(server.node_id).tls_ca.read_bytes()
        own = _files(layout.node(f"chaincode-client.{org.domain}"))
        accepted = _first_message_or_code(server.address, root, own, server.node_id)
        assert isinstance(accepted, chaincode_shim_pb2.ChaincodeMessage), accepted
        assert accepted.type == chaincode_shim_pb2.ChaincodeMessage.REGISTER
        # A resident's certificate chains to no root the server trusts: no TLS session.
        assert _first_message_or_code(server.address, root, resident, server.node_id) == (
            grpc.StatusCode.UNAVAILABLE
        )
        # The organisation's admin, peer and operations client hold certificates of the same TLS CA:
        # the server refuses them by name.
        for other in (
            layout.org_admin(org),
            layout.node(org.peers[0].node_id),
            layout.operations_client(org),
        ):
            code = _first_message_or_code(server.address, root, _files(other), server.node_id)
            assert code == grpc.StatusCode.PERMISSION_DENIED, other


def _nodes(running: RunningNetwork) -> list[tuple[Organization, Orderer | Peer]]:
    found: list[tuple[Organization, Orderer | Peer]] = []
    for org in running.topology.organizations:
        found += [(org, node) for node in [*org.orderers, *org.peers]]
    return found


def _request(
    port: int, path: str, context: ssl.SSLContext, method: str = "GET", body: bytes | None = None
) -> int:
    request = urllib.request.Request(f"https://127.0.0.1:{port}{path}", data=body, method=method)
    try:
        with urllib.request.urlopen(request, timeout=5, context=context) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def test_operations_endpoints_refuse_a_resident_and_no_certificate_and_answer_the_operations_client(
    after_demo: RunningNetwork, resident: tuple[Path, Path]
) -> None:
    layout = after_demo.network.layout
    for org, node in _nodes(after_demo):
        client = operations_client(layout, org)
        anonymous = ssl.create_default_context(cafile=str(client.root))
        as_resident = ssl.create_default_context(cafile=str(client.root))
        as_resident.load_cert_chain(str(resident[0]), str(resident[1]))
        for context in (anonymous, as_resident):
            for method, path, body in (("GET", "/healthz", None), ("GET", "/metrics", None),
                                       ("PUT", "/logspec", b'{"spec": "debug"}')):  # fmt: skip
                with pytest.raises((ssl.SSLError, urllib.error.URLError, ConnectionError)):
                    _request(node.operations_port, path, context, method, body)
        assert _request(node.operations_port, "/healthz", client.context()) == 200
        assert _request(node.operations_port, "/metrics", client.context()) == 200
        with urllib.request.urlopen(
            f"https://127.0.0.1:{node.operations_port}/logspec", timeout=5, context=client.context()
        ) as answer:
            assert b"debug" not in answer.read(), node.node_id  # the resident's PUT changed nothing


def _plain_http(port: int, path: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as answer:
            return int(answer.status), answer.read()
    except urllib.error.HTTPError as error:
        return int(error.code), error.read()


def _served_certificate(port: int, context: ssl.SSLContext) -> x509.Certificate:
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der)


def test_ca_operations_endpoints_refuse_plain_http_strangers_and_residents_and_answer_the_operations_client(
    after_demo: RunningNetwork, resident: tuple[Path, Path]
) -> None:
    layout = after_demo.network.layout
    for org in after_demo.topology.organizations:
        client = operations_client(layout, org)
        anonymous = ssl.create_default_context(cafile=str(client.root))
        as_resident = ssl.create_default_context(cafile=str(client.root))
        as_resident.load_cert_chain(str(resident[0]), str(resident[1]))
        # Another organisation's operations client: a TLS CA, but not this organisation's.
        other = next(o for o in after_demo.topology.organizations if o is not org)
        as_other = ssl.create_default_context(cafile=str(client.root))
        foreign = operations_client(layout, other)
        as_other.load_cert_chain(str(foreign.cert), str(foreign.key))
        tls_root = x509.load_pem_x509_certificate(layout.ca_server_root(org.tls_ca).read_bytes())
        for ca in (org.ca, org.tls_ca):
            status, body = _plain_http(ca.operations_port, "/healthz")
            assert (status, b"HTTPS" in body) == (400, True), (ca.node_id, status, body)
            for context in (anonymous, as_resident, as_other):
                for path in ("/healthz", "/metrics"):
                    with pytest.raises((ssl.SSLError, urllib.error.URLError, ConnectionError)):
                        _request(ca.operations_port, path, context)
            assert _request(ca.operations_port, "/healthz", client.context()) == 200, ca.node_id
            assert _request(ca.operations_port, "/metrics", client.context()) == 200, ca.node_id
            # The endpoint presents a certificate of the organisation's TLS CA (the context verified it).
            served = _served_certificate(ca.operations_port, client.context())
            assert served.issuer == tls_root.subject, ca.node_id
            assert served.subject != served.issuer  # not the bootstrap certificate
