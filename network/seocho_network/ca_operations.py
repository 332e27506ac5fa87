"""The CA servers' operations endpoints (/healthz, /metrics) on TLS with client authentication, as the
peers' and orderers' are: a client needs a certificate of the organisation's TLS CA (its operations
client; a member's certificate, from the identity CA, is refused), and the server presents a certificate
the TLS CA issued it (`operations.<CA node id>`, in `<CA home>/operations/tls`).

The identity CA's certificate is issued before it first starts. The TLS CA cannot have one before it
runs, so on its very first start it presents a bootstrap certificate (self-signed, for a day) behind
client authentication against its own root, which has then issued nothing: nobody can talk to the
endpoint. Once its API answers, the TLS CA issues the operations client and its own operations
certificate like any other TLS certificate, and is restarted on it (`secure`). That costs one restart of
one CA on an organisation's first `org init`, and keeps what a district's IT would keep: the TLS CA's root
key never leaves fabric-ca-server (no tool of ours signs with it, so it can later move to an HSM), and
every certificate that opens an endpoint is in the CA's database, listed and revocable.

A CA is ready when its /healthz answers the operations client; before the client and the certificate
exist (the TLS CA's first start only) when its API answers /cainfo, which is all the next step needs.
"""

from __future__ import annotations

import datetime
import os
import socket
from collections.abc import Callable

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from fabric_ca import CAClient, CAError

from .admin import healthy, operations_client
from .context import NetworkContext, NetworkError
from .crypto import OrganizationCrypto
from .layout import NetworkLayout
from .runtime import Runtime
from .topology import LOOPBACK, TLS_CA, CertificateAuthority, Organization


def operations_identity(ca: CertificateAuthority) -> str:
    """The name the TLS CA issues the CA server's operations certificate to."""
    return f"operations.{ca.node_id}"


def issued(layout: NetworkLayout, ca: CertificateAuthority) -> bool:
    """True when the CA server's operations certificate is the TLS CA's (not the bootstrap one)."""
    try:
        certificate = x509.load_pem_x509_certificate(layout.ca_operations(ca).tls_cert.read_bytes())
    except (OSError, ValueError):
        return False
    return certificate.issuer != certificate.subject


def prepare(layout: NetworkLayout, ca: CertificateAuthority) -> None:
    """Before the CA server starts: its operations certificate, or the TLS CA's bootstrap certificate."""
    if issued(layout, ca):
        return
    if ca.kind != TLS_CA:
        raise NetworkError(
            f"{ca.node_id}: its operations certificate comes from {ca.org.tls_ca.node_id}, which issues it "
            f"in `network.sh org init {ca.org.name}`"
        )
    files = layout.ca_operations(ca)
    files.tls.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{operations_identity(ca)} (bootstrap)")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(ca.node_id)]), critical=False)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    descriptor = os.open(files.tls_key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as stream:
        stream.write(key_pem)
    files.tls_cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))


def healthz(layout: NetworkLayout, ca: CertificateAuthority) -> bool:
    """True when the CA server's /healthz answers its organisation's operations client."""
    return healthy(ca.operations_port, operations_client(layout, ca.org))


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex((LOOPBACK, port)) == 0


def _answers_cainfo(layout: NetworkLayout, ca: CertificateAuthority) -> bool:
    try:
        with CAClient(ca.url, layout.ca_server_root(ca), timeout=2) as client:
            client.ca_info()
        return True
    except (CAError, OSError, ValueError):
        return False


def readiness(layout: NetworkLayout, ca: CertificateAuthority) -> Callable[[], bool]:
    """What says the CA server is up: /healthz as the operations client, or (before either exists, on
    the TLS CA's first start) its API's /cainfo."""
    if issued(layout, ca) and layout.operations_client(ca.org).tls_cert.exists():
        return lambda: healthz(layout, ca)
    return lambda: _answers_cainfo(layout, ca)


def secure(ctx: NetworkContext, runtime: Runtime, org: Organization) -> None:
    """With `org`'s TLS CA running: its operations client, and each CA server's operations certificate
    not yet issued; a CA server that runs on another certificate is stopped (`start` resumes it)."""
    layout = ctx.layout
    crypto = OrganizationCrypto(layout, org)
    ctx.say(f"  {crypto.issue('operations-client', 'client', layout.operations_client(org), msp=False)}")
    replaced = []
    for ca in (org.tls_ca, org.ca):
        if issued(layout, ca):
            continue
        files = layout.ca_operations(ca)
        files.tls_cert.unlink(missing_ok=True)  # the bootstrap certificate
        said = crypto.issue(operations_identity(ca), "client", files, hosts=[ca.node_id], msp=False)
        ctx.say(f"  {said}")
        replaced.append(ca)
    # Asked of the CA's own port, not of `runtime.states()`, which reads every organisation's files.
    running = [ca for ca in replaced if _listening(ca.port)]
    for ca in running:
        ctx.say(f"  {ca.node_id}: restarts on its operations certificate")
    runtime.stop(running)
