"""An enrolled identity: a certificate issued by Fabric CA and its private key."""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from .certificates import authority_key_id_hex, certificate_attributes, common_name, serial_hex
from .msp import MspFiles, read_msp_files, write_msp_files


@dataclass(frozen=True)
class Enrollment:
    """A certificate issued by a Fabric CA together with its private key and the CA's chain.

    Attributes:
        certificate_pem: The enrollment certificate, PEM.
        private_key: The certificate's private key.
        ca_chain_pem: The issuing CA's certificate chain, PEM.
    """

    certificate_pem: bytes = field(repr=False)
    # The key is bound to the certificate (checked below), so comparing certificates is enough.
    private_key: ec.EllipticCurvePrivateKey = field(repr=False, compare=False)
    ca_chain_pem: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.private_key, ec.EllipticCurvePrivateKey):
            raise TypeError("Fabric identities need an elliptic-curve private key")
        if self.private_key.public_key() != self.certificate.public_key():
            raise ValueError("the private key does not belong to the certificate")

    def __repr__(self) -> str:
        return f"Enrollment(enrollment_id={self.enrollment_id!r}, serial={self.serial_hex!r})"

    @functools.cached_property
    def certificate(self) -> x509.Certificate:
        """The parsed enrollment certificate."""
        return x509.load_pem_x509_certificate(self.certificate_pem)

    @property
    def enrollment_id(self) -> str:
        """The enrollment ID (the certificate's common name)."""
        return common_name(self.certificate)

    @property
    def attributes(self) -> dict[str, str]:
        """The attributes the CA put into the certificate (extension 1.2.3.4.5.6.7.8.1)."""
        return certificate_attributes(self.certificate)

    @property
    def serial_hex(self) -> str:
        """The certificate serial number as revoke requests take it."""
        return serial_hex(self.certificate)

    @property
    def authority_key_id_hex(self) -> str:
        """The issuer's key identifier as revoke requests take it."""
        return authority_key_id_hex(self.certificate)

    def private_key_pem(self) -> bytes:
        """The private key as unencrypted PKCS#8 PEM, the form Fabric's keystore reads."""
        return self.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    def write_msp(
        self,
        directory: str | os.PathLike[str],
        *,
        tls_ca_pem: bytes | None = None,
        node_ous: bool = False,
    ) -> Path:
        """Writes this identity as a Fabric MSP directory and returns its path.

        Args:
            directory: Where to write; created if missing, same-named files replaced.
            tls_ca_pem: TLS root certificate(s) to put in ``tlscacerts/``.
            node_ous: Also write a ``config.yaml`` that classifies identities by the certificate OU
                (client, peer, admin, orderer), which Fabric CA sets from the registered type.
        """
        files = MspFiles(self.certificate_pem, self.private_key_pem(), self.ca_chain_pem, tls_ca_pem)
        return write_msp_files(directory, files, node_ous=node_ous)


def load_msp(directory: str | os.PathLike[str], *, password: bytes | None = None) -> Enrollment:
    """Loads the identity of an MSP directory (as written by :meth:`Enrollment.write_msp` or Fabric tools).

    Args:
        directory: The MSP directory.
        password: The key's password when the key file is encrypted.

    Raises:
        FileNotFoundError, ValueError: The directory lacks a piece, or the key does not match the certificate.
    """
    files = read_msp_files(directory)
    private_key = serialization.load_pem_private_key(files.private_key_pem, password=password)
    if not isinstance(private_key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"the key in {directory} is not an elliptic-curve key")
    return Enrollment(files.certificate_pem, private_key, files.ca_chain_pem)
