"""ECDSA signatures in the form Fabric accepts: SHA-256 digest, DER encoding, low-S."""

from __future__ import annotations

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

# Group orders of the curves Fabric's crypto provider supports. Fabric rejects a signature whose S is
# above half the order (the other of the two valid S values), so signatures are normalised to low-S.
_CURVE_ORDERS: dict[str, int] = {
    "secp256r1": 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551,
    "secp384r1": int(
        "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF581A0DB248B0A77AECEC196ACCC52973", 16
    ),
}


def curve_order(curve: ec.EllipticCurve) -> int:
    """The group order of ``curve``; raises ValueError for curves Fabric does not support."""
    try:
        return _CURVE_ORDERS[curve.name]
    except KeyError:
        raise ValueError(f"unsupported elliptic curve {curve.name!r}; Fabric uses P-256 or P-384") from None


def sign_low_s(private_key: ec.EllipticCurvePrivateKey, message: bytes) -> bytes:
    """Signs SHA-256(``message``) and returns the DER signature with S in the lower half of the order."""
    der = private_key.sign(message, ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    order = curve_order(private_key.curve)
    if s > order // 2:
        return encode_dss_signature(r, order - s)
    return der


def is_low_s(signature: bytes, curve: ec.EllipticCurve) -> bool:
    """Whether a DER ECDSA signature's S lies in the lower half of the curve order."""
    _, s = decode_dss_signature(signature)
    return s <= curve_order(curve) // 2
