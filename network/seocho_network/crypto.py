"""Identities for every node, issued by each organisation's own Fabric CA (no cryptogen).

Each CA signs both the enrollment certificates (MSP) and the TLS certificates (its `tls` profile) of its
organisation, so one root per organisation is what the channel config, the peers and clients trust.
Secrets are random, kept only until the identity is enrolled, and never printed.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterable
from pathlib import Path

from fabric_ca import CAClient, CAError, Enrollment, RegistrationRequest, load_msp

from .layout import NetworkLayout, NodeFiles
from .topology import LOOPBACK, Organization

BOOTSTRAP_USER = "ca-registrar"
_PENDING_SECRET = "enrollment-secret"


def bootstrap_secret(layout: NetworkLayout, org: Organization) -> str:
    """The CA's bootstrap registrar secret, made once and kept 0600 in the CA's home."""
    path = layout.ca_home(org) / "bootstrap-secret"
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


def _client(layout: NetworkLayout, org: Organization) -> CAClient:
    return CAClient(org.ca.url, layout.ca_home(org) / "ca-cert.pem", timeout=15)


class OrganizationCrypto:
    """Issues an organisation's identities from its CA, skipping those already on disk."""

    def __init__(self, layout: NetworkLayout, org: Organization) -> None:
        self.layout = layout
        self.org = org

    def registrar(self) -> Enrollment:
        files = self.layout.ca_registrar(self.org)
        if files.msp.is_dir():
            return load_msp(files.msp)
        with _client(self.layout, self.org) as client:
            enrollment = client.enroll(BOOTSTRAP_USER, bootstrap_secret(self.layout, self.org))
        enrollment.write_msp(files.msp, node_ous=True)
        return enrollment

    def write_org_msp(self) -> None:
        """The organisation's verifying MSP (roots and NodeOUs, no key), as the channel config carries it."""
        root = self.layout.ca_home(self.org) / "ca-cert.pem"
        root_pem = root.read_bytes()
        msp = self.layout.org_msp(self.org)
        for sub in ("cacerts", "tlscacerts"):
            (msp / sub).mkdir(parents=True, exist_ok=True)
        (msp / "cacerts" / "ca.pem").write_bytes(root_pem)
        (msp / "tlscacerts" / "tlsca.pem").write_bytes(root_pem)
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
        """Registers `name` and writes its MSP and/or TLS material into `files`; says what it did."""
        wanted_msp = msp and not (files.msp / "signcerts").is_dir()
        wanted_tls = tls and not files.tls_cert.exists()
        if not (wanted_msp or wanted_tls):
            return f"{name}: identity already issued"
        files.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        secret = self._register(name, identity_type, files.root / _PENDING_SECRET)
        root_pem = (self.layout.ca_home(self.org) / "ca-cert.pem").read_bytes()
        with _client(self.layout, self.org) as client:
            if wanted_msp:
                enrollment = client.enroll(name, secret)
                enrollment.write_msp(files.msp, tls_ca_pem=root_pem, node_ous=True)
            if wanted_tls:
                host_names = [*hosts, LOOPBACK, "localhost"]
                tls_identity = client.enroll(name, secret, csr_hosts=host_names, profile="tls")
                files.tls.mkdir(parents=True, exist_ok=True, mode=0o700)
                files.tls_ca.write_bytes(root_pem)
                files.tls_cert.write_bytes(tls_identity.certificate_pem)
                _write_private(files.tls_key, tls_identity.private_key_pem())
        (files.root / _PENDING_SECRET).unlink(missing_ok=True)
        return f"{name}: issued by {self.org.ca.node_id}"

    def _register(self, name: str, identity_type: str, pending: Path) -> str:
        # The secret is kept until enrolment ends, so an interrupted `up` can finish on its next run.
        if pending.exists():
            return pending.read_text(encoding="utf-8").strip()
        secret = secrets.token_urlsafe(24)
        _write_private(pending, secret.encode())
        request = RegistrationRequest(name, identity_type, secret=secret)
        try:
            with _client(self.layout, self.org) as client:
                client.register(self.registrar(), request)
        except CAError as exc:
            if not any("already registered" in message for message in exc.messages):
                pending.unlink(missing_ok=True)
                raise
            pending.unlink(missing_ok=True)
            raise RuntimeError(
                f"{name} is registered on {self.org.ca.node_id} but its files are gone; "
                "run `scripts/network.sh down --purge` and `up` again to start a new network"
            ) from None
        return secret


def issue_organization(layout: NetworkLayout, org: Organization) -> list[str]:
    """Every identity the organisation's nodes and tools need; returns a line per identity."""
    crypto = OrganizationCrypto(layout, org)
    crypto.registrar()
    crypto.write_org_msp()
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
    # The client certificate the organisation's peers present to its chaincode server.
    said.append(
        crypto.issue(
            f"chaincode-client.{org.domain}",
            "client",
            layout.node(f"chaincode-client.{org.domain}"),
            msp=False,
        )
    )
    return said
