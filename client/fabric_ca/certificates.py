"""Certificate signing requests and what Fabric CA puts into the certificates it issues."""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

#: The certificate extension in which Fabric CA records an identity's attributes, as JSON
#: ``{"attrs": {"name": "value", ...}}``.
ATTRIBUTES_OID = x509.ObjectIdentifier("1.2.3.4.5.6.7.8.1")


def generate_private_key() -> ec.EllipticCurvePrivateKey:
    """A new P-256 private key, the curve Fabric uses by default."""
    return ec.generate_private_key(ec.SECP256R1())


def build_csr(common_name: str, private_key: ec.EllipticCurvePrivateKey, hosts: Iterable[str] = ()) -> bytes:
    """A PEM certificate signing request for ``common_name``.

    Fabric CA refuses a CSR whose common name differs from the enrollment ID, so callers pass the ID.
    ``hosts`` become subject alternative names: IP addresses as IP entries, anything else as DNS names.
    """
    builder = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    )
    names = [_general_name(host) for host in hosts]
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    csr = builder.sign(private_key, hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.PEM)


def _general_name(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def common_name(certificate: x509.Certificate) -> str:
    """The subject common name, which for a Fabric CA certificate is the enrollment ID."""
    values = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if not values:
        raise ValueError("certificate has no subject common name")
    value = values[0].value
    return value if isinstance(value, str) else value.decode("utf-8")


def certificate_attributes(certificate: x509.Certificate) -> dict[str, str]:
    """The attributes Fabric CA put into ``certificate``; empty when it carries none."""
    try:
        extension = certificate.extensions.get_extension_for_oid(ATTRIBUTES_OID)
    except x509.ExtensionNotFound:
        return {}
    raw = extension.value
    assert isinstance(raw, x509.UnrecognizedExtension)
    document = json.loads(raw.value)
    attributes = document.get("attrs", {}) if isinstance(document, dict) else {}
    return {str(name): str(value) for name, value in attributes.items()}


def serial_hex(certificate: x509.Certificate) -> str:
    """The serial number as Fabric CA writes it in revocation requests: lower-case hex, no leading zeros."""
    return format(certificate.serial_number, "x")


def authority_key_id_hex(certificate: x509.Certificate) -> str:
    """The authority key identifier as lower-case hex; raises ValueError when the certificate has none."""
    try:
        extension = certificate.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier)
    except x509.ExtensionNotFound:
        raise ValueError("certificate has no authority key identifier") from None
    key_identifier = extension.value.key_identifier
    if key_identifier is None:
        raise ValueError("certificate's authority key identifier holds no key identifier")
    return key_identifier.hex()


def split_pem_certificates(pem: bytes) -> list[x509.Certificate]:
    """Every certificate in a PEM bundle, in order."""
    return x509.load_pem_x509_certificates(pem) if pem.strip() else []


def is_self_signed(certificate: x509.Certificate) -> bool:
    """Whether ``certificate`` is a root: its issuer is its subject."""
    return certificate.issuer == certificate.subject
