"""Fabric CA client behaviour that needs no CA server: tokens, signatures, CSRs, certificates, MSPs."""

from __future__ import annotations

import base64
import contextlib
import json
import stat
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from cryptography.x509.oid import NameOID
from fabric_ca import (
    ATTRIBUTES_OID,
    CAClient,
    CAConnectionError,
    CAError,
    Enrollment,
    certificate_attributes,
    create_auth_token,
    load_msp,
)
from fabric_ca.certificates import build_csr
from fabric_gateway.signing import is_low_s, sign_low_s
from hypothesis import given, settings
from hypothesis import strategies as st
from loopback_ports import free_port

KEY = ec.generate_private_key(ec.SECP256R1())


def _issue(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: tuple[str, ec.EllipticCurvePrivateKey] | None = None,
    attributes: dict[str, str] | None = None,
) -> bytes:
    """A certificate for ``subject``; self-signed unless an (issuer name, issuer key) is given."""
    issuer_name, issuer_key = issuer or (subject, key)
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer_name)]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False
        )
    )
    if attributes is not None:
        document = json.dumps({"attrs": attributes}).encode()
        builder = builder.add_extension(x509.UnrecognizedExtension(ATTRIBUTES_OID, document), critical=False)
    return builder.sign(issuer_key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def _r_and_negated_s(signature: bytes) -> tuple[int, int]:
    r, s = decode_dss_signature(signature)
    return r, P256_ORDER - s


@settings(max_examples=40, deadline=None)
@given(st.binary(max_size=512))
def test_signatures_verify_and_are_always_low_s(message: bytes) -> None:
    signature = sign_low_s(KEY, message)

    KEY.public_key().verify(signature, message, ec.ECDSA(hashes.SHA256()))
    # The P-256 group order from SEC 2, not the module's constant, so a wrong constant cannot pass.
    assert decode_dss_signature(signature)[1] <= P256_ORDER // 2
    assert is_low_s(signature, KEY.curve)
    assert not is_low_s(encode_dss_signature(*_r_and_negated_s(signature)), KEY.curve)


@settings(max_examples=25, deadline=None)
@given(
    method=st.sampled_from(["POST", "GET", "PUT", "DELETE"]),
    uri=st.text(min_size=1, max_size=40),
    body=st.binary(max_size=256),
)
def test_auth_token_is_the_certificate_and_a_signature_over_method_uri_body_and_certificate(
    method: str, uri: str, body: bytes
) -> None:
    certificate_pem = _issue("signer", KEY)
    token = create_auth_token(certificate_pem, KEY, method, uri, body)

    encoded_certificate, encoded_signature = token.split(".")

    assert base64.b64decode(encoded_certificate) == certificate_pem
    b64 = lambda data: base64.b64encode(data).decode()  # noqa: E731
    signed = f"{method}.{b64(uri.encode())}.{b64(body)}.{encoded_certificate}".encode()
    KEY.public_key().verify(base64.b64decode(encoded_signature), signed, ec.ECDSA(hashes.SHA256()))


def test_csr_names_the_enrollment_id_and_puts_ips_and_dns_names_in_the_alternative_names() -> None:
    csr = x509.load_pem_x509_csr(build_csr("peer0", KEY, ["127.0.0.1", "::1", "peer0.example.org"]))

    assert csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "peer0"
    names = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(ip) for ip in names.get_values_for_type(x509.IPAddress)] == ["127.0.0.1", "::1"]
    assert names.get_values_for_type(x509.DNSName) == ["peer0.example.org"]
    assert csr.is_signature_valid


@settings(max_examples=25, deadline=None)
@given(st.dictionaries(st.text(min_size=1, max_size=20), st.text(max_size=40), max_size=5))
def test_certificate_attributes_read_back_what_the_extension_holds(attributes: dict[str, str]) -> None:
    certificate = x509.load_pem_x509_certificate(_issue("user", KEY, attributes=attributes))

    assert certificate_attributes(certificate) == attributes


def test_certificate_without_the_extension_has_no_attributes() -> None:
    assert certificate_attributes(x509.load_pem_x509_certificate(_issue("user", KEY))) == {}


@pytest.fixture
def chained_enrollment() -> Enrollment:
    root_key, intermediate_key, user_key = (ec.generate_private_key(ec.SECP256R1()) for _ in range(3))
    root = _issue("root", root_key)
    intermediate = _issue("intermediate", intermediate_key, issuer=("root", root_key))
    user = _issue("user", user_key, issuer=("intermediate", intermediate_key), attributes={"a": "1"})
    return Enrollment(user, user_key, intermediate + root)


def test_msp_directory_round_trips_and_splits_roots_from_intermediates(
    chained_enrollment: Enrollment, tmp_path: Path
) -> None:
    msp = chained_enrollment.write_msp(tmp_path / "msp")

    assert stat.S_IMODE((msp / "keystore" / "key_sk").stat().st_mode) == 0o600
    assert stat.S_IMODE((msp / "keystore").stat().st_mode) == 0o700
    roots = x509.load_pem_x509_certificates((msp / "cacerts" / "ca.pem").read_bytes())
    intermediate_file = msp / "intermediatecerts" / "intermediate.pem"
    intermediates = x509.load_pem_x509_certificates(intermediate_file.read_bytes())
    assert [c.subject.rfc4514_string() for c in roots] == ["CN=root"]
    assert [c.subject.rfc4514_string() for c in intermediates] == ["CN=intermediate"]
    assert not (msp / "config.yaml").exists()
    assert load_msp(msp) == chained_enrollment
    assert load_msp(msp).attributes == {"a": "1"}


def test_rewriting_an_msp_keeps_the_key_private(chained_enrollment: Enrollment, tmp_path: Path) -> None:
    key_file = tmp_path / "msp" / "keystore" / "key_sk"
    chained_enrollment.write_msp(tmp_path / "msp")
    key_file.chmod(0o644)

    chained_enrollment.write_msp(tmp_path / "msp")

    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_msp_written_by_other_tools_with_a_key_named_by_its_ski_loads(
    chained_enrollment: Enrollment, tmp_path: Path
) -> None:
    msp = chained_enrollment.write_msp(tmp_path / "msp")
    (msp / "keystore" / "key_sk").rename(msp / "keystore" / "0a1b2c_sk")

    assert load_msp(msp) == chained_enrollment


def test_enrollment_refuses_a_key_that_does_not_belong_to_the_certificate() -> None:
    with pytest.raises(ValueError, match="does not belong"):
        Enrollment(_issue("user", KEY), ec.generate_private_key(ec.SECP256R1()), b"")


def test_enrollment_repr_shows_no_key_material() -> None:
    text = repr(Enrollment(_issue("user", KEY), KEY, b""))

    assert "user" in text
    assert "BEGIN" not in text


def test_unreachable_server_raises_a_connection_error() -> None:
    with CAClient(f"http://127.0.0.1:{free_port()}", timeout=2) as client, pytest.raises(CAConnectionError):
        client.ca_info()


class _NotFabricCA(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(502)
        self.end_headers()
        self.wfile.write(b"<html>bad gateway</html>")

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """The URL of an HTTP server on 127.0.0.1 that answers with `handler` (bound by the server itself)."""
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def not_a_ca_url() -> Iterator[str]:
    with serving(_NotFabricCA) as url:
        yield url


def test_a_reply_that_is_not_a_fabric_ca_envelope_is_a_ca_error_with_its_status(not_a_ca_url: str) -> None:
    with CAClient(not_a_ca_url, timeout=2) as client, pytest.raises(CAError) as refused:
        client.ca_info()

    assert refused.value.status == 502


def test_https_url_needs_a_tls_root() -> None:
    with pytest.raises(ValueError, match="TLS"):
        CAClient("https://127.0.0.1:7054")


def test_closed_client_refuses_requests() -> None:
    client = CAClient("http://127.0.0.1:1")
    client.close()

    with pytest.raises(RuntimeError, match="closed"):
        client.ca_info()


def test_revoke_needs_a_name_or_a_serial_and_aki() -> None:
    enrollment = Enrollment(_issue("user", KEY), KEY, b"")
    with CAClient("http://127.0.0.1:1") as client, pytest.raises(ValueError, match="serial and aki"):
        client.revoke(enrollment, serial="1f")


def _succeeding_with(result: dict[str, object]) -> type[BaseHTTPRequestHandler]:
    """A CA that answers every enroll with success and `result` (Fabric CA's envelope around it)."""

    class SucceedingCA(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            body = json.dumps({"success": True, "result": result, "errors": [], "messages": []})
            self.send_response(201)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, format: str, *args: object) -> None:
            pass

    return SucceedingCA


def test_a_success_without_a_certificate_is_a_ca_error() -> None:
    with (
        serving(_succeeding_with({"Cert": "not base64!"})) as url,
        CAClient(url, timeout=2) as client,
        pytest.raises(CAError, match="without a usable certificate"),
    ):
        client.enroll("user1", "secret")


def test_enroll_csr_refuses_a_certificate_for_another_key_than_the_requests() -> None:
    request = build_csr("user1", KEY, []).decode("ascii")
    # A good certificate, but for a key of the CA's own, not the request's.
    certificate = base64.b64encode(_issue("user1", ec.generate_private_key(ec.SECP256R1()))).decode()
    with (
        serving(_succeeding_with({"Cert": certificate, "ServerInfo": {"CAChain": ""}})) as url,
        CAClient(url, timeout=2) as client,
        pytest.raises(CAError, match="certified another key than the request's"),
    ):
        client.enroll_csr("user1", "secret", request)
