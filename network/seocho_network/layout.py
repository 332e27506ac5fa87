"""Where a network keeps its files: one directory (`$SEOCHO_HOME/network` by default) holds everything.

fabric-ca/<domain>/            each organisation's identity CA server home (its database and keys)
fabric-ca/tls.<domain>/        each organisation's TLS CA server home
organizations/<domain>/msp/    the organisation's MSP as the channel config carries it
organizations/<domain>/users/  the organisation's admin, operations client and CA registrar identities
nodes/<node-id>/               each node: msp/, tls/, config/, data/, node.log, node.pid
channel/                       configtx.yaml and the channel's genesis block
chaincode/<domain>/            the chaincode package of each organisation (its connection.json)
users/<name>/msp               the client identities of the profile (the demo's cast)
profile.yaml                   the `seocho --profile` file for this network
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .topology import TLS_CA, CertificateAuthority, Organization


def default_network_home() -> Path:
    home = os.environ.get("SEOCHO_HOME") or os.path.expanduser("~/.seocho")
    return Path(home) / "network"


@dataclass(frozen=True)
class NodeFiles:
    root: Path

    @property
    def msp(self) -> Path:
        return self.root / "msp"

    @property
    def tls(self) -> Path:
        return self.root / "tls"

    @property
    def tls_cert(self) -> Path:
        return self.tls / "server.crt"

    @property
    def tls_key(self) -> Path:
        return self.tls / "server.key"

    @property
    def tls_ca(self) -> Path:
        return self.tls / "ca.crt"

    @property
    def config(self) -> Path:
        return self.root / "config"

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def log(self) -> Path:
        return self.root / "node.log"

    @property
    def pid(self) -> Path:
        return self.root / "node.pid"


@dataclass(frozen=True)
class NetworkLayout:
    root: Path

    def node(self, node_id: str) -> NodeFiles:
        return NodeFiles(self.root / "nodes" / node_id)

    def ca_server_home(self, ca: CertificateAuthority) -> Path:
        name = f"tls.{ca.org.domain}" if ca.kind == TLS_CA else ca.org.domain
        return self.root / "fabric-ca" / name

    def ca_home(self, org: Organization) -> Path:
        """The organisation's identity CA server home."""
        return self.ca_server_home(org.ca)

    def tls_ca_home(self, org: Organization) -> Path:
        return self.ca_server_home(org.tls_ca)

    def ca_server_root(self, ca: CertificateAuthority) -> Path:
        """The CA's root certificate; it also signs the CA server's own TLS certificate."""
        return self.ca_server_home(ca) / "ca-cert.pem"

    def org_msp(self, org: Organization) -> Path:
        return self.root / "organizations" / org.domain / "msp"

    def org_user(self, org: Organization, name: str) -> NodeFiles:
        return NodeFiles(self.root / "organizations" / org.domain / "users" / name)

    def ca_registrar(self, org: Organization) -> NodeFiles:
        return self.org_user(org, "ca-registrar")

    def registrar_of(self, ca: CertificateAuthority) -> NodeFiles:
        return self.org_user(ca.org, "tlsca-registrar" if ca.kind == TLS_CA else "ca-registrar")

    def operations_client(self, org: Organization) -> NodeFiles:
        """The TLS client identity that reads the organisation's operations endpoints (health, metrics)."""
        return self.org_user(org, "operations-client")

    def org_admin(self, org: Organization) -> NodeFiles:
        return self.org_user(org, "admin")

    def org_ca_cert(self, org: Organization) -> Path:
        """The organisation's identity root: it signs its identities' enrolment certificates."""
        return self.org_msp(org) / "cacerts" / "ca.pem"

    def org_tls_ca_cert(self, org: Organization) -> Path:
        """The organisation's TLS root: it signs its nodes' and admins' TLS certificates."""
        return self.org_msp(org) / "tlscacerts" / "tlsca.pem"

    @property
    def channel_dir(self) -> Path:
        return self.root / "channel"

    @property
    def genesis_block(self) -> Path:
        return self.channel_dir / "genesis.block"

    def chaincode_dir(self, org: Organization) -> Path:
        return self.root / "chaincode" / org.domain

    @property
    def users(self) -> Path:
        return self.root / "users"

    @property
    def profile(self) -> Path:
        return self.root / "profile.yaml"

    def peer_profile(self, org: Organization) -> Path:
        """A profile whose Gateway is this organisation's peer (the default profile uses the district's)."""
        return self.root / f"profile-{org.name.lower()}.yaml"
