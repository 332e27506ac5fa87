"""What `network.sh renew` will do: the certificates due within a window, grouped by what renewing them
takes (see `renewal`). Planning reads the network home, and asks each orderer and peer which TLS
certificate it presents: one that differs from its files was renewed by an interrupted run and only
needs its restart. It changes nothing but the recovery of an interrupted directory swap.
"""

from __future__ import annotations

import hashlib
import re
import ssl
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from . import lifecycle
from .certificate_exporter import CA, certificate_files, expiry
from .context import NetworkContext
from .crypto import chaincode_client_name
from .layout import NetworkLayout, NodeFiles
from .reenrolment import recover_directory
from .serving import served
from .topology import LOOPBACK, CertificateAuthority, Orderer, Organization, Peer

DEFAULT_WINDOW = timedelta(days=30)
_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}


def parse_window(text: str) -> timedelta:
    """`30d`, `12h`, `90m` or `45s` (a whole number and one unit)."""
    found = re.fullmatch(r"\s*(\d+)\s*([dhms])\s*", text)
    if not found:
        raise ValueError(f"a window is a whole number and a unit (d, h, m or s), like 30d, not {text!r}")
    return timedelta(seconds=int(found.group(1)) * _UNITS[found.group(2)])


@dataclass(frozen=True)
class DueCertificate:
    identity: str
    kind: str
    path: Path
    not_after: datetime

    def describe(self, now: datetime) -> str:
        left = self.not_after - now
        when = "expired" if left.total_seconds() <= 0 else f"expires in {duration(left)}"
        return f"{self.identity} {self.kind} ({when}, {self.not_after:%Y-%m-%d %H:%M:%S} UTC)"


def duration(left: timedelta) -> str:
    seconds = int(left.total_seconds())
    for unit, size in _UNITS.items():
        if seconds >= size * 2 or unit == "s":
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def due_certificates(home: Path, within: timedelta, now: datetime | None = None) -> list[DueCertificate]:
    """Every certificate of the home whose notAfter is within `within` of `now`, soonest first."""
    moment = now or datetime.now(UTC)
    found = []
    for file in certificate_files(home):
        try:
            not_after = datetime.fromtimestamp(expiry(file.path), UTC)
        except ValueError:
            continue
        if not_after - moment < within:
            found.append(DueCertificate(file.identity, file.kind, file.path, not_after))
    return sorted(found, key=lambda due: due.not_after)


@dataclass
class RenewalPlan:
    """What `renew` does, in its order: CAs, identities without a process, orderers, peers, chaincode."""

    certificates: list[DueCertificate]
    roots: list[DueCertificate] = field(default_factory=list)
    cas: list[CertificateAuthority] = field(default_factory=list)
    # CAs whose operations endpoint's certificate is due: read when the server starts, so renewed before
    # its restart (the other CAs of `cas` restart for their own TLS certificate)
    ca_operations: list[CertificateAuthority] = field(default_factory=list)
    ca_tls: list[CertificateAuthority] = field(default_factory=list)  # the server's own TLS certificate due
    identities: list[Path] = field(default_factory=list)
    orderers: list[Orderer] = field(default_factory=list)
    restart_only: dict[str, str] = field(default_factory=dict)  # node id -> why it restarts unrenewed
    peers: list[Peer] = field(default_factory=list)
    chaincode_servers: list[Organization] = field(default_factory=list)
    chaincode_clients: list[Organization] = field(default_factory=list)
    stale_packages: list[Organization] = field(default_factory=list)  # renewed, packages not yet

    @property
    def empty(self) -> bool:
        return not (self.cas or self.identities or self.orderers or self.peers or self.chaincode_servers
                    or self.chaincode_clients or self.stale_packages)  # fmt: skip

    def lines(self, now: datetime) -> list[str]:
        said = [f"  due: {due.describe(now)}" for due in self.certificates]
        said += [f"  not renewed here (a CA root): {due.describe(now)}" for due in self.roots]
        for ca in self.cas:
            what = ["its TLS certificate"] if ca in self.ca_tls else []
            what += ["its operations endpoint's certificate"] if ca in self.ca_operations else []
            why = " and ".join(what) or self.restart_only.get(ca.node_id, "")
            said.append(f"  CA {ca.node_id}: {why}, then a restart")
        said += [f"  identity {path.name} ({path.parent.parent.name}): reenrol" for path in self.identities]
        for orderer in self.orderers:
            why = self.restart_only.get(orderer.node_id, "enrolment and TLS, same key; consenter update")
            said.append(f"  orderer {orderer.node_id}: {why}; restart")
        for peer in self.peers:
            said.append(
                f"  peer {peer.node_id}: {self.restart_only.get(peer.node_id, 'enrolment and TLS')}; restart"
            )
        said += [f"  chaincode server of {org.name}: TLS; restart" for org in self.chaincode_servers]
        said += [
            f"  chaincode client of {org.name}: TLS; new packages, a new sequence, servers on the new IDs"
            for org in self.chaincode_clients
        ]
        said += [
            f"  chaincode packages of {org.name}: they carry an older client certificate; a new sequence"
            for org in self.stale_packages
        ]
        return said


def plan_renewal(ctx: NetworkContext, within: timedelta, now: datetime | None = None) -> RenewalPlan:
    """What is due within `within` and what renewing it takes; recovers interrupted swaps first."""
    layout, topology = ctx.layout, ctx.topology
    # A renewal interrupted between its two renames: the old directory goes back first.
    holders_on_disk = [*layout.users.glob("*/")]
    for org in topology.organizations:
        holders_on_disk += [*layout.nodes_dir(org).glob("*/"), *(layout.org_home(org) / "users").glob("*/")]
    for directory in holders_on_disk:
        for sub in ("msp", "tls"):
            recover_directory(directory / sub)
    due = due_certificates(layout.root, within, now)
    plan = RenewalPlan([d for d in due if d.kind != CA], roots=[d for d in due if d.kind == CA])
    holders = {_holder(d.path) for d in plan.certificates}
    ca_homes = {layout.ca_server_home(ca): ca for ca in topology.cas}
    ca_operations = {layout.ca_operations(ca).root: ca for ca in topology.cas}
    plan.ca_operations = [ca for root, ca in ca_operations.items() if root in holders]
    plan.ca_tls = [ca for home, ca in ca_homes.items() if home in holders]
    plan.cas = [ca for ca in topology.cas if ca in plan.ca_tls or ca in plan.ca_operations]
    orderers = {layout.node(o.node_id).root: o for o in topology.orderers}
    peers = {layout.node(p.node_id).root: p for p in topology.peers}
    for org in topology.organizations:
        if layout.node(org.chaincode_server.node_id).root in holders:
            plan.chaincode_servers.append(org)
        if layout.node(chaincode_client_name(org)).root in holders:
            plan.chaincode_clients.append(org)
    plan.orderers = [o for root, o in orderers.items() if root in holders]
    plan.peers = [p for root, p in peers.items() if root in holders]
    processes = set(ca_homes) | set(ca_operations) | set(orderers) | set(peers)
    processes |= {layout.node(org.chaincode_server.node_id).root for org in topology.organizations}
    processes |= {layout.node(chaincode_client_name(org)).root for org in topology.organizations}
    plan.identities = sorted(holder for holder in holders if holder not in processes)
    for org in topology.organizations:
        if layout.org_admin(org).root in holders:
            for orderer in org.orderers:
                if orderer not in plan.orderers:
                    plan.orderers.append(orderer)
                    plan.restart_only[orderer.node_id] = "its admin's TLS certificate, which it pins"
    # What an interrupted renewal left: a node still presenting the certificate its files replaced, or
    # packages still carrying the chaincode client certificate renewed since.
    stale = "it serves an older TLS certificate than its files"
    for ca in topology.cas:
        if ca not in plan.cas and _serves_older(layout.ca_operations(ca), ca.operations_port):
            plan.cas.append(ca)
            plan.restart_only[ca.node_id] = "its operations endpoint serves an older certificate"
    for orderer in topology.orderers:
        if orderer not in plan.orderers and _serves_older(layout.node(orderer.node_id), orderer.port):
            plan.orderers.append(orderer)
            plan.restart_only[orderer.node_id] = stale
    for peer in topology.peers:
        if peer not in plan.peers and _serves_older(layout.node(peer.node_id), peer.port):
            plan.peers.append(peer)
            plan.restart_only[peer.node_id] = stale
    plan.stale_packages = [
        org
        for org in topology.organizations
        if org not in plan.chaincode_clients and _stale_packages(layout, org)
    ]
    return plan


def _serves_older(files: NodeFiles, port: int) -> bool:
    """The node answers on `port` with another TLS certificate than its files hold (False if it is down)."""
    try:
        presented = ssl.get_server_certificate((LOOPBACK, port), timeout=2)
        current = files.tls_cert.read_bytes()
    except OSError:
        return False
    return ssl.PEM_cert_to_DER_cert(presented) != ssl.PEM_cert_to_DER_cert(current.decode("ascii"))


def _stale_packages(layout: NetworkLayout, org: Organization) -> bool:
    """A package the organisation's servers serve carries another client certificate than its files."""
    client = layout.node(chaincode_client_name(org)).tls_cert
    if not client.is_file():
        return False
    for _service, package_id in served(layout, org):
        label, _, digest = package_id.partition(":")
        package = layout.chaincode_dir(org) / f"{label}.tar.gz"
        try:
            data = package.read_bytes()
        except OSError:
            continue
        if hashlib.sha256(data).hexdigest() != digest:
            return True  # rebuilt since (with a newer certificate) but not served yet
        if lifecycle.package_client_certificate(data) != client.read_text(encoding="utf-8"):
            return True
    return False


def _holder(path: Path) -> Path:
    """The directory of the identity (or CA server) a certificate file belongs to."""
    if path.parent.name == "signcerts":
        return path.parents[2]  # <holder>/msp/signcerts/cert.pem
    if path.parent.name == "tls":
        return path.parents[1]  # <holder>/tls/server.crt
    return path.parent  # a CA server's tls-cert.pem
