"""The native network: bring it up, deploy the chaincode, report its status, bring it down.

Every step is idempotent: `up` after `down` (or after an interrupted `up`) resumes with the same
identities, ledgers and channel, and starts only what is not running.
"""

from __future__ import annotations

import shutil
import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

from . import crypto, lifecycle
from .admin import (
    NotReadyError,
    OperationsClient,
    OrdererAdmin,
    PeerAdmin,
    healthy,
    metrics,
    operations_client,
    wait_until,
)
from .binaries import CommandError, FabricBinaries, find_binaries, run_tool
from .configs import (
    ca_process,
    initialise_ca,
    orderer_process,
    peer_process,
    write_configtx,
    write_genesis_block,
)
from .layout import NetworkLayout, default_network_home
from .processes import ProcessSpec, running_pid, start, stop, tail
from .topology import LOOPBACK, Peer, Topology, load_topology

Say = Callable[[str], None]
STARTUP_TIMEOUT = 60.0


class NetworkError(RuntimeError):
    """A step of bringing up or deploying the network failed; the message says which and why."""


@dataclass
class Network:
    topology: Topology
    layout: NetworkLayout
    binaries: FabricBinaries
    say: Say

    @classmethod
    def open(
        cls,
        home: Path | None = None,
        topology_file: Path | None = None,
        say: Say = print,
        port_offset: int | None = None,
    ) -> Network:
        """The network kept in `home`; `port_offset` defaults to $SEOCHO_NETWORK_PORT_OFFSET."""
        layout = NetworkLayout((home or default_network_home()).resolve())
        topology = load_topology(topology_file, port_offset)
        return cls(topology, layout, find_binaries(topology.fabric_version), say)

    # ---- processes -----------------------------------------------------------------------------------

    def _start_node(
        self, spec: ProcessSpec, operations_port: int, client: OperationsClient | None = None
    ) -> None:
        if running_pid(spec.pid_file) is not None and healthy(operations_port, client):
            self.say(f"  {spec.node_id}: already running")
            return
        self._check_ports_free(spec.node_id)
        start(spec)
        try:
            wait_until(
                lambda: healthy(operations_port, client),
                f"{spec.node_id} health check",
                STARTUP_TIMEOUT,
                lambda: running_pid(spec.pid_file) is not None,
            )
        except NotReadyError as exc:
            raise NetworkError(f"{exc}; last lines of {spec.log_file}:\n{tail(spec.log_file, 15)}") from None
        self.say(f"  {spec.node_id}: running (log {spec.log_file})")

    def _check_ports_free(self, node_id: str) -> None:
        for port in self._ports_of(node_id):
            with socket.socket() as probe:
                if probe.connect_ex((LOOPBACK, port)) == 0:
                    raise NetworkError(
                        f"{node_id} cannot start: port {port} on {LOOPBACK} is taken by another program "
                        "(set SEOCHO_NETWORK_PORT_OFFSET to move the whole network)"
                    )

    def _ports_of(self, node_id: str) -> list[int]:
        for org in self.topology.organizations:
            for ca in (org.ca, org.tls_ca):
                if ca.node_id == node_id:
                    return [ca.port, ca.operations_port]
            if node_id.endswith(org.chaincode_server.node_id):
                return []  # a chaincode server's port depends on which chaincode it serves
            for o in org.orderers:
                if o.node_id == node_id:
                    return [o.port, o.cluster_port, o.admin_port, o.operations_port]
            for p in org.peers:
                if p.node_id == node_id:
                    return [p.port, p.chaincode_port, p.operations_port]
        return []

    def pid_files(self) -> dict[str, Path]:
        """Every process of the network by node id, chaincode servers included, in start order."""
        files = {ca.node_id: self.layout.ca_server_home(ca) / "ca.pid" for ca in self.topology.cas}
        for node_id in self.topology.node_ids()[len(self.topology.cas) :]:
            files[node_id] = self.layout.node(node_id).pid
        servers = [org.chaincode_server.node_id for org in self.topology.organizations]
        nodes = self.layout.root / "nodes"
        # Servers of further chaincodes (tests, benchmarks) live beside the coin's, as NAME.chaincode.DOMAIN.
        servers += sorted(p.name for p in nodes.glob("*.chaincode.*")) if nodes.is_dir() else []
        for node_id in servers:
            files[node_id] = self.layout.node(node_id).pid
        return files

    def log_file(self, node_id: str) -> Path:
        for ca in self.topology.cas:
            if ca.node_id == node_id:
                return self.layout.ca_server_home(ca) / "ca.log"
        return self.layout.node(node_id).log

    # ---- up ------------------------------------------------------------------------------------------

    def up(self) -> None:
        self.layout.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.say(f"up: network home {self.layout.root}")
        self.say("up: certificate authorities")
        for ca in self.topology.cas:  # each organisation's identity CA and TLS CA
            if initialise_ca(self.binaries, self.layout, ca):
                self.say(f"  {ca.node_id}: keys, database and bootstrap registrar created")
            self._start_node(ca_process(self.binaries, self.layout, ca), ca.operations_port)
        self.say("up: identities from each organisation's CA")
        for org in self.topology.organizations:
            for line in crypto.issue_organization(self.layout, org):
                self.say(f"  {line}")
        self.say("up: channel genesis block")
        self._genesis_block()
        self.say("up: orderers (Raft)")
        for orderer in self.topology.orderers:
            self._start_node(
                orderer_process(self.binaries, self.layout, orderer),
                orderer.operations_port,
                operations_client(self.layout, orderer.org),
            )
        self._join_orderers()
        self.say("up: peers")
        for peer in self.topology.peers:
            self._start_node(
                peer_process(self.binaries, self.layout, peer),
                peer.operations_port,
                operations_client(self.layout, peer.org),
            )
        self._join_peers()
        self.say("up: client profile and the demo's identities")
        self._write_profiles()
        self._provision_demo_cast()
        self._restart_chaincode_servers_if_deployed()
        self.say(
            f"up: ready. Next: scripts/network.sh deploy; then seocho --profile {self.layout.profile} demo"
        )

    def _genesis_block(self) -> None:
        block = self.layout.genesis_block
        if block.exists():
            self.say(f"  {block}: exists")
            return
        configtx = write_configtx(self.layout, self.topology)
        write_genesis_block(self.binaries, configtx, self.topology.channel, block)
        self.say(f"  {block}: written for channel {self.topology.channel}")

    def _join_orderers(self) -> None:
        channel = self.topology.channel
        for orderer in self.topology.orderers:
            admin = OrdererAdmin(self.binaries, self.layout, orderer)
            if channel in admin.channels():
                self.say(f"  {orderer.node_id}: member of {channel}")
                continue
            admin.join(channel, self.layout.genesis_block)
            self.say(f"  {orderer.node_id}: joined {channel}")
        first = OrdererAdmin(self.binaries, self.layout, self.topology.orderers[0])
        wait_until(
            lambda: self.raft_leader() is not None, "Raft leader election", STARTUP_TIMEOUT, lambda: True
        )
        self.say(f"  Raft leader: {self.raft_leader()}; height {first.info(channel).get('height')}")

    def _join_peers(self) -> None:
        channel = self.topology.channel
        for peer in self.topology.peers:
            admin = PeerAdmin(self.binaries, self.layout, peer, self.topology)
            if channel in self._channels_once_serving(admin):
                self.say(f"  {peer.node_id}: member of {channel}")
                continue
            admin.join(self.layout.genesis_block)
            self.say(f"  {peer.node_id}: joined {channel} (anchor peer from the channel config)")
        # The Gateway finds the other organisation's endorsers through gossip: wait until all know all.
        others = len(self.topology.peers) - 1
        for peer in self.topology.peers:

            def knows_all(peer: Peer = peer) -> bool:
                return self.peers_known(peer) >= others

            wait_until(knows_all, f"{peer.node_id} gossip membership", STARTUP_TIMEOUT, lambda: True)
        self.say(f"  every peer knows the other {others} through gossip (anchor peers)")

    def _channels_once_serving(self, admin: PeerAdmin) -> list[str]:
        """The peer's channels, asked until its gRPC service answers (its /healthz can answer first)."""
        listed: list[str] = []

        def answered() -> bool:
            try:
                listed[:] = admin.channels()
            except CommandError:
                return False
            return True

        wait_until(answered, f"{admin.peer.node_id} channel list", STARTUP_TIMEOUT, lambda: True)
        return listed

    def peers_known(self, peer: Peer) -> int:
        """How many other peers of the channel `peer` knows through gossip, from its metrics."""
        wanted = f'gossip_membership_total_peers_known{{channel="{self.topology.channel}"}}'
        for line in metrics(peer.operations_port, operations_client(self.layout, peer.org)).splitlines():
            if line.startswith(wanted):
                return int(float(line.rsplit(" ", 1)[1]))
        return 0

    def raft_leader(self) -> str | None:
        """The orderer that leads the channel's Raft cluster, from the orderers' own metrics."""
        channel = self.topology.channel
        for orderer in self.topology.orderers:
            client = operations_client(self.layout, orderer.org)
            for line in metrics(orderer.operations_port, client).splitlines():
                is_gauge = line.startswith("consensus_etcdraft_is_leader") and f'channel="{channel}"' in line
                if is_gauge and line.rsplit(" ", 1)[1].strip() in ("1", "1.0"):
                    return orderer.node_id
        return None

    def _write_profiles(self) -> None:
        district = self.topology.organizations[0]
        tls_dir = self.layout.root / "tls"
        tls_dir.mkdir(exist_ok=True)
        for org in self.topology.organizations:
            # The Gateway's TLS root: the organisation's TLS CA signed its peers' TLS certificates.
            shutil.copyfile(self.layout.org_tls_ca_cert(org), tls_dir / f"{org.name.lower()}-ca.pem")
        existing = self._existing_identities()
        for org, path in [(district, self.layout.profile)] + [
            (org, self.layout.peer_profile(org)) for org in self.topology.organizations
        ]:
            peer = org.peers[0]
            document = {
                "channel": self.topology.channel,
                "chaincode": self.topology.chaincode.name,
                "gateway": {
                    "address": peer.address,
                    "tls_root_cert": f"tls/{org.name.lower()}-ca.pem",
                    "server_name": peer.node_id,
                },
                "identities": existing,
            }
            path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
        self.say(
            f"  {self.layout.profile} (Gateway {district.peers[0].node_id}); one per organisation beside it"
        )

    def _existing_identities(self) -> dict[str, dict[str, str]]:
        try:
            document = yaml.safe_load(self.layout.profile.read_text(encoding="utf-8")) or {}
        except OSError:
            return {}
        return dict(document.get("identities") or {})

    def _provision_demo_cast(self) -> None:
        seocho = Path(sys.executable).with_name("seocho")
        for org in self.topology.organizations:
            command = [
                str(seocho),
                "ca",
                "provision-demo",
                "--url",
                org.ca.url,
                "--tls-root",
                str(self.layout.org_ca_cert(org)),
                "--registrar-msp-dir",
                str(self.layout.ca_registrar(org).msp),
                "--profile",
                str(self.layout.profile),
                "--out",
                str(self.layout.root),
                "--only-msp",
                org.msp_id,
            ]
            try:
                output = run_tool(command, None, what=f"seocho ca provision-demo ({org.msp_id})")
            except CommandError as exc:
                raise NetworkError(str(exc)) from None
            done = [line for line in output.splitlines() if ": " in line and "profile" not in line]
            self.say(f"  {org.msp_id}: {len(done)} identities of the demo's cast")
        # The per-organisation profiles name the same identities.
        identities = self._existing_identities()
        for org in self.topology.organizations:
            path = self.layout.peer_profile(org)
            document = yaml.safe_load(path.read_text(encoding="utf-8"))
            document["identities"] = identities
            path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")

    # ---- deploy --------------------------------------------------------------------------------------

    def peer_admin(self, peer: Peer) -> PeerAdmin:
        return PeerAdmin(self.binaries, self.layout, peer, self.topology)

    def committed(self, name: str | None = None) -> lifecycle.CommittedDefinition | None:
        district_peer = self.topology.organizations[0].peers[0]
        return lifecycle.committed(
            self.peer_admin(district_peer), self.topology, name or self.topology.chaincode.name
        )

    def deploy(
        self, force_new_sequence: bool = False, service: lifecycle.ChaincodeService | None = None
    ) -> None:
        """Deploys `service` (the coin chaincode by default): see `deployment.deploy`."""
        from .deployment import deploy

        deploy(self, service or lifecycle.coin_service(self.topology), force_new_sequence)

    def _restart_chaincode_servers_if_deployed(self) -> None:
        from .deployment import resume_servers

        resume_servers(self)

    # ---- down ----------------------------------------------------------------------------------------

    def down(self, purge: bool = False) -> None:
        for node_id, pid_file in reversed(list(self.pid_files().items())):
            if stop(pid_file):
                self.say(f"down: {node_id} stopped")
        if purge and self.layout.root.exists():
            shutil.rmtree(self.layout.root)
            self.say(f"down: {self.layout.root} removed (ledgers, identities, channel)")
        elif self.layout.root.exists():
            self.say(f"down: data kept in {self.layout.root}; `up` resumes it")


def peer_heights(network: Network) -> dict[str, int | None]:
    heights: dict[str, int | None] = {}
    for peer in network.topology.peers:
        try:
            heights[peer.node_id] = PeerAdmin(
                network.binaries, network.layout, peer, network.topology
            ).height(network.topology.channel)
        except CommandError:
            heights[peer.node_id] = None
    return heights


def orderer_heights(network: Network) -> dict[str, int | None]:
    heights: dict[str, int | None] = {}
    for orderer in network.topology.orderers:
        try:
            info = OrdererAdmin(network.binaries, network.layout, orderer).info(network.topology.channel)
            heights[orderer.node_id] = int(info.get("height", 0))
        except (CommandError, ValueError):
            heights[orderer.node_id] = None
    return heights
