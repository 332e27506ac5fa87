"""Fixtures for the Gateway client tests.

Every test runs twice: against `gateway_double` (a Gateway servicer over an embedded ledger) on
127.0.0.1 with TLS, and against the real Fabric v2.5.16 peer of the session's network (marked
`fabric`) with the `assets` test contract deployed; a test that passes on the double and fails on the
peer is a bug in the double. To aim the `fabric` runs at another peer instead, set FABRIC_GATEWAY_TARGET
(host:port), FABRIC_GATEWAY_TLS_ROOT_CERT (PEM path), FABRIC_GATEWAY_MSP_ID, FABRIC_GATEWAY_MSP_DIR,
FABRIC_GATEWAY_CHANNEL and optionally FABRIC_GATEWAY_SERVER_NAME. Tests that need the double's knobs
skip on a real peer.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import double_fixtures
import fabric_gateway as fg
import pytest
from asset_chaincode import CHAINCODE_NAME
from fabric_network_support import NetworkClient
from gateway_double import GatewayDouble, RunningGateway
from gateway_target import GatewayTarget
from tls_pki import TlsMaterial

CHANNEL = double_fixtures.CHANNEL
# The double's fixtures, shared with the other folder that starts it.
tls, ledger, running = double_fixtures.tls, double_fixtures.ledger, double_fixtures.running


def _real_peer() -> GatewayTarget | None:
    target = os.environ.get("FABRIC_GATEWAY_TARGET")
    if not target:
        return None
    identity, signer = fg.load_msp_directory(
        os.environ["FABRIC_GATEWAY_MSP_ID"], os.environ["FABRIC_GATEWAY_MSP_DIR"]
    )
    with open(os.environ["FABRIC_GATEWAY_TLS_ROOT_CERT"], "rb") as stream:
        root = stream.read()
    return GatewayTarget(
        target,
        root,
        identity,
        signer,
        os.environ.get("FABRIC_GATEWAY_CHANNEL", CHANNEL),
        CHAINCODE_NAME,
        server_name=os.environ.get("FABRIC_GATEWAY_SERVER_NAME"),
    )


def _session_network_peer(request: pytest.FixtureRequest) -> GatewayTarget:
    client: NetworkClient = request.getfixturevalue("assets_on_fabric")
    identity, signer = fg.load_msp_directory(client.msp_id, client.msp_dir)
    return GatewayTarget(
        client.address,
        client.tls_root.read_bytes(),
        identity,
        signer,
        client.channel,
        CHAINCODE_NAME,
        server_name=client.server_name,
    )


@pytest.fixture(params=["double", pytest.param("fabric", marks=pytest.mark.fabric)])
def gateway_target(request: pytest.FixtureRequest, tls: TlsMaterial) -> GatewayTarget:
    if request.param == "fabric":
        return _real_peer() or _session_network_peer(request)
    running: RunningGateway = request.getfixturevalue("running")
    alice = running.double.ledger.identities.enroll("alice", "Org1MSP")
    # The embedded ledger keeps the key inside its Identity; the client gets its own ECDSA signer over it.
    signer = fg.new_private_key_signer(alice._private_key)
    return GatewayTarget(
        running.target,
        tls.ca_pem,
        fg.X509Identity(alice.msp_id, alice.certificate_pem.encode()),
        signer,
        CHANNEL,
        CHAINCODE_NAME,
        double=running.double,
        tls=tls,
    )


@pytest.fixture
def double(gateway_target: GatewayTarget) -> GatewayDouble:
    """The double behind `gateway_target`; skips against a real peer (its knobs do not exist there)."""
    if gateway_target.double is None:
        pytest.skip("needs the gateway double")
    return gateway_target.double


@pytest.fixture
def gateway(gateway_target: GatewayTarget) -> Iterator[fg.Gateway]:
    with gateway_target.connect() as connected:
        yield connected


@pytest.fixture
def contract(gateway: fg.Gateway, gateway_target: GatewayTarget) -> fg.Contract:
    return gateway.get_network(gateway_target.channel).get_contract(gateway_target.chaincode)
