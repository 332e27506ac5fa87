"""Channel membership: which creators the ledger accepts, and whether they signed what they sent.

As a Fabric peer's MSP does, a creator (`msp.SerializedIdentity`) is accepted when its certificate
was issued by a trusted root of its MSP, is not itself a CA, and is within its validity period; its
signature must be a valid ECDSA signature over SHA-256 of the message, in low-S form (Fabric's
`bccsp/sw/ecdsa.go` refuses high-S, and hashes with SHA-256 for P-256 and P-384 keys alike).

The roots of an MSP are the ledger's local CA of that MSP (when one was created by enrolling an
identity) plus roots added with `trust_root`, e.g. a real Fabric CA's, kept in the ledger's store.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fabric_gateway.signing import is_low_s
from fabric_protos.msp import identities_pb2
from google.protobuf.message import DecodeError

from embedded_ledger.proposal_validation import ProposalError
from embedded_ledger.store import LedgerStore

SUPPORTED_CURVES = frozenset({"secp256r1", "secp384r1"})


class IdentityError(ProposalError):
    """The creator is not a valid member of the channel, or its signature does not verify."""


@dataclass(frozen=True)
class Member:
    """A creator the channel accepted."""

    msp_id: str
    certificate: x509.Certificate


class ChannelMembership:
    """`ledger.membership`: the trusted roots of each MSP and the checks made with them."""

    def __init__(self, store: LedgerStore) -> None:
        self._store = store

    def roots(self, msp_id: str) -> list[x509.Certificate]:
        """The root certificates identities of `msp_id` must be issued by (empty: unknown MSP)."""
        pems = list(self._store.trusted_roots(msp_id))
        local_ca = self._store.get_ca_certificate(msp_id)
        if local_ca is not None:
            pems.insert(0, local_ca)
        return [_root_certificate(pem) for pem in pems]

    def trust_root(self, msp_id: str, ca_pem: str | bytes) -> None:
        """Also accept identities of `msp_id` issued by the CA certificate `ca_pem` (kept durably)."""
        if not msp_id:
            raise ValueError("an MSP id is required")
        data = ca_pem.encode() if isinstance(ca_pem, str) else ca_pem
        try:
            certificate = x509.load_pem_x509_certificate(data)
        except ValueError:
            raise ValueError("ca_pem is not a PEM certificate") from None
        if not _is_ca(certificate):
            raise ValueError("the certificate is not a CA certificate (basic constraints CA:FALSE)")
        if not isinstance(certificate.public_key(), ec.EllipticCurvePublicKey):
            raise ValueError("only ECDSA CA certificates are supported, as with Fabric's default BCCSP")
        pem = certificate.public_bytes(serialization.Encoding.PEM).decode()
        self._store.add_trusted_root(msp_id, pem)

    def validate(self, creator: bytes, *, now: datetime | None = None) -> Member:
        """The member `creator` is; `IdentityError` unless it chains to a root of its MSP and is
        valid at `now` (the ledger's clock, not the proposal's)."""
        try:
            identity = identities_pb2.SerializedIdentity.FromString(creator)
            certificate = x509.load_pem_x509_certificate(identity.id_bytes)
        except (DecodeError, ValueError):
            raise IdentityError("access denied: creator org unknown, creator is malformed") from None
        roots = self.roots(identity.mspid)
        if not roots:
            raise IdentityError(f"access denied: MSP {identity.mspid!r} is not a member of the channel")
        if _is_ca(certificate):
            raise IdentityError("access denied: a CA certificate cannot be used as an identity")
        if not any(_issued_by(certificate, root) for root in roots):
            raise IdentityError(
                "access denied: the creator's certificate was not issued by a trusted root of "
                + identity.mspid
            )
        moment = datetime.now(UTC) if now is None else now
        valid_from, valid_until = certificate.not_valid_before_utc, certificate.not_valid_after_utc
        if not valid_from <= moment <= valid_until:
            raise IdentityError(
                "access denied: the creator's certificate is not valid now (valid from "
                f"{valid_from.isoformat()} to {valid_until.isoformat()})"
            )
        return Member(identity.mspid, certificate)

    def verify(self, creator: bytes, message: bytes, signature: bytes) -> Member:
        """The member `creator` is, once `signature` is its valid low-S signature of `message`."""
        member = self.validate(creator)
        verify_signature(member.certificate, message, signature)
        return member


def verify_signature(certificate: x509.Certificate, message: bytes, signature: bytes) -> None:
    """`IdentityError` unless `signature` is a low-S ECDSA-SHA256 signature of `message` by the
    key of `certificate`."""
    public_key = certificate.public_key()
    if not isinstance(public_key, ec.EllipticCurvePublicKey) or public_key.curve.name not in SUPPORTED_CURVES:
        raise IdentityError("access denied: the creator's key is not a P-256 or P-384 ECDSA key")
    try:
        public_key.verify(signature, message, ec.ECDSA(hashes.SHA256()))
        low_s = is_low_s(signature, public_key.curve)
    except (InvalidSignature, ValueError):
        raise IdentityError("access denied: the creator's signature is invalid") from None
    if not low_s:
        raise IdentityError("access denied: invalid S, the signature is not in low-S form")


@functools.lru_cache(maxsize=64)
def _root_certificate(pem: str) -> x509.Certificate:
    # Roots are read from the store on every check (another process may add one); parse each once.
    return x509.load_pem_x509_certificate(pem.encode())


def _issued_by(certificate: x509.Certificate, root: x509.Certificate) -> bool:
    if certificate.issuer != root.subject:
        return False
    try:
        certificate.verify_directly_issued_by(root)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def _is_ca(certificate: x509.Certificate) -> bool:
    try:
        constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        return False
    return bool(constraints.ca)
