"""Signing: a `Signer` turns a digest into a signature; a `Hash` turns a message into that digest.

Keeping the two apart is what makes offline signing and hardware keys possible: the client computes
the digest of a proposal, transaction or request, and anything that can sign 32 (or 48) bytes —
a local key, an HSM, a resident's phone — produces the signature.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    Prehashed,
    decode_dss_signature,
    encode_dss_signature,
)

Signer = Callable[[bytes], bytes]
"""Signs a digest and returns the signature (for ECDSA: DER-encoded, low-S)."""

Hash = Callable[[bytes], bytes]
"""Computes the digest of a message that a `Signer` then signs."""

# Fabric's crypto rejects the high-S form of an ECDSA signature (both S and n-S verify), so signers
# must emit S <= n/2. Group orders of the curves Fabric supports:
_CURVE_ORDERS: dict[str, int] = {
    "secp256r1": 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551,
    "secp384r1": int(
        "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF581A0DB248B0A77AECEC196ACCC52973", 16
    ),
}


def sha256(message: bytes) -> bytes:
    """SHA-256, the digest Fabric peers verify against by default."""
    return hashlib.sha256(message).digest()


def sha384(message: bytes) -> bytes:
    """SHA-384, for P-384 keys whose MSP is configured for it."""
    return hashlib.sha384(message).digest()


def none(message: bytes) -> bytes:
    """No hashing: the signer receives the whole message (for signers that hash it themselves)."""
    return message


def curve_order(curve: ec.EllipticCurve) -> int:
    """The group order of `curve`; `ValueError` for curves Fabric does not support."""
    try:
        return _CURVE_ORDERS[curve.name]
    except KeyError:
        raise ValueError(f"unsupported elliptic curve {curve.name!r}; Fabric uses P-256 or P-384") from None


def to_low_s(signature: bytes, curve: ec.EllipticCurve) -> bytes:
    """The low-S form of a DER ECDSA signature (unchanged when already low-S)."""
    r, s = decode_dss_signature(signature)
    order = curve_order(curve)
    if s > order // 2:
        return encode_dss_signature(r, order - s)
    return signature


def sign_low_s(private_key: ec.EllipticCurvePrivateKey, message: bytes) -> bytes:
    """ECDSA over SHA-256(`message`) with a P-256 or P-384 key, DER-encoded, low-S: what Fabric verifies."""
    return to_low_s(private_key.sign(message, ec.ECDSA(hashes.SHA256())), private_key.curve)


def is_low_s(signature: bytes, curve: ec.EllipticCurve) -> bool:
    """Whether the S of a DER ECDSA signature lies in the lower half of the curve's order."""
    _, s = decode_dss_signature(signature)
    return s <= curve_order(curve) // 2


_PREHASH_BY_LENGTH: dict[int, hashes.HashAlgorithm] = {32: hashes.SHA256(), 48: hashes.SHA384()}


def new_private_key_signer(private_key: ec.EllipticCurvePrivateKey) -> Signer:
    """A signer over a P-256 or P-384 private key; it signs 32- or 48-byte digests, low-S.

    Pair it with `sha256` (the default) or `sha384`; `none` does not fit an ECDSA key.
    """
    if not isinstance(private_key, ec.EllipticCurvePrivateKey):
        raise TypeError("Fabric signing keys are elliptic-curve keys")
    curve = private_key.curve
    curve_order(curve)  # refuse unsupported curves now rather than at the first signature

    def sign(digest: bytes) -> bytes:
        algorithm = _PREHASH_BY_LENGTH.get(len(digest))
        if algorithm is None:
            raise ValueError(f"an ECDSA signer needs a SHA-256 or SHA-384 digest, got {len(digest)} bytes")
        der = private_key.sign(digest, ec.ECDSA(Prehashed(algorithm)))
        return to_low_s(der, curve)

    return sign


def load_private_key(pem: bytes, password: bytes | None = None) -> ec.EllipticCurvePrivateKey:
    """Load a PEM private key (PKCS#8 or SEC1), checking it is an elliptic-curve key."""
    key = serialization.load_pem_private_key(pem, password=password)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError("the private key is not an elliptic-curve key")
    return key


def load_signer_from_file(path: str | os.PathLike[str], password: bytes | None = None) -> Signer:
    """A signer over the PEM private key stored at `path`."""
    with open(path, "rb") as stream:
        return new_private_key_signer(load_private_key(stream.read(), password))
