"""Our Python client and the official Node client (@hyperledger/fabric-gateway) on the real network.

The same contract (`assets`) on the session's Fabric v2.5.16 network: what one client commits, the other
reads, and the chaincode events of one client's transactions reach the other.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import fabric_gateway as fg
import pytest
from fabric_network_support import NetworkClient
from node_gateway_client import NodeGatewayClient, NodeIdentity

pytestmark = pytest.mark.fabric


def _key() -> str:
    return f"k-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def node_client(node_modules_installed: Path, assets_on_fabric: NetworkClient) -> NodeGatewayClient:
    client = assets_on_fabric
    return NodeGatewayClient(client.address, client.tls_root, client.channel, "assets")


@pytest.fixture
def node_identity(assets_on_fabric: NetworkClient) -> NodeIdentity:
    msp = assets_on_fabric.msp_dir
    return NodeIdentity(assets_on_fabric.msp_id, msp / "signcerts" / "cert.pem", msp / "keystore" / "key_sk")


@pytest.fixture
def python_network(assets_on_fabric: NetworkClient) -> Iterator[fg.Network]:
    client = assets_on_fabric
    identity, signer = fg.load_msp_directory(client.msp_id, client.msp_dir)
    with fg.connect(
        client.address,
        identity,
        signer,
        tls_root_certs=client.tls_root,
        server_name_override=client.server_name,
    ) as gateway:
        yield gateway.get_network(client.channel)


def test_node_reads_what_python_wrote_and_gets_its_event(
    python_network: fg.Network, node_client: NodeGatewayClient, node_identity: NodeIdentity
) -> None:
    key = _key()
    submitted = python_network.get_contract("assets").submit_async("put", key, "from python")
    status = submitted.get_status()
    assert status.successful
    read, events = node_client.run(
        node_identity,
        {"type": "evaluate", "fn": "get", "args": [key]},
        {"type": "events", "startBlock": status.block_number, "count": 1, "payloadPrefix": f"{key}="},
    )
    assert read["ok"] and read["result"] == "from python"
    assert events["ok"], events
    (event,) = events["events"]
    assert (event["transactionId"], event["eventName"], event["payload"]) == (
        submitted.tx_id,
        "put",
        f"{key}=from python",
    )
    assert event["blockNumber"] == status.block_number


def test_python_reads_what_node_wrote_and_gets_its_event(
    python_network: fg.Network, node_client: NodeGatewayClient, node_identity: NodeIdentity
) -> None:
    key = _key()
    submitted = node_client.run_one(
        node_identity, {"type": "submit", "fn": "put", "args": [key, "from node"]}
    )
    assert submitted["status"]["successful"]
    assert python_network.get_contract("assets").evaluate_transaction("get", key) == b"from node"
    block = submitted["status"]["blockNumber"]
    with python_network.chaincode_events("assets", start_block=block, timeout=30) as events:
        event = next(e for e in events if e.payload.startswith(f"{key}=".encode()))
    assert (event.transaction_id, event.event_name, event.payload, event.block_number) == (
        submitted["transactionId"],
        "put",
        f"{key}=from node".encode(),
        block,
    )
