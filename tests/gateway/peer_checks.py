"""Checks a peer makes on every signed request, shared by the Gateway and Deliver doubles."""

from __future__ import annotations

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from fabric_protos.msp import identities_pb2

_HALF_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551 // 2


class Refused(Exception):
    """A request a peer would refuse; the message is what the peer says."""


def verify_signature(creator: bytes, message: bytes, signature: bytes) -> identities_pb2.SerializedIdentity:
    """The creator, once `signature` is its valid low-S signature of `message`; else `Refused`."""
    try:
        identity = identities_pb2.SerializedIdentity.FromString(creator)
        public_key = x509.load_pem_x509_certificate(identity.id_bytes).public_key()
    except ValueError:
        raise Refused("access denied: the creator is not a valid identity") from None
    assert isinstance(public_key, ec.EllipticCurvePublicKey)
    try:
        public_key.verify(signature, message, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError):
        raise Refused("access denied: the creator's signature is invalid") from None
    if decode_dss_signature(signature)[1] > _HALF_ORDER:
        raise Refused("access denied: signature is not in low-S form")
    return identity
