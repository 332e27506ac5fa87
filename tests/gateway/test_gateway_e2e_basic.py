"""End to end over real gRPC with TLS: evaluate, submit, async submit, transient data, failures."""

from __future__ import annotations

import uuid
from typing import Any

import fabric_gateway as fg
import grpc
import pytest
from fabric_protos.common import common_pb2
from fabric_protos.gateway import gateway_pb2
from fabric_protos.ledger.rwset import rwset_pb2
from fabric_protos.ledger.rwset.kvrwset import kv_rwset_pb2
from fabric_protos.peer import chaincode_event_pb2, proposal_pb2, proposal_response_pb2, transaction_pb2
from gateway_target import GatewayTarget


def _key() -> str:
    return f"k-{uuid.uuid4().hex[:12]}"


def test_submit_then_evaluate_reads_the_committed_value(contract: fg.Contract) -> None:
    key = _key()
    assert contract.submit_transaction("put", key, "blue") == b"blue"
    assert contract.evaluate_transaction("get", key) == b"blue"


def test_evaluate_commits_nothing(contract: fg.Contract) -> None:
    key = _key()
    contract.evaluate_transaction("put", key, "never")
    assert contract.evaluate_transaction("get", key) == b""


def test_submit_async_returns_result_before_status(contract: fg.Contract) -> None:
    key = _key()
    submitted = contract.submit_async("increment", key)
    assert submitted.result == b"1"
    status = submitted.get_status()
    assert status.successful and status.code_name == "VALID"
    assert status.transaction_id == submitted.tx_id
    assert status.block_number >= 1
    assert contract.evaluate_transaction("get", key) == b"1"


def _endorsed_action(transaction: fg.Transaction) -> tuple[Any, Any]:
    """The prepared transaction's ChaincodeProposalPayload and ChaincodeAction, as the peer built them."""
    prepared = gateway_pb2.PreparedTransaction.FromString(transaction.bytes())
    payload = common_pb2.Payload.FromString(prepared.envelope.payload)
    action = transaction_pb2.Transaction.FromString(payload.data).actions[0]
    action_payload = transaction_pb2.ChaincodeActionPayload.FromString(action.payload)
    proposal_payload = proposal_pb2.ChaincodeProposalPayload.FromString(
        action_payload.chaincode_proposal_payload
    )
    response_payload = proposal_response_pb2.ProposalResponsePayload.FromString(
        action_payload.action.proposal_response_payload
    )
    return proposal_payload, proposal_pb2.ChaincodeAction.FromString(response_payload.extension)


def _public_writes(chaincode_action: Any, namespace: str) -> dict[str, bytes]:
    results = rwset_pb2.TxReadWriteSet.FromString(chaincode_action.results)
    writes: dict[str, bytes] = {}
    for ns in results.ns_rwset:
        if ns.namespace == namespace:
            writes |= {w.key: w.value for w in kv_rwset_pb2.KVRWSet.FromString(ns.rwset).writes}
    return writes


def test_transient_data_reaches_the_chaincode_and_stays_off_the_transaction(
    contract: fg.Contract, gateway_target: GatewayTarget
) -> None:
    key = _key()
    secret, unwritten = b"s3cret-value", b"never-written-anywhere"
    proposal = contract.new_proposal("put_secret", key, transient={"secret": secret, "other": unwritten})
    transaction = proposal.endorse()
    assert transaction.result == b"stored 12 bytes"
    proposal_payload, chaincode_action = _endorsed_action(transaction)
    # The transient map is stripped from the transaction; what the chaincode wrote to public state is
    # in its write set, as on a peer.
    assert not proposal_payload.TransientMap and unwritten not in transaction.bytes()
    assert _public_writes(chaincode_action, gateway_target.chaincode) == {key: secret}
    assert transaction.submit().status().successful
    assert contract.evaluate_transaction("get", key) == secret


def test_the_endorsed_action_carries_the_write_set_and_the_event(contract: fg.Contract) -> None:
    key = _key()
    transaction = contract.new_proposal("put", key, "green").endorse()
    _, chaincode_action = _endorsed_action(transaction)
    assert _public_writes(chaincode_action, contract.chaincode_name) == {key: b"green"}
    event = chaincode_event_pb2.ChaincodeEvent.FromString(chaincode_action.events)
    assert (event.event_name, event.payload) == ("put", f"{key}=green".encode())
    assert event.tx_id == transaction.transaction_id


def test_contract_name_prefixes_the_transaction(gateway: fg.Gateway, gateway_target: GatewayTarget) -> None:
    named = gateway.get_network(gateway_target.channel).get_contract(gateway_target.chaincode, "Assets")
    key = _key()
    named.submit_transaction("put", key, "v")
    assert named.evaluate_transaction("get", key) == b"v"


def test_chaincode_error_fails_endorsement_with_details(contract: fg.Contract) -> None:
    with pytest.raises(fg.EndorseError) as raised:
        contract.submit_transaction("refuse")
    error = raised.value
    assert error.code == grpc.StatusCode.ABORTED
    assert error.transaction_id
    assert any("refused on purpose" in d.message for d in error.details)
    assert all(d.msp_id and d.address for d in error.details)


def test_chaincode_error_fails_evaluation(contract: fg.Contract) -> None:
    with pytest.raises(fg.EvaluateError) as raised:
        contract.evaluate_transaction("refuse")
    assert any("refused on purpose" in d.message for d in raised.value.details)


def test_unknown_channel_is_refused(gateway: fg.Gateway, gateway_target: GatewayTarget) -> None:
    contract = gateway.get_network("no-such-channel").get_contract(gateway_target.chaincode)
    with pytest.raises(fg.GatewayError):
        contract.evaluate_transaction("get", "x")


def test_mutual_tls_requires_the_client_certificate(double: object, gateway_target: GatewayTarget) -> None:
    from gateway_double import serve

    assert gateway_target.double is not None and gateway_target.tls is not None
    tls = gateway_target.tls
    running = serve(gateway_target.double.ledger, tls, require_client_auth=True)
    try:
        mutual = GatewayTarget(**{**gateway_target.__dict__, "target": running.target})
        with mutual.connect(timeouts=fg.Timeouts(evaluate=2)) as anonymous:
            with pytest.raises(fg.GatewayError) as raised:
                anonymous.get_network(mutual.channel).get_contract(mutual.chaincode).evaluate_transaction(
                    "get", "x"
                )
            assert raised.value.code == grpc.StatusCode.UNAVAILABLE
        with mutual.connect(client_cert=tls.client.certificate_pem, client_key=tls.client.key_pem) as client:
            assert (
                client.get_network(mutual.channel)
                .get_contract(mutual.chaincode)
                .evaluate_transaction("get", "x")
                == b""
            )
    finally:
        running.stop()
