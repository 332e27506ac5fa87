"""The Fabric CA client against a real fabric-ca-server (TLS, 127.0.0.1)."""

from __future__ import annotations

import ssl
import stat
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from fabric_ca import (
    Attribute,
    AttributeRequest,
    CAClient,
    CAError,
    Enrollment,
    RegistrationRequest,
    load_msp,
)

if TYPE_CHECKING:
    from ca_server import RunningCA

pytestmark = pytest.mark.fabric

# The bootstrap identity the session's server is started with (see ca_server.py).
BOOTSTRAP_ID, BOOTSTRAP_SECRET = "admin", "adminpw"

MEMBER_ATTRIBUTES = [Attribute("app.role", "member"), Attribute("app.member", "M-1")]


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def _register(ca: CAClient, registrar: Enrollment, name: str, secret: str | None = None) -> str:
    return ca.register(registrar, RegistrationRequest(name, attributes=MEMBER_ATTRIBUTES, secret=secret))


def test_bootstrap_admin_enrolls_with_a_p256_certificate_issued_by_the_ca(
    ca_client: CAClient, fabric_ca: RunningCA
) -> None:
    admin = ca_client.enroll(BOOTSTRAP_ID, BOOTSTRAP_SECRET)

    assert admin.enrollment_id == BOOTSTRAP_ID
    assert isinstance(admin.private_key.curve, ec.SECP256R1)
    ca_certificate = x509.load_pem_x509_certificate(fabric_ca.tls_root_pem)
    assert admin.ca_chain_pem.strip() == fabric_ca.tls_root_pem.strip()
    admin.certificate.verify_directly_issued_by(ca_certificate)


def test_registered_user_enrolls_and_its_certificate_carries_the_ecert_attributes(
    ca_client: CAClient, bootstrap_admin: Enrollment
) -> None:
    name = _unique("user")
    secret = _register(ca_client, bootstrap_admin, name)

    user = ca_client.enroll(name, secret)

    assert user.enrollment_id == name
    assert user.attributes["app.role"] == "member"
    assert user.attributes["app.member"] == "M-1"
    # Fabric CA adds these to every registered identity's certificates.
    assert user.attributes["hf.EnrollmentID"] == name
    assert user.attributes["hf.Type"] == "client"


def test_attribute_requests_limit_the_certificate_to_the_requested_attributes(
    ca_client: CAClient, bootstrap_admin: Enrollment
) -> None:
    name = _unique("user")
    secret = _register(ca_client, bootstrap_admin, name)

    user = ca_client.enroll(name, secret, attr_reqs=[AttributeRequest("app.role")])

    assert user.attributes == {"app.role": "member"}


def test_required_attribute_the_identity_lacks_is_refused(
    ca_client: CAClient, bootstrap_admin: Enrollment
) -> None:
    name = _unique("user")
    secret = _register(ca_client, bootstrap_admin, name)

    with pytest.raises(CAError) as refused:
        ca_client.enroll(name, secret, attr_reqs=["app.missing"])
    assert refused.value.status >= 400


def test_server_generated_secret_and_chosen_secret_both_enroll(
    ca_client: CAClient, bootstrap_admin: Enrollment
) -> None:
    name = _unique("chosen")
    returned = _register(ca_client, bootstrap_admin, name, secret="chosen-secret-1")

    assert returned == "chosen-secret-1"
    assert ca_client.enroll(name, returned).enrollment_id == name


def test_enrollment_written_as_msp_directory_loads_back(
    ca_client: CAClient, bootstrap_admin: Enrollment, tmp_path: Path
) -> None:
    name = _unique("msp")
    user = ca_client.enroll(name, _register(ca_client, bootstrap_admin, name))

    msp = user.write_msp(tmp_path / "msp", tls_ca_pem=user.ca_chain_pem, node_ous=True)

    key_file = msp / "keystore" / "key_sk"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert (msp / "signcerts" / "cert.pem").read_bytes() == user.certificate_pem
    assert (msp / "cacerts" / "ca.pem").read_bytes().strip() == user.ca_chain_pem.strip()
    assert (msp / "tlscacerts" / "tlsca.pem").exists()
    assert "OrganizationalUnitIdentifier: client" in (msp / "config.yaml").read_text()
    loaded = load_msp(msp)
    assert loaded == user
    assert loaded.private_key.private_numbers() == user.private_key.private_numbers()


def test_reenroll_issues_a_new_certificate_with_a_new_key_for_the_same_identity(
    ca_client: CAClient, bootstrap_admin: Enrollment
) -> None:
    name = _unique("renew")
    first = ca_client.enroll(name, _register(ca_client, bootstrap_admin, name))

    renewed = ca_client.reenroll(first)

    assert renewed.enrollment_id == name
    assert renewed.serial_hex != first.serial_hex
    assert renewed.private_key.public_key() != first.private_key.public_key()
    assert renewed.attributes["app.member"] == "M-1"
    kept_key = ca_client.reenroll(renewed, key=renewed.private_key)
    assert kept_key.certificate.public_key() == renewed.certificate.public_key()


def test_revoked_identity_can_neither_enroll_nor_reenroll(
    ca_client: CAClient, bootstrap_admin: Enrollment
) -> None:
    name = _unique("revoked")
    secret = _register(ca_client, bootstrap_admin, name)
    user = ca_client.enroll(name, secret)

    result = ca_client.revoke(bootstrap_admin, name=name, reason="keycompromise", gencrl=True)

    assert user.serial_hex in {revoked.serial for revoked in result.revoked}
    assert result.crl_pem is not None
    crl = x509.load_pem_x509_crl(result.crl_pem)
    assert crl.get_revoked_certificate_by_serial_number(user.certificate.serial_number) is not None
    with pytest.raises(CAError):
        ca_client.enroll(name, secret)
    with pytest.raises(CAError):
        ca_client.reenroll(user)


def test_revoking_one_certificate_leaves_the_identitys_other_certificates_usable(
    ca_client: CAClient, bootstrap_admin: Enrollment
) -> None:
    name = _unique("onecert")
    secret = _register(ca_client, bootstrap_admin, name)
    revoked, kept = ca_client.enroll(name, secret), ca_client.enroll(name, secret)

    result = ca_client.revoke(bootstrap_admin, serial=revoked.serial_hex, aki=revoked.authority_key_id_hex)

    assert [entry.serial for entry in result.revoked] == [revoked.serial_hex]
    with pytest.raises(CAError):
        ca_client.reenroll(revoked)
    assert ca_client.reenroll(kept).enrollment_id == name


def test_wrong_secret_is_refused_as_unauthorized(ca_client: CAClient) -> None:
    with pytest.raises(CAError) as refused:
        ca_client.enroll(BOOTSTRAP_ID, "not-the-password")

    assert refused.value.status == 401
    assert refused.value.errors and refused.value.messages[0]


def test_identity_without_registrar_rights_cannot_register(
    ca_client: CAClient, bootstrap_admin: Enrollment
) -> None:
    name = _unique("plain")
    plain = ca_client.enroll(name, _register(ca_client, bootstrap_admin, name))

    with pytest.raises(CAError) as refused:
        ca_client.register(plain, RegistrationRequest(_unique("other")))
    assert refused.value.status in (401, 403)


def test_server_certificate_not_signed_by_the_given_root_fails_tls(
    fabric_ca: RunningCA, unrelated_root_pem: bytes
) -> None:
    with CAClient(fabric_ca.url, unrelated_root_pem, timeout=5) as client, pytest.raises(ssl.SSLError):
        client.enroll(BOOTSTRAP_ID, BOOTSTRAP_SECRET)


def test_ca_info_reports_the_ca_chain(ca_client: CAClient, fabric_ca: RunningCA) -> None:
    info = ca_client.ca_info()

    assert info.ca_chain_pem.strip() == fabric_ca.tls_root_pem.strip()
    assert info.version
