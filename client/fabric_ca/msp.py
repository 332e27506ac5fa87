"""Reading and writing a Fabric MSP directory (the layout peers, orderers and the peer CLI load).

Layout written::

    signcerts/cert.pem              the identity's certificate
    keystore/key_sk                 its private key, PKCS#8 PEM, mode 0600 (directory 0700)
    cacerts/ca.pem                  the root CA certificate(s)
    intermediatecerts/intermediate.pem   intermediate CA certificates, when the chain has any
    tlscacerts/tlsca.pem            the TLS root, when given
    config.yaml                     NodeOUs classification by certificate OU, when asked for
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from .certificates import is_self_signed, split_pem_certificates

SIGNCERT_FILE = Path("signcerts") / "cert.pem"
KEY_FILE = Path("keystore") / "key_sk"
CA_FILE = Path("cacerts") / "ca.pem"
INTERMEDIATE_FILE = Path("intermediatecerts") / "intermediate.pem"
TLS_CA_FILE = Path("tlscacerts") / "tlsca.pem"
CONFIG_FILE = Path("config.yaml")

# Fabric CA puts the registered identity type into the certificate's OU; these are the four types
# Fabric's NodeOUs classification knows.
_NODE_OU_ROLES = (("Client", "client"), ("Peer", "peer"), ("Admin", "admin"), ("Orderer", "orderer"))


@dataclass(frozen=True)
class MspFiles:
    """The PEM material of an MSP directory.

    Attributes:
        certificate_pem: The signing certificate.
        private_key_pem: Its private key.
        ca_chain_pem: Intermediate certificates followed by root certificates.
        tls_ca_pem: The TLS root certificates, or None when the directory has none.
    """

    certificate_pem: bytes = field(repr=False)
    private_key_pem: bytes = field(repr=False)  # never in a printed or logged repr
    ca_chain_pem: bytes = field(repr=False)
    tls_ca_pem: bytes | None = field(default=None, repr=False)


def write_msp_files(directory: str | os.PathLike[str], files: MspFiles, *, node_ous: bool = False) -> Path:
    """Writes ``files`` as an MSP directory under ``directory`` (created if needed) and returns its path.

    Existing files of the same names are replaced; each file is written to a temporary name first so a
    reader never sees a half-written one, and the key is never readable by others, not even briefly.
    """
    root = Path(directory)
    chain = split_pem_certificates(files.ca_chain_pem)
    roots = [cert for cert in chain if is_self_signed(cert)] or chain[-1:]
    intermediates = [cert for cert in chain if cert not in roots]

    _write(root / SIGNCERT_FILE, files.certificate_pem)
    _write(root / KEY_FILE, files.private_key_pem, mode=0o600, directory_mode=0o700)
    _write(root / CA_FILE, _pem_bundle(roots))
    if intermediates:
        _write(root / INTERMEDIATE_FILE, _pem_bundle(intermediates))
    if files.tls_ca_pem is not None:
        _write(root / TLS_CA_FILE, files.tls_ca_pem)
    if node_ous:
        _write(root / CONFIG_FILE, _node_ous_config().encode("utf-8"))
    return root


def read_msp_files(directory: str | os.PathLike[str]) -> MspFiles:
    """Reads the signing certificate, key and CA chain of an MSP directory.

    Accepts directories written by other tools too: any single file in ``signcerts/``, and the key file
    ending in ``_sk`` (or the only file) in ``keystore/``. Raises FileNotFoundError or ValueError when the
    directory lacks a piece or is ambiguous.
    """
    root = Path(directory)
    certificate_pem = _single_file(root / "signcerts", suffix="").read_bytes()
    private_key_pem = _single_file(root / "keystore", suffix="_sk").read_bytes()
    chain = _read_all(root / "intermediatecerts") + _read_all(root / "cacerts")
    tls_ca = _read_all(root / "tlscacerts")
    return MspFiles(certificate_pem, private_key_pem, chain, tls_ca or None)


def _pem_bundle(certificates: list[x509.Certificate]) -> bytes:
    return b"".join(cert.public_bytes(serialization.Encoding.PEM) for cert in certificates)


def _node_ous_config() -> str:
    lines = ["NodeOUs:", "  Enable: true"]
    for prefix, organizational_unit in _NODE_OU_ROLES:
        lines += [
            f"  {prefix}OUIdentifier:",
            f"    Certificate: {CA_FILE.as_posix()}",
            f"    OrganizationalUnitIdentifier: {organizational_unit}",
        ]
    return "\n".join(lines) + "\n"


def _write(path: Path, data: bytes, *, mode: int = 0o644, directory_mode: int = 0o755) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=directory_mode)
    if directory_mode != 0o755:
        os.chmod(path.parent, directory_mode)
    # mkstemp creates the file 0600, so a key is private from its first byte; others are widened after.
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(data)
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _single_file(directory: Path, *, suffix: str) -> Path:
    candidates = sorted(p for p in directory.iterdir() if p.is_file() and not p.name.startswith("."))
    preferred = [p for p in candidates if suffix and p.name.endswith(suffix)] or candidates
    if len(preferred) != 1:
        raise ValueError(f"expected exactly one file in {directory}, found {len(preferred)}")
    return preferred[0]


def _read_all(directory: Path) -> bytes:
    if not directory.is_dir():
        return b""
    files = sorted(p for p in directory.iterdir() if p.is_file() and not p.name.startswith("."))
    return b"".join(p.read_bytes() for p in files)
