"""`network.sh renew [--within 30d] [--dry-run]`: every certificate that expires within the window is
renewed at the CA that issued it, one node at a time, the channel serving throughout.

What each renewal needs beside the new certificate (`reenrolment` gets it, keeping the identity):

| holder                              | then                                                           |
|-------------------------------------|----------------------------------------------------------------|
| a CA server's own TLS certificate   | the CA restarts and issues itself a new one                    |
| registrars, operations clients,     | nothing: their certificates are read when they are used        |
| profile users (the demo's cast)     |                                                                |
| an organisation's admin             | its TLS certificate is pinned by its orderers' admin endpoints: |
|                                     | they restart (one at a time) with the new pin                  |
| an orderer (Raft)                   | keeps its key; its consenter entry in the channel config takes |
|                                     | the new certificate (one consenter per update, signed by a      |
|                                     | majority of the ordering organisations), then it restarts      |
| a peer                              | restarts                                                       |
| a chaincode server                  | restarts (the packages carry only the TLS CA's root: unchanged) |
| the peers' chaincode client         | its certificate is in each chaincode package's connection.json: |
|                                     | new packages, a new sequence every organisation approves, then  |
|                                     | the servers serve the new package IDs                           |

After each restart it waits until the node answers its health check, the ordering service has a
leader again and the node has caught up (its ledger height), before the next one. A CA's root
(`ca-cert.pem`) is never renewed here: a new root is a new trust anchor, a channel config change of its
own; it is listed when due.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from fabric_protos.common import configtx_pb2

from . import channel, config_updates, deployment
from . import consenter_certificates as consenters
from .admin import metrics, operations_client, wait_until
from .certificate_exporter import CA, certificate_files, expiry
from .context import NetworkContext, NetworkError
from .crypto import chaincode_client_name
from .layout import NodeFiles
from .reenrolment import recover_directory, renew_msp, renew_tls
from .serving import served
from .topology import BFT, CertificateAuthority, Orderer, Organization, Peer

if TYPE_CHECKING:
    from .network import Network

DEFAULT_WINDOW = timedelta(days=30)
CATCH_UP_TIMEOUT = 180.0
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
        when = "expired" if left.total_seconds() <= 0 else f"expires in {_duration(left)}"
        return f"{self.identity} {self.kind} ({when}, {self.not_after:%Y-%m-%d %H:%M:%S} UTC)"


def _duration(left: timedelta) -> str:
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
    identities: list[Path] = field(default_factory=list)
    orderers: list[Orderer] = field(default_factory=list)
    pinned_by: dict[str, Organization] = field(default_factory=dict)  # orderer restarts for its admin
    peers: list[Peer] = field(default_factory=list)
    chaincode_servers: list[Organization] = field(default_factory=list)
    chaincode_clients: list[Organization] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.cas or self.identities or self.orderers or self.peers or self.chaincode_servers
                    or self.chaincode_clients)  # fmt: skip

    def lines(self, now: datetime) -> list[str]:
        said = [f"  due: {due.describe(now)}" for due in self.certificates]
        said += [f"  not renewed here (a CA root): {due.describe(now)}" for due in self.roots]
        said += [f"  CA {ca.node_id}: its TLS certificate, then a restart" for ca in self.cas]
        said += [f"  identity {path.name} ({path.parent.parent.name}): reenrol" for path in self.identities]
        for orderer in self.orderers:
            why = (
                "its admin's TLS pin" if orderer.node_id in self.pinned_by else "enrolment and TLS, same key"
            )
            said.append(f"  orderer {orderer.node_id}: {why}; consenter update; restart")
        said += [f"  peer {peer.node_id}: enrolment and TLS; restart" for peer in self.peers]
        said += [f"  chaincode server of {org.name}: TLS; restart" for org in self.chaincode_servers]
        said += [
            f"  chaincode client of {org.name}: TLS; new packages, a new sequence, servers on the new IDs"
            for org in self.chaincode_clients
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
    plan.cas = [ca for home, ca in ca_homes.items() if home in holders]
    orderers = {layout.node(o.node_id).root: o for o in topology.orderers}
    peers = {layout.node(p.node_id).root: p for p in topology.peers}
    for org in topology.organizations:
        if layout.node(org.chaincode_server.node_id).root in holders:
            plan.chaincode_servers.append(org)
        if layout.node(chaincode_client_name(org)).root in holders:
            plan.chaincode_clients.append(org)
    plan.orderers = [o for root, o in orderers.items() if root in holders]
    plan.peers = [p for root, p in peers.items() if root in holders]
    processes = set(ca_homes) | set(orderers) | set(peers)
    processes |= {layout.node(org.chaincode_server.node_id).root for org in topology.organizations}
    processes |= {layout.node(chaincode_client_name(org)).root for org in topology.organizations}
    plan.identities = sorted(holder for holder in holders if holder not in processes)
    for org in topology.organizations:
        if layout.org_admin(org).root in holders:
            for orderer in org.orderers:
                if orderer not in plan.orderers:
                    plan.orderers.append(orderer)
                    plan.pinned_by[orderer.node_id] = org
    return plan


def _holder(path: Path) -> Path:
    """The directory of the identity (or CA server) a certificate file belongs to."""
    if path.parent.name == "signcerts":
        return path.parents[2]  # <holder>/msp/signcerts/cert.pem
    if path.parent.name == "tls":
        return path.parents[1]  # <holder>/tls/server.crt
    return path.parent  # a CA server's tls-cert.pem


def renew(network: Network, within: timedelta = DEFAULT_WINDOW, dry_run: bool = False) -> RenewalPlan:
    """Renews what is due within `within` (see the module's table); with `dry_run`, only says what."""
    now = datetime.now(UTC)
    plan = plan_renewal(network, within, now)
    say = network.say
    say(f"renew: {len(plan.certificates)} certificate(s) expire within {_duration(within)}")
    for line in plan.lines(now):
        say(line)
    if dry_run or plan.empty:
        return plan
    _Renewal(network, plan).run()
    left = [d for d in due_certificates(network.layout.root, within) if d.kind != CA]
    if left:
        raise NetworkError("still due after renewal: " + "; ".join(d.describe(now) for d in left))
    say("renew: done; no certificate but CA roots expires within the window")
    return plan


class _Renewal:
    def __init__(self, network: Network, plan: RenewalPlan) -> None:
        self.network = network
        self.plan = plan
        self.layout = network.layout
        self.topology = network.topology

    def run(self) -> None:
        timed = self._timed
        for ca in self.plan.cas:
            timed(f"CA {ca.node_id}", partial(self._ca, ca))
        for holder in self.plan.identities:
            self._identity(NodeFiles(holder))
        for orderer in self.plan.orderers:
            renew_certificates = orderer.node_id not in self.plan.pinned_by
            timed(orderer.node_id, partial(self._orderer, orderer, renew_certificates))
        for peer in self.plan.peers:
            timed(peer.node_id, partial(self._peer, peer))
        for org in self.plan.chaincode_servers:
            renew_tls(self.layout, self.topology, self.layout.node(org.chaincode_server.node_id))
            self.network.say(f"renew: chaincode server of {org.name}: TLS renewed")
        for org in self.plan.chaincode_clients:
            renew_tls(self.layout, self.topology, self.layout.node(chaincode_client_name(org)))
            self.network.say(f"renew: chaincode client of {org.name}: TLS renewed")
        restarted: set[str] = set()
        if self.plan.chaincode_clients:
            timed(
                "chaincode packages",
                lambda: restarted.update(self._new_packages(self.plan.chaincode_clients)),
            )
        for org in self.plan.chaincode_servers:
            if org.msp_id not in restarted:
                timed(f"chaincode servers of {org.name}", partial(self._restart_servers, org))

    def _timed(self, what: str, step: Callable[[], object]) -> None:
        began = time.monotonic()
        step()
        self.network.say(f"renew: {what}: took {time.monotonic() - began:.1f} s")

    # ---- each kind of holder ---------------------------------------------------------------------

    def _ca(self, ca: CertificateAuthority) -> None:
        runtime = self.network.runtime
        runtime.stop([ca])
        # fabric-ca-server issues itself a TLS certificate (profile "tls") when it starts without one.
        (self.layout.ca_server_home(ca) / "tls-cert.pem").unlink(missing_ok=True)
        runtime.start([ca])
        self.network.say(f"renew: CA {ca.node_id}: restarted with a new TLS certificate")

    def _identity(self, files: NodeFiles, keep_key: bool = False) -> list[str]:
        renewed = []
        if (files.msp / "signcerts").is_dir():
            certificate = renew_msp(self.layout, self.topology, files.msp, keep_key)
            renewed.append(f"enrolment until {certificate.not_valid_after_utc:%Y-%m-%d %H:%M:%S}")
        if files.tls_cert.is_file():
            certificate = renew_tls(self.layout, self.topology, files, keep_key)
            renewed.append(f"TLS until {certificate.not_valid_after_utc:%Y-%m-%d %H:%M:%S}")
        self.network.say(f"renew: {files.root.name}: {', '.join(renewed)} UTC")
        return renewed

    def _orderer(self, orderer: Orderer, renew_certificates: bool) -> None:
        if renew_certificates:
            # Raft and SmartBFT match a consenter by its public key: keeping it keeps the node a
            # consenter across the restart, whatever the order of the config update and the restart.
            self._identity(self.layout.node(orderer.node_id), keep_key=True)
            self.network.org_definition(orderer.org)  # the consenter's certificate, public
            self._update_consenter(orderer)
        heights = self._orderer_heights()
        self._restart(orderer)
        target = max(heights.values(), default=0)
        self._wait(lambda: self._orderer_heights().get(orderer.node_id, 0) >= target,
                   f"{orderer.node_id} caught up to block {target}")  # fmt: skip
        self._wait(lambda: channel.ordering_leader(self.network) is not None, "an ordering leader")
        if self.topology.orderer_type != BFT:
            self._wait(self._all_consenters_active, "every Raft consenter active")
        self.network.say(
            f"renew: {orderer.node_id}: serving, caught up; leader {channel.ordering_leader(self.network)}"
        )

    def _peer(self, peer: Peer) -> None:
        self._identity(self.layout.node(peer.node_id))
        target = self._height(peer)
        self._restart(peer)
        self._wait(lambda: self._height(peer) >= target, f"{peer.node_id} caught up to block {target}")
        self._wait(lambda: channel.ordering_leader(self.network) is not None, "an ordering leader")
        self.network.say(f"renew: {peer.node_id}: serving, caught up")

    def _restart(self, node: Orderer | Peer) -> None:
        runtime = self.network.runtime
        runtime.stop([node])
        runtime.start([node])  # waits for its /healthz

    def _wait(self, check: Callable[[], bool], what: str) -> None:
        wait_until(check, what, CATCH_UP_TIMEOUT, lambda: True)

    # ---- what the channel needs ------------------------------------------------------------------

    def _update_consenter(self, orderer: Orderer) -> None:
        tls_pem = self.layout.consenter_cert(orderer).read_bytes()
        identity_pem = self.layout.consenter_identity(orderer).read_bytes()
        members = self.topology.ordering_organizations
        if self.topology.orderer_type != BFT:
            self._wait(self._all_consenters_active, "every Raft consenter active")
        current = config_updates.channel_config(self.network, members[0])
        if consenters.carries(current, tls_pem, identity_pem):
            return
        if consenters.rotate(current, tls_pem, identity_pem) == 0:
            raise NetworkError(f"{orderer.node_id}: no consenter of the channel has its key")

        def change(config: configtx_pb2.Config) -> None:
            consenters.rotate(config, tls_pem, identity_pem)

        from .org_join import sign_and_submit

        name = f"renew-consenter-{orderer.node_id}"
        sign_and_submit(self.network, config_updates.propose(self.network, members[0], name, change), members)

        def committed() -> bool:
            config = config_updates.channel_config(self.network, members[0])
            return consenters.carries(config, tls_pem, identity_pem)

        # SmartBFT accepts an update at broadcast and validates it when ordering: the next update must
        # be computed from the config this one made.
        self._wait(committed, f"the config update of {orderer.node_id}'s consenter entry")
        self.network.say(f"renew: {orderer.node_id}: its consenter entry carries the new certificates")

    def _new_packages(self, renewed: Iterable[Organization]) -> set[str]:
        """Each served chaincode gets packages with the new client certificates, on a new sequence."""
        renewed_ids = {org.msp_id for org in renewed}
        restarted: set[str] = set()
        orgs = self.topology.organizations
        names = sorted({service.spec.name for org in orgs for service, _ in served(self.layout, org)})
        for name in names:
            holders = [
                (org, s, pid) for org in orgs for s, pid in served(self.layout, org) if s.spec.name == name
            ]
            current = deployment.committed(self.network, name)
            if current is None:
                continue
            sequence = current.sequence + 1
            self.network.say(
                f"renew: {name}: new packages (the chaincode client's certificate), sequence {sequence}"
            )
            new_ids = {
                org.msp_id: deployment.install(self.network, org, service) for org, service, _ in holders
            }
            for org, service, _ in holders:
                deployment.approve(self.network, org, service, new_ids[org.msp_id], sequence)
            first, service, _ = holders[0]
            # The commit waits for one peer of each organisation to commit the definition; from then on
            # the peers launch the new package IDs, which only servers started with them answer: until
            # they are, calls of the chaincode fail ("chaincode is not running"), so they start at once.
            began = time.monotonic()
            deployment.commit(self.network, first, service, sequence)
            for org, service, old_id in holders:
                if new_ids[org.msp_id] != old_id:
                    self.network.runtime.serve_chaincode(org, service, new_ids[org.msp_id])
                    if org.msp_id in renewed_ids:
                        restarted.add(org.msp_id)
            self.network.say(
                f"renew: {name}: servers on the new packages {time.monotonic() - began:.1f} s after commit"
            )
            for org, _, _ in holders[1:]:
                deployment.wait_committed(self.network, org, name, sequence)
        return restarted

    def _restart_servers(self, org: Organization) -> None:
        self.network.runtime.stop([org.chaincode_server])
        deployment.resume_servers(self.network, self.network.runtime, (org,))
        self.network.say(f"renew: chaincode servers of {org.name}: restarted with the new TLS certificate")

    # ---- heights ---------------------------------------------------------------------------------

    def _gauges(self, port: int, org: Organization, *names: str) -> dict[str, float]:
        """The channel's value of each gauge `names` the node reports (absent ones left out)."""
        found: dict[str, float] = {}
        for line in metrics(port, operations_client(self.layout, org)).splitlines():
            for name in names:
                if line.startswith(f'{name}{{channel="{self.topology.channel}"}}'):
                    found[name] = float(line.rsplit(" ", 1)[1])
        return found

    def _metric_height(self, port: int, org: Organization) -> int | None:
        height = self._gauges(port, org, "ledger_blockchain_height").get("ledger_blockchain_height")
        return None if height is None else int(height)

    def _all_consenters_active(self) -> bool:
        """Every orderer counts every consenter active (the leader's count, passed on to the followers).

        An orderer refuses a consenter change that it believes would lose quorum, counting the nodes
        active as the leader last told it: just after a restart it knows of none."""
        names = ("consensus_etcdraft_active_nodes", "consensus_etcdraft_cluster_size")
        for orderer in self.topology.orderers:
            gauges = self._gauges(orderer.operations_port, orderer.org, *names)
            if len(gauges) < 2 or not 0 < gauges[names[1]] <= gauges[names[0]]:
                return False
        return True

    def _height(self, peer: Peer) -> int:
        return self._metric_height(peer.operations_port, peer.org) or 0

    def _orderer_heights(self) -> dict[str, int]:
        found = {}
        for orderer in self.topology.orderers:
            height = self._metric_height(orderer.operations_port, orderer.org)
            if height is not None:
                found[orderer.node_id] = height
        return found
