"""Renewing one identity's certificate at the CA that issued it: `reenroll`, authenticated by the current
certificate (no secret: the identity stays the same, and `max_enrollments` does not count a reenrolment).

The renewed material replaces the old as a whole directory (`msp/`, `tls/`), never file by file: a
process that starts, or a crash, in the middle finds either the old pair or the new one, never a new key
beside an old certificate. The certificate keeps the names (subject alternative names) of the old one.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from fabric_ca import Enrollment, load_msp
from fabric_ca.msp import KEY_FILE, SIGNCERT_FILE

from .crypto import ca_client
from .layout import NetworkLayout, NodeFiles
from .topology import CertificateAuthority, Topology

_PREVIOUS = ".previous"
_STAGING = ".renewing"


class RenewalError(RuntimeError):
    """A certificate could not be renewed; the old one is still in place."""


def issuer_of(
    layout: NetworkLayout, topology: Topology, certificate: x509.Certificate
) -> CertificateAuthority:
    """The topology's CA whose root signed `certificate` (identity and TLS CAs have distinct subjects)."""
    for ca in topology.cas:
        root_file = layout.ca_server_root(ca)
        if root_file.is_file():
            root = x509.load_pem_x509_certificate(root_file.read_bytes())
            if root.subject == certificate.issuer:
                return ca
    raise RenewalError(f"no CA of the topology issued {certificate.subject.rfc4514_string()}")


def certificate_hosts(certificate: x509.Certificate) -> list[str]:
    """The DNS names and IP addresses the certificate is valid for, in its order."""
    try:
        names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    hosts: list[str] = list(names.get_values_for_type(x509.DNSName))
    hosts += [str(address) for address in names.get_values_for_type(x509.IPAddress)]
    return hosts


def replace_directory(target: Path, write: Callable[[Path], None]) -> None:
    """Replaces `target` by a copy of it that `write` changed; restores an interrupted replacement first."""
    recover_directory(target)
    staging = target.with_name(target.name + _STAGING)
    previous = target.with_name(target.name + _PREVIOUS)
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(target, staging, symlinks=True)
    write(staging)
    target.replace(previous)
    staging.replace(target)
    shutil.rmtree(previous)


def recover_directory(target: Path) -> None:
    """After a crash between the two renames of `replace_directory`: the old directory goes back."""
    previous = target.with_name(target.name + _PREVIOUS)
    if previous.is_dir():
        if target.exists():
            shutil.rmtree(previous)
        else:
            previous.replace(target)


def _write(path: Path, data: bytes, mode: int) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(descriptor, "wb") as stream:
        stream.write(data)
    path.chmod(mode)


def _renewed(
    layout: NetworkLayout,
    ca: CertificateAuthority,
    current: Enrollment,
    keep_key: bool,
    profile: str,
) -> Enrollment:
    with ca_client(layout, ca) as client:
        return client.reenroll(
            current,
            csr_hosts=certificate_hosts(current.certificate),
            key=current.private_key if keep_key else None,
            profile=profile,
        )


def renew_msp(
    layout: NetworkLayout, topology: Topology, msp: Path, keep_key: bool = False
) -> x509.Certificate:
    """Reenrols the MSP directory's identity at its issuer; the rest of the directory stays as it is."""
    recover_directory(msp)
    current = load_msp(msp)
    ca = issuer_of(layout, topology, current.certificate)
    renewed = _renewed(layout, ca, current, keep_key, profile="")

    def write(staging: Path) -> None:
        for directory in (staging / SIGNCERT_FILE.parent, staging / KEY_FILE.parent):
            for old in directory.iterdir():
                old.unlink()
        _write(staging / SIGNCERT_FILE, renewed.certificate_pem, 0o644)
        _write(staging / KEY_FILE, renewed.private_key_pem(), 0o600)

    replace_directory(msp, write)
    return renewed.certificate


def _tls_enrollment(files: NodeFiles) -> Enrollment:
    key = load_pem_private_key(files.tls_key.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise RenewalError(f"{files.tls_key} is not an elliptic-curve key, as Fabric CA issues")
    return Enrollment(files.tls_cert.read_bytes(), key, files.tls_ca.read_bytes())


def renew_tls(
    layout: NetworkLayout, topology: Topology, files: NodeFiles, keep_key: bool = False
) -> x509.Certificate:
    """Reenrols the TLS certificate in `files.tls` (profile "tls") at the TLS CA that issued it."""
    recover_directory(files.tls)
    current = _tls_enrollment(files)
    ca = issuer_of(layout, topology, current.certificate)
    renewed = _renewed(layout, ca, current, keep_key, profile="tls")

    def write(staging: Path) -> None:
        _write(staging / files.tls_key.name, renewed.private_key_pem(), 0o600)
        _write(staging / files.tls_cert.name, renewed.certificate_pem, 0o644)

    replace_directory(files.tls, write)
    return renewed.certificate


def same_public_key(first_pem: bytes, second_pem: bytes) -> bool:
    first = x509.load_pem_x509_certificate(first_pem).public_key()
    second = x509.load_pem_x509_certificate(second_pem).public_key()
    return bool(first == second)
