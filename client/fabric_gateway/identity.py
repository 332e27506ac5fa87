"""Client identity: the MSP id and X.509 certificate a Fabric peer knows the client by."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from fabric_protos.msp import identities_pb2

from fabric_gateway.signing import Signer, load_private_key, new_private_key_signer


@dataclass(frozen=True)
class X509Identity:
    """An identity presented as `msp.SerializedIdentity{mspid, id_bytes = PEM certificate}`.

    Attributes:
        msp_id: The member service provider (organisation) the certificate belongs to.
        certificate_pem: The client's certificate, PEM.
    """

    msp_id: str
    certificate_pem: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if isinstance(self.certificate_pem, str):
            object.__setattr__(self, "certificate_pem", self.certificate_pem.encode())
        if not self.msp_id:
            raise ValueError("an identity needs an MSP id")
        x509.load_pem_x509_certificate(self.certificate_pem)  # fail now on a malformed certificate

    @property
    def certificate(self) -> x509.Certificate:
        """The parsed certificate."""
        return x509.load_pem_x509_certificate(self.certificate_pem)

    def serialize(self) -> bytes:
        """The creator bytes Fabric puts in signature headers and requests."""
        return identities_pb2.SerializedIdentity(
            mspid=self.msp_id, id_bytes=self.certificate_pem
        ).SerializeToString()

    @classmethod
    def from_pem_file(cls, msp_id: str, certificate_path: str | os.PathLike[str]) -> X509Identity:
        """The identity whose certificate is in the PEM file at `certificate_path`."""
        return cls(msp_id, Path(certificate_path).read_bytes())


def load_msp_directory(
    msp_id: str, directory: str | os.PathLike[str], *, password: bytes | None = None
) -> tuple[X509Identity, Signer]:
    """The identity and a signer for the MSP directory `directory` (``signcerts/`` and ``keystore/``).

    Accepts the layout of Fabric CA, cryptogen and `fabric_ca.Enrollment.write_msp`: exactly one
    certificate in ``signcerts/``; in ``keystore/`` the file ending in ``_sk``, or the only file.
    """
    root = Path(directory)
    certificate_pem = _single_file(root / "signcerts", suffix=".pem").read_bytes()
    key_pem = _single_file(root / "keystore", suffix="_sk").read_bytes()
    identity = X509Identity(msp_id, certificate_pem)
    key = load_private_key(key_pem, password)
    if key.public_key() != identity.certificate.public_key():
        raise ValueError(f"the key in {root / 'keystore'} does not belong to the certificate")
    return identity, new_private_key_signer(key)


def _single_file(directory: Path, *, suffix: str) -> Path:
    files = sorted(p for p in directory.iterdir() if p.is_file() and not p.name.startswith("."))
    preferred = [p for p in files if p.name.endswith(suffix)] or files
    if len(preferred) != 1:
        raise ValueError(f"expected exactly one file in {directory}, found {len(preferred)}")
    return preferred[0]
