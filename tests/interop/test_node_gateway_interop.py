"""Our Python Gateway client and the official Node client (@hyperledger/fabric-gateway) side by side.

Both talk to the same gateway double over gRPC+TLS. The double verifies every signature and recomputes
every transaction id itself, so the Node client's requests being accepted shows that the double's
checks match the official wire format, and the Python client agreeing with Node shows that ours does.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from typing import Any

import fabric_gateway as fg
import grpc
import pytest
from embedded_ledger import Identity
from fabric_protos.gateway import gateway_pb2
from fabric_protos.orderer import ab_pb2
from fabric_protos.peer.transaction_pb2 import TxValidationCode
from gateway_double import RunningGateway
from interop_python_client import python_gateway
from node_gateway_client import NodeGatewayClient, NodeIdentity
from tls_pki import TlsMaterial

VALID = TxValidationCode.VALID


def _key() -> str:
    return f"k-{uuid.uuid4().hex[:12]}"


def _assert_committed(result: dict[str, Any]) -> None:
    status = result["status"]
    assert status["successful"] and status["code"] == VALID, status
    assert status["transactionId"] == result["transactionId"]
    assert status["blockNumber"] >= 1


def _b64(text: str) -> bytes:
    return base64.b64decode(text)


# (1) what one client commits, the other reads ----------------------------------------------------


def test_python_submit_is_read_by_node(
    python_alice: fg.Gateway, node_client: NodeGatewayClient, node_alice: NodeIdentity
) -> None:
    key = _key()
    contract = python_alice.get_network(node_client.channel).get_contract(node_client.chaincode)
    assert contract.submit_transaction("put", key, "from python") == b"from python"
    read = node_client.run_one(node_alice, {"type": "evaluate", "fn": "get", "args": [key]})
    assert read["result"] == "from python"


def test_node_submit_is_read_by_python(
    python_alice: fg.Gateway, node_client: NodeGatewayClient, node_bob: NodeIdentity
) -> None:
    key = _key()
    submitted = node_client.run_one(node_bob, {"type": "submit", "fn": "put", "args": [key, "from node"]})
    assert submitted["result"] == "from node"
    _assert_committed(submitted)
    contract = python_alice.get_network(node_client.channel).get_contract(node_client.chaincode)
    assert contract.evaluate_transaction("get", key) == b"from node"


# (2) the double accepts every request the official client signs ------------------------------------


def test_node_proposals_transactions_and_commit_status_requests_are_accepted(
    running: RunningGateway, node_client: NodeGatewayClient, node_alice: NodeIdentity
) -> None:
    key = _key()
    results = node_client.run(
        node_alice,
        {"type": "evaluate", "fn": "get", "args": [key]},  # Evaluate
        {"type": "submit", "fn": "increment", "args": [key]},  # Endorse, Submit, CommitStatus
        {"type": "submit", "fn": "increment", "args": [key]},
        {"type": "evaluate", "fn": "get", "args": [key]},
    )
    assert all(r["ok"] for r in results), results
    assert [r["result"] for r in results] == ["", "1", "2", "2"]
    first, second = results[1], results[2]
    for submitted in (first, second):
        _assert_committed(submitted)
        # The double recomputed this id from the Node client's nonce and creator before accepting it.
        assert len(submitted["transactionId"]) == 64
    assert second["status"]["blockNumber"] > first["status"]["blockNumber"]
    assert running.double.ledger.height > second["status"]["blockNumber"]


# (3) the gateway's error details reach both clients alike ------------------------------------------


@pytest.mark.parametrize(
    ("step", "python_error", "grpc_code"),
    [
        ("evaluate", fg.EvaluateError, grpc.StatusCode.UNKNOWN),
        ("submit", fg.EndorseError, grpc.StatusCode.ABORTED),
    ],
)
def test_chaincode_error_reaches_both_clients_with_the_same_code_and_details(
    python_alice: fg.Gateway,
    node_client: NodeGatewayClient,
    node_alice: NodeIdentity,
    step: str,
    python_error: type[fg.GatewayError],
    grpc_code: grpc.StatusCode,
) -> None:
    contract = python_alice.get_network(node_client.channel).get_contract(node_client.chaincode)
    with pytest.raises(python_error) as raised:
        if step == "evaluate":
            contract.evaluate_transaction("refuse")
        else:
            contract.submit_transaction("refuse")
    ours = raised.value
    (node_result,) = node_client.run(node_alice, {"type": step, "fn": "refuse", "args": []})
    assert not node_result["ok"]
    theirs = node_result["error"]

    assert ours.code == grpc_code
    assert theirs["code"] == grpc_code.value[0]
    assert theirs["grpcDetails"] == ours.message
    node_details = [(d["address"], d["mspId"], d["message"]) for d in theirs["details"]]
    assert node_details == [(d.address, d.msp_id, d.message) for d in ours.details]
    assert any("refused on purpose" in message for _, _, message in node_details)
    if step == "submit":
        assert theirs["name"] == "EndorseError"
        assert len(theirs["transactionId"]) == 64


# (4) chaincode events committed by one client stream to the other ----------------------------------


def test_node_submitted_events_reach_the_python_stream(
    python_alice: fg.Gateway, node_client: NodeGatewayClient, node_bob: NodeIdentity
) -> None:
    key = _key()
    submitted = node_client.run(
        node_bob,
        {"type": "submit", "fn": "put", "args": [key, "a"]},
        {"type": "submit", "fn": "put", "args": [key, "b"]},
    )
    assert all(r["ok"] for r in submitted), submitted
    start = submitted[0]["status"]["blockNumber"]
    network = python_alice.get_network(node_client.channel)
    seen: list[fg.ChaincodeEvent] = []
    with network.chaincode_events(node_client.chaincode, start_block=start, timeout=10) as events:
        for event in events:
            seen.append(event)
            if len(seen) == 2:
                break
    assert [e.payload for e in seen] == [f"{key}=a".encode(), f"{key}=b".encode()]
    assert [e.transaction_id for e in seen] == [r["transactionId"] for r in submitted]
    assert [e.block_number for e in seen] == [r["status"]["blockNumber"] for r in submitted]
    assert all(e.event_name == "put" and e.chaincode_name == node_client.chaincode for e in seen)


def test_python_submitted_events_reach_the_node_stream(
    python_alice: fg.Gateway, node_client: NodeGatewayClient, node_bob: NodeIdentity
) -> None:
    key = _key()
    contract = python_alice.get_network(node_client.channel).get_contract(node_client.chaincode)
    committed = [contract.submit_async("put", key, value) for value in ("x", "y")]
    statuses = [c.get_status() for c in committed]
    listened = node_client.run_one(
        node_bob,
        {"type": "events", "startBlock": statuses[0].block_number, "count": 2, "payloadPrefix": key},
    )
    events = listened["events"]
    assert [e["payload"] for e in events] == [f"{key}=x", f"{key}=y"]
    assert [e["transactionId"] for e in events] == [c.tx_id for c in committed]
    assert [e["blockNumber"] for e in events] == [s.block_number for s in statuses]
    assert all(e["eventName"] == "put" and e["chaincodeName"] == node_client.chaincode for e in events)


def test_node_events_from_the_next_commit_see_only_later_transactions(
    python_alice: fg.Gateway, node_client: NodeGatewayClient, node_bob: NodeIdentity
) -> None:
    """The official client's default start (next commit) skips what was committed before it asked."""
    key = _key()
    contract = python_alice.get_network(node_client.channel).get_contract(node_client.chaincode)
    contract.submit_transaction("put", key, "before")
    listened = node_client.run_one(
        node_bob,
        {
            "type": "events",
            "count": 1,
            "payloadPrefix": key,
            "submitWhileListening": {"fn": "put", "args": [key, "after"]},
        },
    )
    assert [e["payload"] for e in listened["events"]] == [f"{key}=after"]


def test_python_default_events_start_at_the_next_commit_as_the_official_client(
    python_alice: fg.Gateway, node_client: NodeGatewayClient, node_bob: NodeIdentity
) -> None:
    """Fabric's gateway accepts only next-commit or a given block; both clients must send one of them."""
    key = _key()
    contract = python_alice.get_network(node_client.channel).get_contract(node_client.chaincode)
    contract.submit_transaction("put", key, "before")
    network = python_alice.get_network(node_client.channel)
    with network.chaincode_events(node_client.chaincode, timeout=10) as events:
        node_client.run_one(node_bob, {"type": "submit", "fn": "put", "args": [key, "after"]})
        event = next(e for e in events if e.payload.startswith(key.encode()))
    assert event.payload == f"{key}=after".encode()


# (5) requests built by one client are signed and sent by the other ---------------------------------


def test_python_built_proposal_is_signed_and_committed_by_node(
    running: RunningGateway,
    tls: TlsMaterial,
    bob: Identity,
    node_client: NodeGatewayClient,
    node_bob: NodeIdentity,
) -> None:
    key = _key()
    with python_gateway(running, tls, bob, signs=False) as unsigned_service:
        contract = unsigned_service.get_network(node_client.channel).get_contract(node_client.chaincode)
        proposal = contract.new_proposal("put", key, "built in python")
        assert not proposal.signed
        consumed = node_client.run_one(
            node_bob,
            {"type": "submitProposal", "proposalBase64": base64.b64encode(proposal.bytes()).decode()},
        )
        assert _b64(consumed["digestBase64"]) == proposal.digest()
        assert consumed["transactionId"] == proposal.transaction_id
        assert consumed["result"] == "built in python"
        _assert_committed(consumed)
        assert contract.new_proposal("get", key).transaction_id != proposal.transaction_id
    with python_gateway(running, tls, bob) as signing:
        reader = signing.get_network(node_client.channel).get_contract(node_client.chaincode)
        assert reader.evaluate_transaction("get", key) == b"built in python"


def test_node_built_proposal_is_signed_and_committed_by_python(
    running: RunningGateway,
    tls: TlsMaterial,
    bob: Identity,
    node_client: NodeGatewayClient,
    node_bob: NodeIdentity,
) -> None:
    key = _key()
    built = node_client.run_one(
        node_bob, {"type": "newProposal", "fn": "put", "args": [key, "built in node"]}
    )
    signer = fg.new_private_key_signer(bob._private_key)
    with python_gateway(running, tls, bob, signs=False) as service:
        network = service.get_network(node_client.channel)
        unsigned = network.new_signed_proposal(_b64(built["proposalBase64"]), b"")
        assert unsigned.digest() == _b64(built["digestBase64"])
        assert unsigned.transaction_id == built["transactionId"]
        proposal = network.new_signed_proposal(_b64(built["proposalBase64"]), signer(unsigned.digest()))
        transaction = proposal.endorse()
        assert transaction.result == b"built in node"
        commit = network.new_signed_transaction(transaction.bytes(), signer(transaction.digest())).submit()
        signed_commit = network.new_signed_commit(commit.bytes(), signer(commit.digest()))
        status = signed_commit.status()
    assert status.successful and status.transaction_id == built["transactionId"]


def test_python_endorsed_transaction_is_signed_and_submitted_by_node(
    running: RunningGateway,
    tls: TlsMaterial,
    bob: Identity,
    node_client: NodeGatewayClient,
    node_bob: NodeIdentity,
) -> None:
    key = _key()
    with python_gateway(running, tls, bob) as gateway:
        contract = gateway.get_network(node_client.channel).get_contract(node_client.chaincode)
        endorsed = contract.new_proposal("put", key, "endorsed in python").endorse()
        # Unsigned: Node computes the digest of our bytes and signs it with its own signer.
        assert not endorsed.signed
        consumed = node_client.run_one(
            node_bob,
            {"type": "submitTransaction", "transactionBase64": base64.b64encode(endorsed.bytes()).decode()},
        )
        assert _b64(consumed["digestBase64"]) == endorsed.digest()
        assert consumed["transactionId"] == endorsed.transaction_id
        _assert_committed(consumed)
        assert contract.evaluate_transaction("get", key) == b"endorsed in python"


def test_python_default_events_request_names_next_commit(python_alice: fg.Gateway) -> None:
    network = python_alice.get_network("seocho")
    signed = gateway_pb2.SignedChaincodeEventsRequest.FromString(
        network.new_chaincode_events_request("assets").bytes()
    )
    request = gateway_pb2.ChaincodeEventsRequest.FromString(signed.request)
    assert request.start_position.WhichOneof("Type") == "next_commit"


def test_the_double_refuses_a_newest_start_as_fabric_does(python_alice: fg.Gateway, alice: Identity) -> None:
    network = python_alice.get_network("seocho")
    signed = gateway_pb2.SignedChaincodeEventsRequest.FromString(
        network.new_chaincode_events_request("assets").bytes()
    )
    request = gateway_pb2.ChaincodeEventsRequest.FromString(signed.request)
    request.start_position.CopyFrom(ab_pb2.SeekPosition(newest=ab_pb2.SeekNewest()))
    signed.request = request.SerializeToString()
    signature = fg.new_private_key_signer(alice._private_key)(hashlib.sha256(signed.request).digest())
    events = network.new_signed_chaincode_events_request(signed.SerializeToString(), signature).events(
        timeout=5
    )
    with pytest.raises(fg.ChaincodeEventsError) as raised, events:
        next(iter(events))
    assert raised.value.code == grpc.StatusCode.INVALID_ARGUMENT


def test_a_proposal_with_a_wrong_signature_from_node_is_refused(
    running: RunningGateway,
    tls: TlsMaterial,
    bob: Identity,
    node_client: NodeGatewayClient,
    node_bob: NodeIdentity,
) -> None:
    """The control for the acceptance tests above: the double's checks do refuse what they should."""
    with python_gateway(running, tls, bob, signs=False) as service:
        proposal = (
            service.get_network(node_client.channel)
            .get_contract(node_client.chaincode)
            .new_proposal("get", "x")
        )
    wrong = fg.new_private_key_signer(bob._private_key)(hashlib.sha256(b"another message").digest())
    (result,) = node_client.run(
        node_bob,
        {
            "type": "submitProposal",
            "proposalBase64": base64.b64encode(proposal.bytes()).decode(),
            "signatureBase64": base64.b64encode(wrong).decode(),
        },
    )
    assert not result["ok"]
    assert result["error"]["code"] == grpc.StatusCode.ABORTED.value[0]
    assert any("access denied: channel" in d["message"] for d in result["error"]["details"])
