"""`network.sh renew [--within 30d] [--dry-run]`: every certificate that expires within the window is
renewed at the CA that issued it, one node at a time, the channel serving throughout.

What each renewal needs beside the new certificate (`reenrolment` gets it, keeping the identity):

| holder                              | then                                                           |
|-------------------------------------|----------------------------------------------------------------|
| a CA server's own TLS certificate   | the CA restarts and issues itself a new one                    |
| a CA's operations endpoint's        | renewed at the TLS CA (after the CAs' own), then the CA restarts |
| certificate                         |                                                                |
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
own; it is listed when due. A run that was interrupted is finished by the next (`renewal_plan`): a node
that still presents the certificate its files replaced restarts, packages still carrying a renewed
chaincode client certificate are replaced.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING

from fabric_protos.common import configtx_pb2

from . import channel, config_updates, deployment, lifecycle
from . import consenter_certificates as consenters
from .admin import wait_until
from .certificate_exporter import CA
from .context import NetworkError
from .crypto import chaincode_client_name
from .layout import NodeFiles
from .reenrolment import renew_msp, renew_tls
from .renewal_plan import (
    DEFAULT_WINDOW,
    DueCertificate,
    RenewalPlan,
    due_certificates,
    duration,
    parse_window,
    plan_renewal,
)
from .serving import served
from .topology import BFT, CertificateAuthority, Orderer, Organization, Peer

if TYPE_CHECKING:
    from .network import Network

__all__ = [
    "DEFAULT_WINDOW", "DueCertificate", "RenewalPlan", "due_certificates", "parse_window", "plan_renewal",
    "renew",
]  # fmt: skip

CATCH_UP_TIMEOUT = 180.0


def renew(network: Network, within: timedelta = DEFAULT_WINDOW, dry_run: bool = False) -> RenewalPlan:
    """Renews what is due within `within` (see the module's table); with `dry_run`, only says what."""
    now = datetime.now(UTC)
    plan = plan_renewal(network, within, now)
    say = network.say
    say(f"renew: {len(plan.certificates)} certificate(s) expire within {duration(within)}")
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
        # First the CAs' own TLS certificates, then their operations certificates: a CA restarted with
        # another lifetime (its config or, in Docker, the topology's) issues those at the new one.
        for ca in self.plan.ca_tls:
            timed(f"CA {ca.node_id}", partial(self._ca_tls, ca))
        for ca in self.plan.cas:
            if ca in self.plan.ca_operations or ca not in self.plan.ca_tls:
                timed(f"CA {ca.node_id} operations", partial(self._ca_operations, ca))
        for holder in self.plan.identities:
            self._identity(NodeFiles(holder))
        for orderer in self.plan.orderers:
            renew_certificates = orderer.node_id not in self.plan.restart_only
            timed(orderer.node_id, partial(self._orderer, orderer, renew_certificates))
        for peer in self.plan.peers:
            timed(peer.node_id, partial(self._peer, peer, peer.node_id not in self.plan.restart_only))
        for org in self.plan.chaincode_servers:
            renew_tls(self.layout, self.topology, self.layout.node(org.chaincode_server.node_id))
            self.network.say(f"renew: chaincode server of {org.name}: TLS renewed")
        for org in self.plan.chaincode_clients:
            renew_tls(self.layout, self.topology, self.layout.node(chaincode_client_name(org)))
            self.network.say(f"renew: chaincode client of {org.name}: TLS renewed")
        restarted: set[str] = set()
        if self.plan.chaincode_clients or self.plan.stale_packages:
            renewed = [*self.plan.chaincode_clients, *self.plan.stale_packages]
            timed("chaincode packages", lambda: restarted.update(self._new_packages(renewed)))
        for org in self.plan.chaincode_servers:
            if org.msp_id not in restarted:
                timed(f"chaincode servers of {org.name}", partial(self._restart_servers, org))

    def _timed(self, what: str, step: Callable[[], object]) -> None:
        began = time.monotonic()
        step()
        self.network.say(f"renew: {what}: took {time.monotonic() - began:.1f} s")

    # ---- each kind of holder ---------------------------------------------------------------------

    def _ca_tls(self, ca: CertificateAuthority) -> None:
        runtime = self.network.runtime
        runtime.stop([ca])
        # fabric-ca-server issues itself a TLS certificate (profile "tls") when it starts without one.
        (self.layout.ca_server_home(ca) / "tls-cert.pem").unlink(missing_ok=True)
        runtime.start([ca])
        self.network.say(f"renew: CA {ca.node_id}: restarted with a new TLS certificate")

    def _ca_operations(self, ca: CertificateAuthority) -> None:
        """Its operations certificate, read when the server starts: renewed at the TLS CA, then a restart
        (or only the restart, when an interrupted run renewed it)."""
        runtime = self.network.runtime
        renewed = "its operations certificate as it was"
        if ca in self.plan.ca_operations:
            certificate = renew_tls(self.layout, self.topology, self.layout.ca_operations(ca))
            until = certificate.not_valid_after_utc
            renewed = f"an operations certificate until {until:%Y-%m-%d %H:%M:%S} UTC"
        runtime.stop([ca])
        runtime.start([ca])
        self.network.say(f"renew: CA {ca.node_id}: restarted with {renewed}")

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
        published = self.layout.consenter_cert(orderer)
        if published.read_bytes() != self.layout.node(orderer.node_id).tls_cert.read_bytes():
            self.network.org_definition(orderer.org)  # the consenter's certificates, public
        self._update_consenter(orderer)  # also what an interrupted run left undone (else nothing)
        heights = self._orderer_heights()
        self._restart(orderer)
        target = max(heights.values(), default=0)
        self._wait(lambda: self._orderer_heights().get(orderer.node_id, 0) >= target,
                   f"{orderer.node_id} caught up to block {target}")  # fmt: skip
        self._wait(lambda: channel.ordering_leader(self.network) is not None, "an ordering leader")
        if self.topology.orderer_type != BFT:
            all_active = partial(channel.all_raft_consenters_active, self.network)
            self._wait(all_active, "every Raft consenter active")
        self.network.say(
            f"renew: {orderer.node_id}: serving, caught up; leader {channel.ordering_leader(self.network)}"
        )

    def _peer(self, peer: Peer, renew_certificates: bool = True) -> None:
        if renew_certificates:
            self._identity(self.layout.node(peer.node_id))
        target = self._height(peer)
        self._restart(peer)
        self._wait(lambda: self._height(peer) >= target, f"{peer.node_id} caught up to block {target}")
        self._wait(lambda: channel.ordering_leader(self.network) is not None, "an ordering leader")
        # The Gateway finds the other organisations' endorsers through gossip: until the peers know each
        # other again, no endorsement policy needing two organisations can be met.
        channel.wait_for_gossip(self.network)
        self.network.say(f"renew: {peer.node_id}: serving, caught up, known to the other peers")

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
        current = config_updates.channel_config(self.network, members[0])
        if consenters.carries(current, tls_pem, identity_pem):
            return
        if consenters.rotate(current, tls_pem, identity_pem) == 0:
            raise NetworkError(f"{orderer.node_id}: no consenter of the channel has its key")

        def change(config: configtx_pb2.Config) -> None:
            consenters.rotate(config, tls_pem, identity_pem)

        from .org_join import majority, submit_consenter_change

        name = f"renew-consenter-{orderer.node_id}"
        update = config_updates.propose(self.network, members[0], name, change)
        submit_consenter_change(self.network, update, majority(members))

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
                (org, self._as_served(s), pid)
                for org in orgs
                for s, pid in served(self.layout, org)
                if s.spec.name == name
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

    def _as_served(self, service: lifecycle.ChaincodeService) -> lifecycle.ChaincodeService:
        """The recorded service as this runtime serves it (the coin's container names its server)."""
        coin = self.network.runtime.coin_service()
        if service.spec.name != coin.spec.name or type(coin) is type(service):
            return service
        return type(coin)(service.spec, service.command, service.digest, service.index, service.environment)

    def _restart_servers(self, org: Organization) -> None:
        self.network.runtime.stop([org.chaincode_server])
        deployment.resume_servers(self.network, self.network.runtime, (org,))
        self.network.say(f"renew: chaincode servers of {org.name}: restarted with the new TLS certificate")

    # ---- heights ---------------------------------------------------------------------------------

    def _metric_height(self, port: int, org: Organization) -> int | None:
        gauge = "ledger_blockchain_height"
        height = channel.channel_gauges(self.network, port, org, gauge).get(gauge)
        return None if height is None else int(height)

    def _height(self, peer: Peer) -> int:
        return self._metric_height(peer.operations_port, peer.org) or 0

    def _orderer_heights(self) -> dict[str, int]:
        found = {}
        for orderer in self.topology.orderers:
            height = self._metric_height(orderer.operations_port, orderer.org)
            if height is not None:
                found[orderer.node_id] = height
        return found
