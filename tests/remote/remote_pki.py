"""Throwaway TLS material for the chaincode-server tests: a CA, a server certificate for 127.0.0.1,
a client certificate from the same CA, and one from a CA the server does not trust."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass(frozen=True)
class KeyPair:
    key_file: Path
    cert_file: Path


@dataclass(frozen=True)
class ChaincodePKI:
    ca_cert_file: Path
    server: KeyPair
    client: KeyPair
    stranger: KeyPair  # signed by another CA


class _Authority:
    def __init__(self, common_name: str) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(_name(common_name))
            .issuer_name(_name(common_name))
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .sign(self.key, hashes.SHA256())
        )

    def issue(self, directory: Path, stem: str, usage: x509.ObjectIdentifier, server: bool) -> KeyPair:
        key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(stem))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        )
        if server:
            names = [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        cert = builder.sign(self.key, hashes.SHA256())
        key_pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        pair = KeyPair(directory / f"{stem}.key", directory / f"{stem}.crt")
        write_private(pair.key_file, key_pem)
        write_private(pair.cert_file, cert.public_bytes(serialization.Encoding.PEM))
        return pair


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def write_private(path: Path, data: bytes) -> None:
    """Create `path` readable by its owner only, before any byte is written."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)


def make_pki(directory: Path) -> ChaincodePKI:
    ca = _Authority("chaincode-test-tlsca")
    ca_file = directory / "ca.crt"
    write_private(ca_file, ca.cert.public_bytes(serialization.Encoding.PEM))
    stranger_ca = _Authority("stranger-tlsca")
    return ChaincodePKI(
        ca_cert_file=ca_file,
        server=ca.issue(directory, "server", ExtendedKeyUsageOID.SERVER_AUTH, server=True),
        client=ca.issue(directory, "client", ExtendedKeyUsageOID.CLIENT_AUTH, server=False),
        stranger=stranger_ca.issue(directory, "stranger", ExtendedKeyUsageOID.CLIENT_AUTH, server=False),
    )
