"""Enrolment: the resident's own key, a certificate request, the registrar's one-time secret."""

from __future__ import annotations

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from flows import balance
from http_service import Served
from seocho.backend import EmbeddedBackend
from seocho.cast import client_id_of
from seocho.coin import Coin
from seocho_http.signatures import creator_of
from world import DISTRICT, Phone


def request_for(name: str, key: ec.EllipticCurvePrivateKey) -> str:
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .sign(key, hashes.SHA256())
    )
    return csr.public_bytes(serialization.Encoding.PEM).decode()


def test_a_resident_enrols_once_with_the_secret_then_signs_as_a_registered_member(served: Served) -> None:
    client = served.client
    secret = served.client.app.state.service.store.enrolment_secrets.issue("S-0042")  # type: ignore[attr-defined]
    key = ec.generate_private_key(ec.SECP256R1())
    body = {
        "msp_id": DISTRICT,
        "enrollment_id": "S-0042",
        "secret": secret,
        "csr": request_for("S-0042", key),
    }
    wrong = client.post("/v1/enrolments", json={**body, "secret": "guess"})
    assert wrong.status_code == 401 and wrong.json()["code"] == "bad_secret"
    enrolled = client.post("/v1/enrolments", json=body)
    assert enrolled.status_code == 201, enrolled.text
    certificate = x509.load_pem_x509_certificate(enrolled.json()["certificate"].encode())
    assert certificate.public_key().public_numbers() == key.public_key().public_numbers()
    assert client.post("/v1/enrolments", json=body).status_code == 401  # one time only
    phone = Phone("S-0042", DISTRICT, enrolled.json()["certificate"], key)
    client_id = client_id_of(creator_of(DISTRICT, phone.certificate_pem))
    registrar = served.world.ledger.identities.get("registrar")
    Coin(EmbeddedBackend(served.world.ledger, registrar)).register_member("S-0042", ["senior"], client_id)
    assert balance(client, phone) == 0


def test_a_request_signed_by_another_key_or_for_another_name_is_refused_and_keeps_the_secret(
    served: Served,
) -> None:
    client = served.client
    secret = served.client.app.state.service.store.enrolment_secrets.issue("S-0043")  # type: ignore[attr-defined]
    key = ec.generate_private_key(ec.SECP256R1())
    body = {"msp_id": DISTRICT, "enrollment_id": "S-0043", "secret": secret}
    other_name = client.post("/v1/enrolments", json={**body, "csr": request_for("S-9999", key)})
    assert other_name.status_code == 400
    good = client.post("/v1/enrolments", json={**body, "csr": request_for("S-0043", key)})
    assert good.status_code == 201
