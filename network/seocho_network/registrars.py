"""Retiring a CA's bootstrap registrar once the organisation is set up.

The bootstrap registrar (`ca-registrar`, made from the secret the CA was initialised with) may do
anything on its CA. After set-up the organisation replaces it with a successor of narrower rights, then
revokes it, so neither its secret nor a copy of its MSP directory registers, enrols or revokes again:

- the successor `registrar` may register the identity types the organisation issues, with `seocho.*`
  attributes (identity CA), revoke and generate CRLs, and enrol once (`max_enrollments` 1);
- the bootstrap identity is revoked at its CA by the successor;
- its secret is deleted from the CA's home (`bootstrap-secret`, `bootstrap.env`) and from the CA's config.

Every later step that registers (`crypto`, `revocation`, `seocho network provision-demo`) reads the
registrar from the same place (`layout.registrar_of`) and so uses the successor.
"""

from __future__ import annotations

import secrets
import shutil
from pathlib import Path

import yaml
from fabric_ca import Attribute, RegistrationRequest, load_msp

from .context import NetworkContext
from .crypto import BOOTSTRAP_USER, ca_client
from .topology import TLS_CA, CertificateAuthority, Organization

SUCCESSOR = "registrar"
RETIRED_MARKER = "bootstrap-registrar-retired"


def retired(ctx: NetworkContext, ca: CertificateAuthority) -> bool:
    return (ctx.layout.ca_server_home(ca) / RETIRED_MARKER).exists()


def _successor_request(ca: CertificateAuthority, secret: str) -> RegistrationRequest:
    if ca.kind == TLS_CA:  # the TLS CA enrols nodes and admin clients only, never members
        roles, attributes = "peer,orderer,admin,client", ""
    else:
        roles, attributes = "client,peer,orderer,admin", "seocho.*"
    rights = [
        Attribute("hf.Registrar.Roles", roles, ecert=False),
        Attribute("hf.Revoker", "true", ecert=False),
        Attribute("hf.GenCRL", "true", ecert=False),
    ]
    if attributes:
        rights.append(Attribute("hf.Registrar.Attributes", attributes, ecert=False))
    return RegistrationRequest(SUCCESSOR, "client", attributes=rights, max_enrollments=1, secret=secret)


def retire_bootstrap_registrar(ctx: NetworkContext, ca: CertificateAuthority) -> str:
    """Replaces `ca`'s bootstrap registrar by a narrower successor and revokes it; says what it did."""
    if retired(ctx, ca):
        return f"{ca.node_id}: bootstrap registrar retired already"
    files = ctx.layout.registrar_of(ca)
    bootstrap = load_msp(files.msp)
    successor_dir = files.root.with_name(files.root.name + ".successor")
    with ca_client(ctx.layout, ca) as client:
        if not (successor_dir / "msp" / "signcerts").is_dir():
            secret = secrets.token_urlsafe(24)
            client.register(bootstrap, _successor_request(ca, secret))
            client.enroll(SUCCESSOR, secret).write_msp(successor_dir / "msp", node_ous=True)
        successor = load_msp(successor_dir / "msp")
        client.revoke(successor, name=BOOTSTRAP_USER, reason="superseded")
    # The successor takes the registrar's place, where every step reads it.
    shutil.rmtree(files.root)
    successor_dir.replace(files.root)
    home = ctx.layout.ca_server_home(ca)
    for name in ("bootstrap-secret", "bootstrap.env"):
        (home / name).unlink(missing_ok=True)
    _forget_bootstrap_secret(home / "fabric-ca-server-config.yaml")
    (home / RETIRED_MARKER).write_text(f"{SUCCESSOR}\n", encoding="utf-8")
    return f"{ca.node_id}: bootstrap registrar revoked; {SUCCESSOR} (narrower rights) registers from now on"


def _forget_bootstrap_secret(path: Path) -> None:
    if not path.exists():
        return
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    for identity in (document.get("registry") or {}).get("identities") or []:
        if identity.get("name") == BOOTSTRAP_USER:
            identity["pass"] = ""
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    path.chmod(0o600)


def retire_organization(ctx: NetworkContext, org: Organization) -> list[str]:
    """Both of the organisation's CAs (identity and TLS)."""
    return [retire_bootstrap_registrar(ctx, ca) for ca in (org.ca, org.tls_ca)]
