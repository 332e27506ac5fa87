"""Where a network keeps its files. Each organisation has a home of its own (0700) that no other
organisation's step reads; what crosses between organisations is public and lives outside those homes.

orgs/<domain>/                 an organisation's home (private): on separate hosts, each host has only its own
  fabric-ca/                   its identity CA server (database and keys)
  fabric-tlsca/                its TLS CA server (it enrols nodes and admin clients only)
    operations/tls/            each CA server's operations endpoint certificate (from the TLS CA)
  msp/                         its verifying MSP (roots and NodeOUs, no key): the source of its definition
  users/<name>/                its admin, operations client and CA registrar identities
  nodes/<node-id>/             each of its nodes: msp/, tls/, config/, data/, node.log, node.pid
  chaincode/                   its chaincode packages (they hold its peers' chaincode-client key)
  ca-access.yaml               how the organisation's own tools reach its CA (URL, TLS root, registrar)
definitions/<domain>/          each organisation's public definition (`org definition`): what others read
channel/                       configtx.yaml, the genesis block, config updates and their signatures
users/<name>/msp               the client identities of the profile (the demo's cast)
profile.yaml, tls/             the `seocho --profile` file for this network and the TLS roots it names
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .topology import TLS_CA, CertificateAuthority, Orderer, Organization, Topology

CA_OPERATIONS = "operations"  # in a CA server's home: its operations endpoint's TLS material


def default_network_home() -> Path:
    home = os.environ.get("SEOCHO_HOME") or os.path.expanduser("~/.seocho")
    return Path(home) / "network"


def org_home_path(domain: str) -> PurePosixPath:
    """An organisation's home, relative to the network home (the compose file mounts from it)."""
    return PurePosixPath("orgs") / domain


def node_path(domain: str, node_id: str) -> PurePosixPath:
    """A node's directory, relative to the network home."""
    return org_home_path(domain) / "nodes" / node_id


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
    """The network kept in `root`; `domains` are its organisations' (whose homes hold their nodes)."""

    root: Path
    domains: tuple[str, ...] = ()

    @classmethod
    def for_topology(cls, root: Path, topology: Topology) -> NetworkLayout:
        return cls(root, tuple(org.domain for org in topology.organizations))

    def org_home(self, org: Organization) -> Path:
        return self.root / org_home_path(org.domain)

    def _domain_of(self, node_id: str) -> str:
        # Node ids are NAME.DOMAIN (chaincode servers of further chaincodes NAME.chaincode.DOMAIN).
        for domain in sorted(self.domains, key=len, reverse=True):
            if node_id.endswith("." + domain):
                return domain
        raise ValueError(f"{node_id} belongs to none of the organisations {', '.join(self.domains)}")

    def node(self, node_id: str) -> NodeFiles:
        return NodeFiles(self.root / node_path(self._domain_of(node_id), node_id))

    def nodes_dir(self, org: Organization) -> Path:
        return self.org_home(org) / "nodes"

    def ca_server_home(self, ca: CertificateAuthority) -> Path:
        return self.org_home(ca.org) / ("fabric-tlsca" if ca.kind == TLS_CA else "fabric-ca")

    def ca_home(self, org: Organization) -> Path:
        """The organisation's identity CA server home."""
        return self.ca_server_home(org.ca)

    def tls_ca_home(self, org: Organization) -> Path:
        return self.ca_server_home(org.tls_ca)

    def ca_server_root(self, ca: CertificateAuthority) -> Path:
        """The CA's root certificate; it also signs the CA server's own TLS certificate."""
        return self.ca_server_home(ca) / "ca-cert.pem"

    def ca_operations(self, ca: CertificateAuthority) -> NodeFiles:
        """The TLS material of the CA server's operations endpoint (tls/server.crt, issued by the TLS CA)."""
        return NodeFiles(self.ca_server_home(ca) / CA_OPERATIONS)

    def ca_access(self, org: Organization) -> Path:
        return self.org_home(org) / "ca-access.yaml"

    def org_msp(self, org: Organization) -> Path:
        return self.org_home(org) / "msp"

    def org_user(self, org: Organization, name: str) -> NodeFiles:
        return NodeFiles(self.org_home(org) / "users" / name)

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

    def chaincode_dir(self, org: Organization) -> Path:
        return self.org_home(org) / "chaincode"

    # ---- public: what organisations exchange -------------------------------------------------------

    def definition(self, org: Organization) -> Path:
        """The organisation's public definition (`org definition` writes it; other organisations read it)."""
        return self.root / "definitions" / org.domain

    def definition_msp(self, org: Organization) -> Path:
        """`org`'s MSP as its definition carries it: what the channel config is made from."""
        return self.definition(org) / "msp"

    def definition_tls_root(self, org: Organization) -> Path:
        """The root of `org`'s TLS certificates, from its definition: how others trust its nodes."""
        return self.definition_msp(org) / "tlscacerts" / "tlsca.pem"

    def consenter_cert(self, orderer: Orderer) -> Path:
        """The orderer's TLS certificate, from its organisation's definition (the Raft consenter)."""
        return self.definition(orderer.org) / "orderers" / f"{orderer.node_id}.crt"

    def consenter_identity(self, orderer: Orderer) -> Path:
        """The orderer's enrolment certificate, from its organisation's definition (the BFT consenter's
        identity: SmartBFT checks the orderers' signatures on blocks against it)."""
        return self.definition(orderer.org) / "orderers" / f"{orderer.node_id}.identity.crt"

    @property
    def channel_dir(self) -> Path:
        return self.root / "channel"

    @property
    def genesis_block(self) -> Path:
        return self.channel_dir / "genesis.block"

    @property
    def updates_dir(self) -> Path:
        return self.channel_dir / "updates"

    # ---- the client side: the profile and its identities --------------------------------------------

    @property
    def users(self) -> Path:
        return self.root / "users"

    @property
    def profile(self) -> Path:
        return self.root / "profile.yaml"

    def peer_profile(self, org: Organization) -> Path:
        """A profile whose Gateway is this organisation's peer (the default profile uses the district's)."""
        return self.root / f"profile-{org.name.lower()}.yaml"
