"""One real Fabric network for a test session: the project's own `seocho_network`, on shifted ports.

It runs the topology's release (2.5.16); SEOCHO_FABRIC_VERSION=3.1.5 runs the session on v3.1.5.

Suites that need Fabric binaries, Docker or the like skip with the reason where a developer's machine lacks
them; under CI=true the hook in ci_skips.py makes each such skip a failure: CI must never pass by skipping.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import fabric_gateway as fg
import pytest
from fabric_ca import Attribute, CAClient, RegistrationRequest
from seocho.backend import GatewayBackend, connect_gateway
from seocho.coin import Coin
from seocho.network_setup import initialise_ledger, provision_demo
from seocho.profile import load_profile
from seocho_network import Network
from seocho_network.binaries import MissingBinariesError, find_binaries
from seocho_network.crypto import OrganizationCrypto
from seocho_network.lifecycle import ChaincodeService
from seocho_network.port_offsets import NoFreePortOffset, claimed_port_offset
from seocho_network.topology import FABRIC_VERSION_VARIABLE, ChaincodeSpec, Organization, Topology

# Far from the topology's own ports, so a developer's network can run beside the tests'; each test session
# (two checkouts may test at once on one machine) takes the first offset whose lock it gets.
TEST_PORT_OFFSETS = range(30_000, 54_001, 3_000)


@dataclass
class RunningNetwork:
    network: Network
    said: list[str] = field(default_factory=list)

    @property
    def topology(self) -> Topology:
        return self.network.topology

    @property
    def district(self) -> Organization:
        return self.network.topology.organizations[0]

    @property
    def partners(self) -> Organization:
        return self.network.topology.organizations[1]

    def profile(self, org: Organization | None = None) -> Path:
        """The profile whose Gateway is `org`'s peer (the district's by default)."""
        layout = self.network.layout
        return layout.profile if org is None else layout.peer_profile(org)

    @contextlib.contextmanager
    def gateway(self, identity: str, org: Organization | None = None) -> Iterator[fg.Gateway]:
        with connect_gateway(load_profile(self.profile(org)), identity) as gateway:
            yield gateway

    @contextlib.contextmanager
    def contract(
        self, identity: str, org: Organization | None = None, chaincode: str = "seocho"
    ) -> Iterator[fg.Contract]:
        with self.gateway(identity, org) as gateway:
            yield gateway.get_network(self.topology.channel).get_contract(chaincode)

    @contextlib.contextmanager
    def coin(self, identity: str, org: Organization | None = None) -> Iterator[Coin]:
        with self.contract(identity, org) as contract:
            yield Coin(GatewayBackend(contract))


def start_session_network(home: Path, topology_file: Path | None = None) -> Iterator[RunningNetwork]:
    """Brings the network up and deploys the coin; yields it; brings it down and deletes it.

    `topology_file` replaces network/topology.yaml (a test whose network is not the default one)."""
    try:
        find_binaries(os.environ.get(FABRIC_VERSION_VARIABLE) or None)
    except MissingBinariesError as exc:
        pytest.skip(str(exc))
    with _port_offset_lock() as offset:
        yield from _run_session_network(home, offset, topology_file)


@contextlib.contextmanager
def _port_offset_lock() -> Iterator[int]:
    """A port offset no other test session on this machine uses, held until the session ends."""
    try:
        with claimed_port_offset(TEST_PORT_OFFSETS) as offset:
            yield offset
    except NoFreePortOffset as exc:
        pytest.fail(f"{exc}: other test networks still running?")


def _run_session_network(home: Path, offset: int, topology_file: Path | None) -> Iterator[RunningNetwork]:
    said: list[str] = []
    network = Network.open(home, topology_file, say=said.append, port_offset=offset)
    running = RunningNetwork(network, said)
    try:
        network.up()
        # The client's steps, as `network.sh up` and `deploy` run them.
        provision_demo(network.layout.root, say=said.append)
        network.deploy()
        initialise_ledger(network.layout.root, say=said.append)
    except BaseException:
        network.down(purge=False)
        print("\n".join(said))
        raise
    try:
        yield running
    finally:
        network.down()  # the logs stay in pytest's temporary directory (it keeps the last three)


@dataclass(frozen=True)
class NetworkClient:
    """A client identity of the session network, enrolled from the district's CA."""

    msp_id: str
    msp_dir: Path
    address: str
    tls_root: Path
    server_name: str
    channel: str


def deploy_test_chaincode(running: RunningNetwork, name: str, source: Path, factory: str, index: int) -> None:
    """Serves `source`'s `factory()` chaincode as `name` on the network, beside the coin (same policy)."""
    spec = ChaincodeSpec(name, "1.0", running.topology.chaincode.endorsement_policy)
    program = (
        f"import sys; sys.path.insert(0, {str(source.parent)!r}); "
        f"from {source.stem} import {factory}; from fabric_shim.server import run; run({factory}())"
    )
    digest = hashlib.sha256(source.read_bytes()).hexdigest()[:12]
    running.network.deploy(service=ChaincodeService(spec, (sys.executable, "-c", program), digest, index))


def enroll_client(running: RunningNetwork, name: str) -> NetworkClient:
    """A plain client (no seocho attributes) of the district's organisation."""
    org, layout = running.district, running.network.layout
    files = layout.org_user(org, name)
    OrganizationCrypto(layout, org).issue(name, "client", files, tls=False)
    peer = org.peers[0]
    return NetworkClient(
        org.msp_id,
        files.msp,
        peer.address,
        layout.org_tls_ca_cert(org),
        peer.node_id,
        running.topology.channel,
    )


def enroll_identity(
    running: RunningNetwork, org: Organization, name: str, attributes: dict[str, str] | None = None
) -> tuple[fg.X509Identity, fg.Signer]:
    """A new client of `org`, registered at its CA with `attributes` in its certificate."""
    layout = running.network.layout
    registrar = OrganizationCrypto(layout, org).registrar()
    request = RegistrationRequest(
        name, "client", attributes=[Attribute(k, v, ecert=True) for k, v in (attributes or {}).items()]
    )
    with CAClient(org.ca.url, layout.ca_home(org) / "ca-cert.pem", timeout=15) as client:
        secret = client.register(registrar, request)
        enrollment = client.enroll(name, secret)
    msp = enrollment.write_msp(layout.org_user(org, name).msp)
    return fg.load_msp_directory(org.msp_id, msp)


@contextlib.contextmanager
def gateway_as(
    running: RunningNetwork,
    identity: fg.X509Identity,
    signer: fg.Signer | None,
    org: Organization | None = None,
) -> Iterator[fg.Contract]:
    """The coin contract through `org`'s peer (the district's by default), as `identity`."""
    via = org or running.district
    peer = via.peers[0]
    with fg.connect(
        peer.address,
        identity,
        signer,
        tls_root_certs=running.network.layout.org_tls_ca_cert(via),
        server_name_override=peer.node_id,
    ) as gateway:
        yield gateway.get_network(running.topology.channel).get_contract(running.topology.chaincode.name)
