"""Each organisation keeps its own keys: its private material is made in its own home (0700) and what it
hands over (its definition) is public; an organisation's `org up` writes nothing outside its home and
provisions no demo identity."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from fabric_ca import CAError, RegistrationRequest, load_msp
from fabric_network_support import TEST_PORT_OFFSETS, RunningNetwork
from fabric_protos.msp import msp_config_pb2
from seocho_network import config_updates
from seocho_network.crypto import ca_client
from seocho_network.layout import NetworkLayout
from seocho_network.port_offsets import claimed_port_offset
from seocho_network.topology import Organization, load_topology

pytestmark = pytest.mark.fabric
REPO = Path(__file__).resolve().parents[2]


def _holds_private_key(path: Path) -> bool:
    return path.is_file() and b"PRIVATE KEY" in path.read_bytes()


def test_private_keys_live_only_in_their_organisations_homes(fabric_network: RunningNetwork) -> None:
    layout = fabric_network.network.layout
    homes = {layout.org_home(org) for org in fabric_network.topology.organizations}
    for home in homes:
        assert stat.S_IMODE(home.stat().st_mode) == 0o700, home
    keys = [path for path in layout.root.rglob("*") if _holds_private_key(path)]
    assert keys  # nodes, admins, the demo's client identities
    # users/ is the client side: the demo's cast, whose keys its holders keep.
    outside = [p for p in keys if not any(p.is_relative_to(h) for h in homes | {layout.users})]
    assert outside == []
    for org in fabric_network.topology.organizations:
        assert any(p.is_relative_to(layout.org_home(org)) for p in keys), org.name


def test_the_channel_carries_the_definitions_the_organisations_handed_over(
    fabric_network: RunningNetwork,
) -> None:
    layout = fabric_network.network.layout
    config = config_updates.channel_config(fabric_network.network, fabric_network.district)
    for org in fabric_network.topology.organizations:
        definition = layout.definition(org)
        assert not [p for p in definition.rglob("*") if _holds_private_key(p)], org.name
        value = config.channel_group.groups["Application"].groups[org.name].values["MSP"].value
        msp = msp_config_pb2.FabricMSPConfig.FromString(msp_config_pb2.MSPConfig.FromString(value).config)
        assert list(msp.root_certs) == [(definition / "msp" / "cacerts" / "ca.pem").read_bytes()]
        assert list(msp.tls_root_certs) == [layout.definition_tls_root(org).read_bytes()]


def test_an_organisations_org_up_writes_only_into_its_home_and_its_definition(tmp_path: Path) -> None:
    home = tmp_path / "network"
    topology = load_topology()
    partners = topology.organizations[1]
    # Another offset than the session network's (claims are locked); the variable takes < 50000.
    offsets = [offset for offset in TEST_PORT_OFFSETS if offset < 50_000]  # locked ones are skipped
    with claimed_port_offset(offsets) as offset:
        environment = os.environ | {"SEOCHO_NETWORK_PORT_OFFSET": str(offset)}

        def network(*args: str) -> str:
            command = [sys.executable, "-m", "seocho_network", "--home", str(home), *args]
            done = subprocess.run(command, env=environment, capture_output=True, text=True, cwd=REPO)
            assert done.returncode == 0, done.stdout + done.stderr
            return done.stdout

        try:
            said = network("org", "up", partners.name)
            _retire_the_bootstrap_registrar(home, partners, offset, network)
        finally:
            network("org", "down", partners.name)
    own = home / "orgs" / partners.domain
    definition = home / "definitions" / partners.domain
    assert stat.S_IMODE(own.stat().st_mode) == 0o700
    written = [p for p in home.rglob("*") if p.is_file()]
    assert written and all(p.is_relative_to(own) or p.is_relative_to(definition) for p in written)
    assert not [p for p in definition.rglob("*") if _holds_private_key(p)]
    assert (definition / "orderers" / f"{partners.orderers[0].node_id}.crt").exists()
    # No demo cast: no client identities, and the organisation's users are its nodes' tools only.
    assert not (home / "users").exists() and "demo" not in said
    users = {p.name for p in (own / "users").iterdir()}
    assert users <= {"admin", "ca-registrar", "tlsca-registrar", "operations-client"}, users


def _retire_the_bootstrap_registrar(
    home: Path, partners: Organization, offset: int, network: Callable[..., str]
) -> None:
    """After `org retire-registrar`, the bootstrap secret and a copy of its MSP are worthless, the
    successor registers, and every registration enrols once."""
    layout = NetworkLayout.for_topology(home, load_topology(port_offset=offset))
    org = load_topology(port_offset=offset).organizations[1]
    ca_home = layout.ca_home(org)
    secret = (ca_home / "bootstrap-secret").read_text().strip()
    old = load_msp(layout.ca_registrar(org).msp)
    network("org", "retire-registrar", partners.name)
    assert not (ca_home / "bootstrap-secret").exists()
    assert secret.encode() not in (ca_home / "fabric-ca-server-config.yaml").read_bytes()
    with ca_client(layout, org.ca) as client:
        with pytest.raises(CAError):
            client.enroll("ca-registrar", secret)
        with pytest.raises(CAError):
            client.register(old, RegistrationRequest("by-the-old-registrar", "client"))
        successor = load_msp(layout.ca_registrar(org).msp)
        assert successor.enrollment_id == "registrar"
        request = RegistrationRequest("member-after-retirement", "client", max_enrollments=1)
        member_secret = client.register(successor, request)
        client.enroll("member-after-retirement", member_secret)
        with pytest.raises(CAError):  # one enrolment per registration
            client.enroll("member-after-retirement", member_secret)
