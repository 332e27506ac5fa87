"""The wallet's enrolment relayed by the HTTP service to a real fabric-ca-server (TLS, 127.0.0.1): the
resident's key stays with the resident, the CA's registration secret is the one-time secret, and every
refusal is a problem detail that leaves nothing logged of the secret or the request."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from ca_server import RunningCA
from certificate_requests import request_for
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from fabric_ca import Attribute, CAClient, Enrollment, RegistrationRequest, certificate_attributes
from fastapi.testclient import TestClient
from loopback_ports import free_port
from seocho.backend import open_embedded_ledger
from seocho.profile import CAEndpoint
from seocho_http import ServiceConfig, create_app
from seocho_http.enrolment_relay import FabricCARelay
from seocho_http.upstream import EmbeddedUpstream

pytestmark = pytest.mark.fabric
DISTRICT = "SeochoDistrictMSP"


def member_id() -> str:
    return f"S-{uuid.uuid4().int % 10**12:012d}"


def register_member(fabric_ca: RunningCA, registrar: Enrollment, name: str) -> str:
    """What the district's registrar does (`seocho ca register`): one enrolment, the member's role."""
    request = RegistrationRequest(
        name, "client", attributes=[Attribute("seocho.role", "member", ecert=True)], max_enrollments=1
    )
    with CAClient(fabric_ca.url, fabric_ca.tls_root_pem, timeout=10) as ca:
        return ca.register(registrar, request)


def service_with(endpoint: CAEndpoint, tmp_path: Path) -> Iterator[TestClient]:
    upstream = EmbeddedUpstream(open_embedded_ledger(None), ca_relay=FabricCARelay({DISTRICT: endpoint}))
    app = create_app(upstream, ServiceConfig(state_dir=tmp_path / "state"))
    with TestClient(app, base_url="http://127.0.0.1") as client:
        yield client


@pytest.fixture
def relayed(fabric_ca: RunningCA, tmp_path: Path) -> Iterator[TestClient]:
    root = tmp_path / "ca-tls-root.pem"
    root.write_bytes(fabric_ca.tls_root_pem)
    yield from service_with(CAEndpoint(DISTRICT, fabric_ca.url, root), tmp_path)


def test_the_ca_certifies_the_residents_own_key_once_with_its_registration_secret(
    relayed: TestClient, fabric_ca: RunningCA, bootstrap_admin: Enrollment, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    name = member_id()
    secret = register_member(fabric_ca, bootstrap_admin, name)
    key = ec.generate_private_key(ec.SECP256R1())
    body = {"msp_id": DISTRICT, "enrollment_id": name, "secret": secret, "csr": request_for(name, key)}

    wrong = relayed.post("/v1/enrolments", json={**body, "secret": "guess"})
    assert wrong.status_code == 401 and wrong.json()["code"] == "bad_secret", wrong.text
    enrolled = relayed.post("/v1/enrolments", json=body)
    assert enrolled.status_code == 201, enrolled.text
    certificate = x509.load_pem_x509_certificate(enrolled.json()["certificate"].encode())
    assert certificate.public_key().public_numbers() == key.public_key().public_numbers()
    certificate.verify_directly_issued_by(x509.load_pem_x509_certificate(fabric_ca.tls_root_pem))
    assert certificate_attributes(certificate)["seocho.role"] == "member"
    assert certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == name

    again = relayed.post("/v1/enrolments", json=body)  # max_enrollments 1: the secret is spent
    assert again.status_code == 401 and again.json()["code"] == "bad_secret"
    assert "used already" in again.json()["detail"]
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert secret not in logged and "CERTIFICATE REQUEST" not in logged and "guess" not in logged


def test_a_request_for_another_name_or_msp_is_refused_before_the_ca_and_keeps_the_secret(
    relayed: TestClient, fabric_ca: RunningCA, bootstrap_admin: Enrollment
) -> None:
    name = member_id()
    secret = register_member(fabric_ca, bootstrap_admin, name)
    key = ec.generate_private_key(ec.SECP256R1())
    body = {"msp_id": DISTRICT, "enrollment_id": name, "secret": secret}
    other_name = relayed.post("/v1/enrolments", json={**body, "csr": request_for("S-9", key)})
    assert other_name.status_code == 400 and other_name.json()["code"] == "bad_request"
    other_msp = relayed.post(
        "/v1/enrolments", json={**body, "msp_id": "PartnersMSP", "csr": request_for(name, key)}
    )
    assert other_msp.status_code == 400 and DISTRICT in other_msp.json()["detail"]
    good = relayed.post("/v1/enrolments", json={**body, "csr": request_for(name, key)})
    assert good.status_code == 201, good.text


def test_a_ca_that_does_not_answer_is_a_503_and_the_secret_still_enrols_later(
    fabric_ca: RunningCA, bootstrap_admin: Enrollment, tmp_path: Path, relayed: TestClient
) -> None:
    root = tmp_path / "root.pem"
    root.write_bytes(fabric_ca.tls_root_pem)
    name = member_id()
    secret = register_member(fabric_ca, bootstrap_admin, name)
    body = {"msp_id": DISTRICT, "enrollment_id": name, "secret": secret,
            "csr": request_for(name, ec.generate_private_key(ec.SECP256R1()))}  # fmt: skip
    nobody = CAEndpoint(DISTRICT, f"https://127.0.0.1:{free_port()}", root)  # nothing listens there
    for client in service_with(nobody, tmp_path / "down"):
        down = client.post("/v1/enrolments", json=body, headers={"Accept-Language": "en"})
        assert down.status_code == 503, down.text
        assert down.json()["code"] == "ca_unavailable" and "does not answer" in down.json()["detail"]
        assert down.json()["title"] == "The district's certificate authority does not answer"
    assert relayed.post("/v1/enrolments", json=body).status_code == 201


def test_tls_to_the_ca_is_verified_an_unrelated_root_is_a_503(
    fabric_ca: RunningCA, unrelated_root_pem: bytes, tmp_path: Path
) -> None:
    root = tmp_path / "unrelated.pem"
    root.write_bytes(unrelated_root_pem)
    name = member_id()
    body = {"msp_id": DISTRICT, "enrollment_id": name, "secret": "anything",
            "csr": request_for(name, ec.generate_private_key(ec.SECP256R1()))}  # fmt: skip
    for client in service_with(CAEndpoint(DISTRICT, fabric_ca.url, root), tmp_path):
        refused = client.post("/v1/enrolments", json=body)
        assert refused.status_code == 503 and refused.json()["code"] == "ca_unavailable"
        assert "trusts" in refused.json()["detail"]


def test_the_relay_speaks_only_https_to_a_ca(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="https"):
        FabricCARelay({DISTRICT: CAEndpoint(DISTRICT, "http://127.0.0.1:7054", tmp_path / "root.pem")})


def test_enroll_csr_certifies_a_key_the_client_never_holds(
    ca_client: CAClient, fabric_ca: RunningCA, bootstrap_admin: Enrollment
) -> None:
    name = member_id()
    secret = register_member(fabric_ca, bootstrap_admin, name)
    key = ec.generate_private_key(ec.SECP256R1())
    issued = ca_client.enroll_csr(name, secret, request_for(name, key).encode())
    certificate = x509.load_pem_x509_certificate(issued.certificate_pem)
    assert certificate.public_key().public_numbers() == key.public_key().public_numbers()
    assert issued.ca_chain_pem.strip() == fabric_ca.tls_root_pem.strip()
    with pytest.raises(ValueError):
        ca_client.enroll_csr(name, secret, "not a request")
