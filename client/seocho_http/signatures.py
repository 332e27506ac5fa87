"""Checking a resident's signature before the service passes it on.

The service verifies what the peer will verify, so a bad signature is a clear 400 here and never reaches
the ledger: ECDSA-SHA256 over the very bytes handed out, DER-encoded, low S, by the key of the
certificate in the proposal's creator.
"""

from __future__ import annotations

from cryptography import x509
from embedded_ledger.membership import IdentityError, verify_signature
from fabric_protos.msp import identities_pb2
from google.protobuf.message import DecodeError

from seocho_http.problems import Problem


def creator_of(msp_id: str, certificate_pem: str) -> bytes:
    """Fabric's creator bytes for a certificate, after checking that it parses."""
    try:
        x509.load_pem_x509_certificate(certificate_pem.encode())
    except ValueError:
        raise Problem("bad_request", "the certificate is not a PEM X.509 certificate") from None
    return identities_pb2.SerializedIdentity(
        mspid=msp_id, id_bytes=certificate_pem.encode()
    ).SerializeToString()


def check_signature(creator: bytes, message: bytes, signature: bytes) -> None:
    """`Problem("bad_signature")` unless `signature` is the creator's low-S signature of `message`."""
    try:
        identity = identities_pb2.SerializedIdentity.FromString(creator)
        certificate = x509.load_pem_x509_certificate(identity.id_bytes)
        verify_signature(certificate, message, signature)
    except (DecodeError, ValueError, IdentityError):
        raise Problem(
            "bad_signature",
            "the signature is not a low-S ECDSA-SHA256 signature of these bytes by the certificate's key",
        ) from None
