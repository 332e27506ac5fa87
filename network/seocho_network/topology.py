"""The network's topology, read from `network/topology.yaml`: organisations, their CA, orderers and peers.

Everything else (node configs, channel config, chaincode packages, the client profile) is rendered from
these objects, so a port or a name is written once.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .binaries import FABRIC_VERSION, FABRIC_VERSIONS

DEFAULT_TOPOLOGY = Path(__file__).resolve().parents[1] / "topology.yaml"
PORT_OFFSET_VARIABLE = "SEOCHO_NETWORK_PORT_OFFSET"
FABRIC_VERSION_VARIABLE = "SEOCHO_FABRIC_VERSION"
"""Overrides the topology's `fabric_version` (a test session or benchmark on the other release)."""
ORDERER_TYPE_VARIABLE = "SEOCHO_ORDERER_TYPE"
"""Overrides the topology's `ordering.type` (a test session on the other consensus)."""
RAFT = "raft"
BFT = "bft"
ORDERER_TYPES = (RAFT, BFT)
LOOPBACK = "127.0.0.1"


class TopologyError(ValueError):
    """The topology file is missing, malformed or inconsistent."""


IDENTITY_CA = "identity"
TLS_CA = "tls"


@dataclass(frozen=True)
class CertificateAuthority:
    """A Fabric CA server of an organisation: its identity CA (enrolment certificates of every identity,
    members included) or its TLS CA (TLS certificates of its nodes and admin clients only)."""

    org: Organization
    name: str
    port: int
    operations_port: int
    kind: str = IDENTITY_CA
    # How long the certificates it issues are valid (fabric-ca-server's signing expiry, e.g. "8760h");
    # None keeps the CA's default of a year. Tests of renewal set minutes (`certificates.lifetime`).
    certificate_lifetime: str | None = None

    @property
    def node_id(self) -> str:
        return f"{self.name}.{self.org.domain}"

    @property
    def url(self) -> str:
        return f"https://{LOOPBACK}:{self.port}"


@dataclass(frozen=True)
class Orderer:
    org: Organization
    name: str
    port: int
    cluster_port: int
    admin_port: int
    operations_port: int

    @property
    def node_id(self) -> str:
        return f"{self.name}.{self.org.domain}"

    @property
    def address(self) -> str:
        return f"{LOOPBACK}:{self.port}"


@dataclass(frozen=True)
class Peer:
    org: Organization
    name: str
    port: int
    chaincode_port: int
    operations_port: int

    @property
    def node_id(self) -> str:
        return f"{self.name}.{self.org.domain}"

    @property
    def address(self) -> str:
        return f"{LOOPBACK}:{self.port}"


@dataclass(frozen=True)
class ChaincodeServer:
    """An organisation's chaincode-as-a-service server, dialled by that organisation's peers."""

    org: Organization
    port: int
    metrics_port: int | None = None  # Prometheus metrics (CHAINCODE_METRICS_ADDRESS), when given

    @property
    def node_id(self) -> str:
        return f"chaincode.{self.org.domain}"

    @property
    def address(self) -> str:
        return f"{LOOPBACK}:{self.port}"


@dataclass(frozen=True, eq=False)
class Organization:
    name: str
    msp_id: str
    domain: str
    ca: CertificateAuthority
    tls_ca: CertificateAuthority
    chaincode_server: ChaincodeServer
    orderers: tuple[Orderer, ...]
    peers: tuple[Peer, ...]

    def __repr__(self) -> str:
        return f"Organization({self.name!r})"


@dataclass(frozen=True)
class ChaincodeSpec:
    name: str
    version: str
    endorsement_policy: str


@dataclass(frozen=True)
class Topology:
    channel: str
    chaincode: ChaincodeSpec
    batch_timeout: str
    max_message_count: int
    organizations: tuple[Organization, ...]
    port_offset: int
    fabric_version: str = FABRIC_VERSION
    orderer_type: str = RAFT

    @property
    def fabric_major(self) -> int:
        """The Fabric release's major version: 3 needs the V3_0 channel capability, 2 must not have it."""
        return int(self.fabric_version.split(".")[0])

    @property
    def orderers(self) -> tuple[Orderer, ...]:
        return tuple(o for org in self.organizations for o in org.orderers)

    @property
    def peers(self) -> tuple[Peer, ...]:
        return tuple(p for org in self.organizations for p in org.peers)

    @property
    def cas(self) -> tuple[CertificateAuthority, ...]:
        """Every CA server: each organisation's identity CA, then its TLS CA."""
        return tuple(ca for org in self.organizations for ca in (org.ca, org.tls_ca))

    def organization(self, msp_id: str) -> Organization:
        for org in self.organizations:
            if org.msp_id == msp_id:
                return org
        raise TopologyError(f"the topology has no organisation with MSP id {msp_id!r}")

    @property
    def ordering_organizations(self) -> tuple[Organization, ...]:
        """The organisations that run orderers: the channel's Orderer group (MAJORITY of them decide)."""
        return tuple(org for org in self.organizations if org.orderers)

    def node_ids(self) -> list[str]:
        """Every process the network runs, in the order `up` starts them."""
        ids = [ca.node_id for ca in self.cas]
        ids += [o.node_id for o in self.orderers]
        ids += [p.node_id for p in self.peers]
        return ids

    def ports(self) -> list[int]:
        """Every port the network listens on."""
        found: list[int] = []
        for org in self.organizations:
            found += [org.ca.port, org.ca.operations_port, org.tls_ca.port, org.tls_ca.operations_port]
            for o in org.orderers:
                found += [o.port, o.cluster_port, o.admin_port, o.operations_port]
            found.append(org.chaincode_server.port)
            if org.chaincode_server.metrics_port is not None:
                found.append(org.chaincode_server.metrics_port)
            for p in org.peers:
                found += [p.port, p.chaincode_port, p.operations_port]
        return found


def load_topology(
    path: str | os.PathLike[str] | None = None,
    port_offset: int | None = None,
    joined: Sequence[str | os.PathLike[str]] = (),
    orderer_type: str | None = None,
) -> Topology:
    """Reads and checks a topology file; `port_offset` (default: $SEOCHO_NETWORK_PORT_OFFSET) shifts ports.

    `joined` are fragments of organisations that joined the running channel later (e.g.
    network/orgs/community-chest.yaml): their `organizations` are appended, their `chaincode` keys (the
    endorsement policy of the consortium they make) override the topology's. A fragment's organisation
    that names one of the topology's (with `peers` only) adds those peers to it: a peer an organisation
    added later (e.g. network/orgs/district-peer1.yaml, one that joins from a snapshot). `orderer_type`
    overrides the file's and $SEOCHO_ORDERER_TYPE (the orderers a migration to BFT brings in)."""
    source = Path(path) if path is not None else DEFAULT_TOPOLOGY
    document = _read(source)
    for fragment in joined:
        part = _read(Path(fragment))
        try:
            document["organizations"] = _merged(document["organizations"], part["organizations"])
            document["chaincode"] = {**document["chaincode"], **(part.get("chaincode") or {})}
        except (KeyError, TypeError, ValueError) as exc:
            raise TopologyError(f"topology fragment {fragment}: {_describe(exc)}") from None
    if port_offset is None:
        port_offset = _offset_from_environment()
    try:
        topology = _parse(document, port_offset, orderer_type)
    except (KeyError, TypeError, ValueError) as exc:
        raise TopologyError(f"topology {source}: {_describe(exc)}") from None
    _check(topology, source)
    return topology


def _merged(organizations: list[dict[str, Any]], added: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`organizations` with a fragment's: new ones appended, peers of known ones added to them."""
    merged = [dict(org) for org in organizations]
    by_name = {str(org["name"]): org for org in merged}
    for org in added:
        known = by_name.get(str(org["name"]))
        if known is None:
            merged.append(org)
            continue
        others = sorted(set(org) - {"name", "peers"})
        if others:
            raise ValueError(
                f"organisation {org['name']} is in the topology: a fragment may add peers to it, "
                f"not {', '.join(others)}"
            )
        known["peers"] = [*(known.get("peers") or ()), *(org.get("peers") or ())]
    return merged


def _read(source: Path) -> Any:
    try:
        return yaml.safe_load(source.read_text(encoding="utf-8"))
    except OSError as exc:
        raise TopologyError(f"cannot read topology {source}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise TopologyError(f"topology {source} is not valid YAML: {str(exc).splitlines()[0]}") from None


def _offset_from_environment() -> int:
    raw = os.environ.get(PORT_OFFSET_VARIABLE, "0") or "0"
    try:
        offset = int(raw)
    except ValueError:
        raise TopologyError(f"{PORT_OFFSET_VARIABLE} must be a whole number, not {raw!r}") from None
    if not 0 <= offset < 50_000:
        raise TopologyError(f"{PORT_OFFSET_VARIABLE} must be between 0 and 49999, not {offset}")
    return offset


def _describe(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"missing key {exc.args[0]!r}"
    return str(exc)


def _parse(document: Any, offset: int, orderer_type: str | None = None) -> Topology:
    if not isinstance(document, dict):
        raise TypeError("the topology must be a YAML mapping")
    chaincode = document["chaincode"]
    ordering = document.get("ordering", {})
    orderer_type = orderer_type or os.environ.get(ORDERER_TYPE_VARIABLE) or str(ordering.get("type", RAFT))
    lifetime = (document.get("certificates") or {}).get("lifetime")
    organizations = tuple(
        _parse_org(raw, offset, orderer_type, str(lifetime) if lifetime else None)
        for raw in document["organizations"]
    )
    return Topology(
        channel=str(document["channel"]),
        chaincode=ChaincodeSpec(
            str(chaincode["name"]), str(chaincode["version"]), str(chaincode["endorsement_policy"])
        ),
        batch_timeout=str(ordering.get("batch_timeout", "250ms")),
        max_message_count=int(ordering.get("max_message_count", 100)),
        organizations=organizations,
        port_offset=offset,
        fabric_version=os.environ.get(FABRIC_VERSION_VARIABLE)
        or str(document.get("fabric_version", FABRIC_VERSION)),
        orderer_type=orderer_type,
    )


def _parse_org(
    raw: dict[str, Any], offset: int, orderer_type: str, lifetime: str | None = None
) -> Organization:
    def port(entry: dict[str, Any], key: str) -> int:
        return int(entry[key]) + offset

    # The nodes point back at their organisation, so the organisation is built first and filled in.
    org = Organization(str(raw["name"]), str(raw["msp_id"]), str(raw["domain"]), None, None, None, (), ())  # type: ignore[arg-type]
    ca_raw, tls_raw = raw["ca"], raw["tls_ca"]
    ca = CertificateAuthority(
        org,
        str(ca_raw.get("name", "ca")),
        port(ca_raw, "port"),
        port(ca_raw, "operations_port"),
        certificate_lifetime=lifetime,
    )
    tls_ca = CertificateAuthority(
        org,
        str(tls_raw.get("name", "tlsca")),
        port(tls_raw, "port"),
        port(tls_raw, "operations_port"),
        TLS_CA,
        certificate_lifetime=lifetime,
    )
    orderers = tuple(
        Orderer(
            org,
            str(o["name"]),
            port(o, "port"),
            port(o, "cluster_port"),
            port(o, "admin_port"),
            port(o, "operations_port"),
        )
        for o in raw.get("orderers") or ()
        # An orderer may exist for one consensus only (`only_with: bft`): BFT needs 3f+1 of them.
        if o.get("only_with", orderer_type) == orderer_type
    )
    peers = tuple(
        Peer(org, str(p["name"]), port(p, "port"), port(p, "chaincode_port"), port(p, "operations_port"))
        for p in raw.get("peers") or ()
    )
    object.__setattr__(org, "ca", ca)
    object.__setattr__(org, "tls_ca", tls_ca)
    server_raw = raw["chaincode_server"]
    metrics_port = port(server_raw, "metrics_port") if "metrics_port" in server_raw else None
    object.__setattr__(org, "chaincode_server", ChaincodeServer(org, port(server_raw, "port"), metrics_port))
    object.__setattr__(org, "orderers", orderers)
    object.__setattr__(org, "peers", peers)
    return org


def _check(topology: Topology, source: Path) -> None:
    problems: list[str] = []
    ports = topology.ports()
    duplicated = sorted({p for p in ports if ports.count(p) > 1})
    if duplicated:
        problems.append(f"ports used twice: {', '.join(map(str, duplicated))}")
    if any(not 0 < p < 65536 for p in ports):
        problems.append("a port is outside 1-65535 (is the port offset too large?)")
    if topology.fabric_version not in FABRIC_VERSIONS:
        problems.append(
            f"fabric_version {topology.fabric_version} is not a pinned release ({', '.join(FABRIC_VERSIONS)})"
        )
    problems += _ordering_problems(topology)
    if not topology.ordering_organizations:
        problems.append("at least one organisation must run an orderer")
    if not all(org.peers for org in topology.organizations):
        problems.append("every organisation needs at least one peer")
    if any(org.ca.name == org.tls_ca.name for org in topology.organizations):
        problems.append("an organisation's identity CA and TLS CA need different names")
    msp_ids = [org.msp_id for org in topology.organizations]
    if len(set(msp_ids)) != len(msp_ids):
        problems.append("MSP ids must differ")
    if problems:
        raise TopologyError(f"topology {source}: " + "; ".join(problems))


def _ordering_problems(topology: Topology) -> list[str]:
    kind, count = topology.orderer_type, len(topology.orderers)
    if kind not in ORDERER_TYPES:
        return [f"ordering type {kind!r} is not one of {', '.join(ORDERER_TYPES)} ({ORDERER_TYPE_VARIABLE})"]
    # An even count tolerates no more crashes than one fewer, but a joining organisation's own orderer
    # makes one (three organisations: 2 + 1 + 1); Raft's quorum stays a majority of them.
    if kind == RAFT and not 1 <= count <= 5:
        return [f"Raft needs 1 to 5 orderers, not {count}"]
    if kind == BFT and topology.fabric_major < 3:
        return [f"BFT ordering needs Fabric 3 (SmartBFT, V3_0 capability), not {topology.fabric_version}"]
    if kind == BFT and count < 4:
        # 3f+1 consenters tolerate f faulty ones: fewer than 4 tolerate none.
        return [f"BFT needs at least 4 orderers (3f+1 tolerate f faulty), not {count}"]
    return []
