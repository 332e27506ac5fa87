"""One network, whatever runs its nodes: bring it up, deploy a chaincode, report, bring it down.

`Network` is a `NetworkContext` (topology, files, tools) with a `Runtime` (native processes or Docker
Compose, see `runtime`). Bringing it up is a script of per-organisation steps, each of which the
organisation that owns it runs on its own machine in a real deployment:

    org_up(org)        its CA, its identities, its orderers and peers (no channel yet, no demo cast)
    channel_create()   the genesis block, from every organisation's definition
    channel_join(org)  its orderers and peers join the channel

`up` runs them all for one machine. Every step is idempotent: `up` after `down` (or after an
interrupted `up`) resumes with the same identities, ledgers and channel, and starts only what is down.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from . import ca_operations, channel, crypto, deployment, profiles
from .binaries import find_binaries
from .context import STARTUP_TIMEOUT, NetworkContext, NetworkError, Say
from .definitions import check_definitions, write_definition
from .layout import NetworkLayout, default_network_home
from .lifecycle import ChaincodeService, CommittedDefinition
from .native import NativeRuntime
from .runtime import Node, Runtime
from .topology import CertificateAuthority, ChaincodeServer, Orderer, Organization, Peer, load_topology

__all__ = ["RUNTIMES", "STARTUP_TIMEOUT", "Network", "NetworkError"]

RUNTIMES = ("native", "docker")


OWN_TOPOLOGY = "topology.yaml"
"""A network home's own copy of its topology, once an operation recorded a change in it (the release)."""


def default_home(runtime: str) -> Path:
    if runtime == "docker":
        from .compose import default_docker_home

        return default_docker_home()
    return default_network_home()


@dataclass
class Network(NetworkContext):
    runtime: Runtime = field(init=False)

    def __post_init__(self) -> None:
        if self.runtime_name == "native":
            self.runtime = NativeRuntime(self)
        elif self.runtime_name == "docker":
            from .compose import DockerRuntime

            self.runtime = DockerRuntime(self)
        else:
            raise NetworkError(f"no runtime {self.runtime_name!r}: choose one of {', '.join(RUNTIMES)}")

    @classmethod
    def open(
        cls,
        home: Path | None = None,
        topology_file: Path | None = None,
        say: Say = print,
        port_offset: int | None = None,
        runtime: str = "native",
        joined: Sequence[Path] = (),
    ) -> Network:
        """The network kept in `home`; `port_offset` defaults to $SEOCHO_NETWORK_PORT_OFFSET; `joined` are
        the topology fragments of organisations that joined the channel later (`membership`). Without a
        `topology_file`: the home's own `topology.yaml` if it has one, else the project's default."""
        root = (home or default_home(runtime)).resolve()
        if topology_file is None and (root / OWN_TOPOLOGY).is_file():
            topology_file = root / OWN_TOPOLOGY  # the network's own record (upgrade-fabric writes it)
        topology = load_topology(topology_file, port_offset, joined)
        layout = NetworkLayout.for_topology(root, topology)
        return cls(topology, layout, find_binaries(topology.fabric_version), say, runtime)

    def org(self, name: str) -> Organization:
        """An organisation by name, MSP id or domain."""
        for org in self.topology.organizations:
            if name in (org.name, org.msp_id, org.domain) or name.lower() == org.name.lower():
                return org
        names = ", ".join(org.name for org in self.topology.organizations)
        raise NetworkError(f"no organisation {name!r} in the topology (it has {names})")

    # ---- per organisation ----------------------------------------------------------------------------

    def org_init(self, org: Organization) -> None:
        """The organisation's home, its CA (started) and every identity its nodes and admins need."""
        home = self.layout.org_home(org)
        home.mkdir(parents=True, exist_ok=True, mode=0o700)
        home.chmod(0o700)
        self.say(f"org {org.name}: certificate authorities (TLS, identities)")
        # The TLS CA first: it issues both CA servers' operations certificates (`ca_operations`).
        self.runtime.start([org.tls_ca])
        ca_operations.secure(self, self.runtime, org)
        self.runtime.start([org.tls_ca, org.ca])
        self.say(f"org {org.name}: identities from its CA")
        for line in crypto.issue_organization(self.layout, org):
            self.say(f"  {line}")
        self._write_ca_access(org)
        self.org_definition(org)

    def org_definition(self, org: Organization, out: Path | None = None) -> Path:
        """Writes the organisation's public definition (to `out`, or definitions/<domain>)."""
        return write_definition(self, org, out)

    def _write_ca_access(self, org: Organization) -> None:
        # How the organisation's own tools (`seocho network provision-demo`, `seocho ca ...`) reach its CA.
        document = {
            "msp_id": org.msp_id,
            "url": org.ca.url,
            "tls_root": str(self.layout.ca_server_root(org.ca)),
            "registrar_msp_dir": str(self.layout.ca_registrar(org).msp),
        }
        self.layout.ca_access(org).write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")

    def org_up(self, org: Organization) -> None:
        """`org_init`, then its orderers and peers (and its chaincode servers, if it served before)."""
        self.org_init(org)
        if org.orderers:
            self.say(f"org {org.name}: orderers")
            self.runtime.start(org.orderers)
        self.say(f"org {org.name}: peers")
        self.runtime.start(org.peers)
        # The chaincode servers it ran before `down`, for the packages they served (none on a new network).
        deployment.resume_servers(self, self.runtime, (org,))

    def org_down(self, org: Organization) -> None:
        """Stops the organisation's nodes and chaincode servers; its files stay."""
        self.runtime.stop(list(reversed(_nodes_of(org))))

    # ---- the channel ---------------------------------------------------------------------------------

    def channel_create(self) -> Path:
        """The channel's genesis block, from the organisations' definitions."""
        self.say("channel: genesis block")
        check_definitions(self)
        return channel.create_genesis_block(self, self.runtime.write_configtx)

    def channel_join(self, org: Organization, peers: bool = True) -> None:
        """The organisation's orderers, then its peers (unless not `peers`), join the channel."""
        if org.orderers:
            self.say(f"channel: {org.name}'s orderers join")
            channel.join_orderers(self, org.orderers)
        if peers:
            self.say(f"channel: {org.name}'s peers join")
            channel.join_peers(self, org.peers)

    # ---- one machine -----------------------------------------------------------------------------------

    def up(self) -> None:
        """Every organisation's `org_up`, `channel_create` and every `channel_join`; profiles."""
        self.layout.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.say(f"up: network home {self.layout.root} ({self.runtime.name} runtime)")
        for org in self.topology.organizations:
            self.org_up(org)
        self.channel_create()
        for org in self.topology.organizations:
            self.channel_join(org, peers=False)
        # A peer that joins before ordering works dials the others only on its next gossip round.
        channel.wait_for_ordering_leader(self)
        for org in self.topology.organizations:
            self.channel_join(org)
        channel.wait_for_gossip(self)
        self.say("up: client profiles")
        profiles.write_profiles(self)
        self.say(
            f"up: ready. Next: scripts/network.sh deploy; then seocho --profile {self.layout.profile} demo"
        )

    # ---- the chaincode -------------------------------------------------------------------------------

    def committed(self, name: str | None = None) -> CommittedDefinition | None:
        return deployment.committed(self, name or self.topology.chaincode.name)

    def deploy(self, force_new_sequence: bool = False, service: ChaincodeService | None = None) -> None:
        """Deploys `service` (the coin chaincode, as the runtime serves it, by default)."""
        deployment.deploy(self, self.runtime, service or self.runtime.coin_service(), force_new_sequence)

    # ---- watching ------------------------------------------------------------------------------------

    def raft_leader(self) -> str | None:
        """The consensus leader: Raft's, or SmartBFT's current view's (`ordering_leader`)."""
        return channel.ordering_leader(self)

    def ordering_leader(self) -> str | None:
        return channel.ordering_leader(self)

    def pid_files(self) -> dict[str, Path]:
        """Every process of a native network by node id, chaincode servers included, in start order."""
        if not isinstance(self.runtime, NativeRuntime):
            raise NetworkError("PID files belong to the native runtime")
        return self.runtime.pid_files()

    def logs(self, node: str, lines: int) -> str:
        """The last lines of a node's log; `node` is a node id or the start of one."""
        names = list(self.runtime.states())
        matches = [n for n in names if n == node] or [n for n in names if n.startswith(node)]
        if len(matches) != 1:
            raise NetworkError(f"NODE must name one of: {', '.join(names)}")
        return self.runtime.logs(matches[0], lines)

    # ---- down ----------------------------------------------------------------------------------------

    def down(self, purge: bool = False) -> None:
        nodes: list[Node] = [n for org in self.topology.organizations for n in _nodes_of(org)]
        self.runtime.stop(_stop_order(nodes))
        self.runtime.remove(purge)
        if purge and self.layout.root.exists():
            shutil.rmtree(self.layout.root)
            self.say(f"down: {self.layout.root} removed (ledgers, identities, channel)")
        elif self.layout.root.exists():
            self.say(f"down: data kept in {self.layout.root}; `up` resumes it")


def _nodes_of(org: Organization) -> list[Node]:
    """The organisation's nodes in start order (chaincode servers last)."""
    return [org.ca, org.tls_ca, *org.orderers, *org.peers, org.chaincode_server]


def _stop_order(nodes: list[Node]) -> list[Node]:
    """Chaincode servers, then peers, orderers, CAs: the reverse of how `up` starts them."""
    rank = {ChaincodeServer: 0, Peer: 1, Orderer: 2, CertificateAuthority: 3}
    return sorted(nodes, key=lambda node: rank[type(node)])
