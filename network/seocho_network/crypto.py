"""Identities for every node, issued by each organisation's own Fabric CAs (no cryptogen).

Trust is split as Fabric's CA guide advises: an organisation's identity CA signs the enrolment
certificates (MSP) of every identity, members included, and its TLS CA signs the TLS certificates of its
nodes and admin clients only. So a member's certificate is never a TLS client certificate that an
orderer's admin endpoint, a chaincode server or an operations endpoint would accept.
Secrets are random, kept only until the identity is enrolled, and never printed.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterable
from pathlib import Path

from fabric_ca import CAClient, CAError, Enrollment, RegistrationRequest, load_msp

from .layout import NetworkLayout, NodeFiles
from .topology import LOOPBACK, CertificateAuthority, Organization

BOOTSTRAP_USER = "ca-registrar"
_PENDING_SECRET = "enrollment-secret"
_PENDING_TLS_SECRET = "tls-enrollment-secret"


def bootstrap_secret(layout: NetworkLayout, ca: CertificateAuthority) -> str:
    """The CA's bootstrap registrar secret, made once and kept 0600 in the CA's home."""
    path = layout.ca_server_home(ca) / "bootstrap-secret"
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    secret = secrets.token_urlsafe(24)
    _write_private(path, secret.encode())
    return secret


def _write_private(path: Path, data: bytes) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as stream:
        stream.write(data)


def ca_client(layout: NetworkLayout, ca: CertificateAuthority) -> CAClient:
    return CAClient(ca.url, layout.ca_server_root(ca), timeout=15)


class _Registrar:
    """One CA server's bootstrap registrar: registers the identities the CA then enrols."""

    def __init__(self, layout: NetworkLayout, ca: CertificateAuthority) -> None:
        self.layout = layout
        self.ca = ca

    def enrollment(self) -> Enrollment:
        files = self.layout.registrar_of(self.ca)
        if files.msp.is_dir():
            return load_msp(files.msp)
        with ca_client(self.layout, self.ca) as client:
            enrollment = client.enroll(BOOTSTRAP_USER, bootstrap_secret(self.layout, self.ca))
        enrollment.write_msp(files.msp, node_ous=True)
        return enrollment

    def register(self, name: str, identity_type: str, pending: Path) -> str:
        # The secret is kept until enrolment ends, so an interrupted `up` can finish on its next run.
        if pending.exists():
            return pending.read_text(encoding="utf-8").strip()
        secret = secrets.token_urlsafe(24)
        _write_private(pending, secret.encode())
        # One enrolment per registration: a secret that leaked after use enrols nothing.
        request = RegistrationRequest(name, identity_type, max_enrollments=1, secret=secret)
        try:
            with ca_client(self.layout, self.ca) as client:
                client.register(self.enrollment(), request)
        except CAError as exc:
            pending.unlink(missing_ok=True)
            if not any("already registered" in message for message in exc.messages):
                raise
            raise RuntimeError(
                f"{name} is registered on {self.ca.node_id} but its files are gone; "
                "run `scripts/network.sh down --purge` and `up` again to start a new network"
            ) from None
        return secret


class OrganizationCrypto:
    """Issues an organisation's identities from its CAs, skipping those already on disk."""

    def __init__(self, layout: NetworkLayout, org: Organization) -> None:
        self.layout = layout
        self.org = org
        self._identity = _Registrar(layout, org.ca)
        self._tls = _Registrar(layout, org.tls_ca)

    def registrar(self) -> Enrollment:
        """The identity CA's registrar (it registers members, and revokes)."""
        return self._identity.enrollment()

    def tls_registrar(self) -> Enrollment:
        return self._tls.enrollment()

    def write_org_msp(self) -> None:
        """The organisation's verifying MSP (roots and NodeOUs, no key), as the channel config carries it."""
        msp = self.layout.org_msp(self.org)
        for sub in ("cacerts", "tlscacerts"):
            (msp / sub).mkdir(parents=True, exist_ok=True)
        self.layout.org_ca_cert(self.org).write_bytes(self.layout.ca_server_root(self.org.ca).read_bytes())
        self.layout.org_tls_ca_cert(self.org).write_bytes(
            self.layout.ca_server_root(self.org.tls_ca).read_bytes()
        )
        # Borrow the NodeOUs file the client library writes for an enrolled identity.
        node_ous = self.layout.ca_registrar(self.org).msp / "config.yaml"
        (msp / "config.yaml").write_bytes(node_ous.read_bytes())

    def issue(
        self,
        name: str,
        identity_type: str,
        files: NodeFiles,
        *,
        hosts: Iterable[str] = (),
        msp: bool = True,
        tls: bool = True,
    ) -> str:
        """Registers `name` and writes its MSP (identity CA) and/or TLS material (TLS CA) into `files`.

        Only nodes, admins and the organisation's own service clients get TLS material: members are
        issued with `tls=False` (or by `seocho ca`, which knows only the identity CA).
        """
        wanted_msp = msp and not (files.msp / "signcerts").is_dir()
        wanted_tls = tls and not files.tls_cert.exists()
        if not (wanted_msp or wanted_tls):
            return f"{name}: identity already issued"
        files.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        tls_root_pem = self.layout.ca_server_root(self.org.tls_ca).read_bytes()
        issuers = []
        if wanted_msp:
            secret = self._identity.register(name, identity_type, files.root / _PENDING_SECRET)
            with ca_client(self.layout, self.org.ca) as client:
                enrollment = client.enroll(name, secret)
            enrollment.write_msp(files.msp, tls_ca_pem=tls_root_pem, node_ous=True)
            (files.root / _PENDING_SECRET).unlink(missing_ok=True)
            issuers.append(self.org.ca.node_id)
        if wanted_tls:
            secret = self._tls.register(name, identity_type, files.root / _PENDING_TLS_SECRET)
            host_names = [*hosts, LOOPBACK, "localhost"]
            with ca_client(self.layout, self.org.tls_ca) as client:
                tls_identity = client.enroll(name, secret, csr_hosts=host_names, profile="tls")
            files.tls.mkdir(parents=True, exist_ok=True, mode=0o700)
            files.tls_ca.write_bytes(tls_root_pem)
            files.tls_cert.write_bytes(tls_identity.certificate_pem)
            _write_private(files.tls_key, tls_identity.private_key_pem())
            (files.root / _PENDING_TLS_SECRET).unlink(missing_ok=True)
            issuers.append(self.org.tls_ca.node_id)
        return f"{name}: issued by {' and '.join(issuers)}"


def chaincode_client_name(org: Organization) -> str:
    """The identity whose TLS certificate an organisation's peers present to its chaincode server."""
    return f"chaincode-client.{org.domain}"


def issue_organization(layout: NetworkLayout, org: Organization) -> list[str]:
    """Every identity the organisation's nodes and tools need; returns a line per identity."""
    crypto = OrganizationCrypto(layout, org)
    crypto.registrar()
    crypto.tls_registrar()
    crypto.write_org_msp()
    # The admin's TLS certificate is the one client certificate its orderers' admin endpoints accept.
    said = [crypto.issue("admin", "admin", layout.org_admin(org))]
    for orderer in org.orderers:
        said.append(
            crypto.issue(orderer.node_id, "orderer", layout.node(orderer.node_id), hosts=[orderer.node_id])
        )
    for peer in org.peers:
        said.append(crypto.issue(peer.node_id, "peer", layout.node(peer.node_id), hosts=[peer.node_id]))
    server = org.chaincode_server
    said.append(
        crypto.issue(server.node_id, "client", layout.node(server.node_id), hosts=[server.node_id], msp=False)
    )
    # The client certificate the organisation's peers present to its chaincode server (which checks its name).
    name = chaincode_client_name(org)
    said.append(crypto.issue(name, "client", layout.node(name), msp=False))
    # What health checks and metrics readers present to the operations endpoints (client TLS required).
    said.append(crypto.issue("operations-client", "client", layout.operations_client(org), msp=False))
    return said
