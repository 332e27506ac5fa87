"""A CA server's operations endpoint from its first start: the TLS CA's stand-in certificate opens it to no
one, and once secured both CA servers present their TLS CA's certificates (real fabric-ca-server).
tests/network/test_trust_split.py checks the endpoints of the session network against every client."""

from __future__ import annotations

import os
import ssl
import stat
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from cryptography import x509
from fabric_network_support import TEST_PORT_OFFSETS
from seocho_network import ca_operations
from seocho_network.binaries import MissingBinariesError, find_binaries
from seocho_network.context import NetworkError
from seocho_network.crypto import ca_client
from seocho_network.layout import NetworkLayout
from seocho_network.network import Network
from seocho_network.port_offsets import claimed_port_offset
from seocho_network.processes import running_pid
from seocho_network.topology import load_topology


def test_an_identity_ca_never_starts_without_the_certificate_its_tls_ca_issues(tmp_path: Path) -> None:
    topology = load_topology()
    layout = NetworkLayout.for_topology(tmp_path, topology)
    org = topology.organizations[0]
    with pytest.raises(NetworkError, match=f"comes from {org.tls_ca.node_id}"):
        ca_operations.prepare(layout, org.ca)
    assert not layout.ca_operations(org.ca).tls.exists()


def _status(port: int, context: ssl.SSLContext | None) -> int:
    url = f"{'http' if context is None else 'https'}://127.0.0.1:{port}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=5, context=context) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def _unverified(cert: Path | None = None, key: Path | None = None) -> ssl.SSLContext:
    """A client that accepts any server certificate (the stand-in verifies to nothing), maybe with its own."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    if cert is not None and key is not None:
        context.load_cert_chain(str(cert), str(key))
    return context


@pytest.mark.fabric
def test_a_new_tls_ca_serves_operations_to_no_one_until_it_runs_on_its_certificate(tmp_path: Path) -> None:
    try:
        find_binaries()
    except MissingBinariesError as exc:
        pytest.skip(str(exc))
    # Another offset than the session network's (claims are locked), low enough for .ci/run's reserved ports.
    offsets = [offset for offset in TEST_PORT_OFFSETS if offset < 50_000]  # locked ones are skipped
    with claimed_port_offset(offsets) as offset:
        network = Network.open(tmp_path / "network", say=lambda _: None, port_offset=offset)
        layout, org = network.layout, network.topology.organizations[1]
        tls_ca = org.tls_ca
        try:
            network.runtime.start([tls_ca])  # its first start
            stand_in = layout.ca_operations(tls_ca)
            certificate = x509.load_pem_x509_certificate(stand_in.tls_cert.read_bytes())
            assert certificate.subject == certificate.issuer and not ca_operations.issued(layout, tls_ca)
            assert not certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
            assert stat.S_IMODE(os.stat(stand_in.tls_key).st_mode) == 0o600
            # Its API answers (enrolment can go on), its operations endpoint to nobody: not over plain
            # HTTP, not without a certificate, not with the stand-in's own key (its root issued nothing).
            with ca_client(layout, tls_ca) as client:
                assert client.ca_info().ca_name == tls_ca.node_id
            assert _status(tls_ca.operations_port, None) == 400
            for context in (_unverified(), _unverified(stand_in.tls_cert, stand_in.tls_key)):
                with pytest.raises((ssl.SSLError, urllib.error.URLError, ConnectionError)):
                    _status(tls_ca.operations_port, context)
            first_pid = running_pid(layout.ca_server_home(tls_ca) / "ca.pid")

            ca_operations.secure(network, network.runtime, org)
            network.runtime.start([tls_ca, org.ca])
            assert running_pid(layout.ca_server_home(tls_ca) / "ca.pid") not in (None, first_pid)
            tls_root = x509.load_pem_x509_certificate(layout.ca_server_root(tls_ca).read_bytes())
            client = layout.operations_client(org)
            for ca in (tls_ca, org.ca):
                served = x509.load_pem_x509_certificate(layout.ca_operations(ca).tls_cert.read_bytes())
                assert served.issuer == tls_root.subject and ca_operations.issued(layout, ca)
                assert ca_operations.healthz(layout, ca), ca.node_id
                # Verified against the TLS root, so the endpoint presents the issued certificate.
                context = ssl.create_default_context(cafile=str(client.tls_ca))
                context.load_cert_chain(str(client.tls_cert), str(client.tls_key))
                assert _status(ca.operations_port, context) == 200
        finally:
            network.runtime.stop([org.ca, tls_ca])
