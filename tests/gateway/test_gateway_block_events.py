"""End to end: block events (full, filtered, private data) over the peer's Deliver service."""

from __future__ import annotations

import itertools
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fabric_gateway as fg
import grpc
import pytest
from asset_chaincode import CHAINCODE_NAME
from background import repeat_until
from cryptography.hazmat.primitives.asymmetric import ec
from embedded_ledger.blocks import block_header_hash
from fabric_protos.common import common_pb2
from fabric_protos.peer.transaction_pb2 import TxValidationCode
from gateway_double import GatewayDouble
from gateway_target import GatewayTarget


def _key() -> str:
    return f"k-{uuid.uuid4().hex[:12]}"


def _take(stream: Iterator[Any], count: int) -> list[Any]:
    return [next(stream) for _ in range(count)]


def _transaction_ids(block: Any) -> list[str]:
    ids = []
    for raw in block.data.data:
        payload = common_pb2.Payload.FromString(common_pb2.Envelope.FromString(raw).payload)
        ids.append(common_pb2.ChannelHeader.FromString(payload.header.channel_header).tx_id)
    return ids


def _validation_codes(block: Any) -> list[int]:
    return list(block.metadata.metadata[common_pb2.BlockMetadataIndex.TRANSACTIONS_FILTER])


def test_blocks_from_a_start_block_carry_the_transactions_in_order(
    gateway: fg.Gateway, contract: fg.Contract, gateway_target: GatewayTarget
) -> None:
    first = contract.submit_async("put", _key(), "a")
    second = contract.submit_async("put", _key(), "b")
    first_block = first.status().block_number
    second_block = second.status().block_number
    network = gateway.get_network(gateway_target.channel)
    with network.block_events(start_block=first_block, timeout=10) as blocks:
        received = _take(iter(blocks), second_block - first_block + 1)
    assert [b.header.number for b in received] == list(range(first_block, second_block + 1))
    assert first.transaction_id in _transaction_ids(received[0])
    assert second.transaction_id in _transaction_ids(received[-1])
    assert _validation_codes(received[0]) == [TxValidationCode.VALID] * len(received[0].data.data)


def test_blocks_chain_by_header_hash(gateway: fg.Gateway, double: GatewayDouble) -> None:
    contract = gateway.get_network(double.ledger.channel_id).get_contract(CHAINCODE_NAME)
    for _ in range(3):
        contract.submit_transaction("put", _key(), "v")
    with gateway.get_network(double.ledger.channel_id).block_events(start_block=0, timeout=10) as blocks:
        received = _take(iter(blocks), double.ledger.height)
    for previous, block in itertools.pairwise(received):
        header = previous.header
        assert block.header.previous_hash == block_header_hash(
            header.number, header.previous_hash, header.data_hash
        )


def test_by_default_the_stream_starts_after_the_current_tip(
    gateway: fg.Gateway, contract: fg.Contract, gateway_target: GatewayTarget
) -> None:
    tip = contract.submit_async("put", _key(), "tip").status().block_number
    network = gateway.get_network(gateway_target.channel)
    with network.block_events(timeout=10) as blocks:
        stream = iter(blocks)
        later: list[fg.SubmittedTransaction] = []
        heard = threading.Event()
        writer = repeat_until(heard, lambda _: later.append(contract.submit_async("put", _key(), "later")))
        block = next(stream)
        heard.set()
        writer.join()
    # The first block heard is after the tip and holds later writes only.
    assert block.header.number > tip
    in_block = set(_transaction_ids(block))
    assert in_block and in_block <= {t.transaction_id for t in later}


def test_a_restarted_client_resumes_after_its_checkpoint(
    gateway_target: GatewayTarget, tmp_path: Path
) -> None:
    path = tmp_path / "blocks.json"
    with gateway_target.connect() as gateway:
        network = gateway.get_network(gateway_target.channel)
        contract = network.get_contract(gateway_target.chaincode)
        start = contract.submit_async("put", _key(), "1").status().block_number
        checkpointer = fg.FileCheckpointer(path)
        with network.block_events(start_block=start, checkpoint=checkpointer, timeout=10) as blocks:
            for block in blocks:
                checkpointer.checkpoint_block(block.header.number)
                break
        missed = contract.submit_async("put", _key(), "2")  # committed while no client listens
        missed_block = missed.status().block_number

    with gateway_target.connect() as restarted:
        network = restarted.get_network(gateway_target.channel)
        resumed = fg.FileCheckpointer(path)
        assert resumed.block_number == start + 1
        # The checkpoint wins over start_block, as for chaincode events.
        with network.block_events(start_block=0, checkpoint=resumed, timeout=10) as blocks:
            block = next(iter(blocks))
    assert block.header.number == start + 1 <= missed_block
    if missed_block == start + 1:  # nobody else committed in between (always so on the double)
        assert _transaction_ids(block) == [missed.transaction_id]


def test_filtered_blocks_show_each_transaction_validation_code(
    gateway: fg.Gateway, contract: fg.Contract, gateway_target: GatewayTarget
) -> None:
    key = _key()
    winner = contract.new_proposal("increment", key).endorse()
    loser = contract.new_proposal("increment", key).endorse()  # read the same version: will conflict
    winner_block = winner.submit().status().block_number
    loser_status = loser.submit().status()
    network = gateway.get_network(gateway_target.channel)
    with network.filtered_block_events(start_block=winner_block, timeout=10) as blocks:
        received = _take(iter(blocks), loser_status.block_number - winner_block + 1)
    codes = {
        tx.txid: tx.tx_validation_code
        for block in received
        for tx in block.filtered_transactions
        if block.channel_id == gateway_target.channel
    }
    assert codes[winner.transaction_id] == TxValidationCode.VALID
    assert codes[loser.transaction_id] == TxValidationCode.MVCC_READ_CONFLICT
    assert received[0].number == winner_block


def test_filtered_blocks_name_events_without_their_payloads(
    gateway: fg.Gateway, contract: fg.Contract, gateway_target: GatewayTarget
) -> None:
    submitted = contract.submit_async("put", _key(), "secret-value")
    number = submitted.status().block_number
    network = gateway.get_network(gateway_target.channel)
    with network.filtered_block_events(start_block=number, timeout=10) as blocks:
        block = next(iter(blocks))
    (tx,) = [t for t in block.filtered_transactions if t.txid == submitted.transaction_id]
    (action,) = tx.transaction_actions.chaincode_actions
    assert action.chaincode_event.event_name == "put"
    assert action.chaincode_event.payload == b""
    assert tx.type == common_pb2.HeaderType.ENDORSER_TRANSACTION


def test_block_and_private_data_events_carry_the_block(
    gateway: fg.Gateway, contract: fg.Contract, gateway_target: GatewayTarget
) -> None:
    submitted = contract.submit_async("put", _key(), "p")
    number = submitted.status().block_number
    network = gateway.get_network(gateway_target.channel)
    with network.block_and_private_data_events(start_block=number, timeout=10) as events:
        received = next(iter(events))
    assert received.block.header.number == number
    assert submitted.transaction_id in _transaction_ids(received.block)


def test_offline_signed_block_events_request(gateway_target: GatewayTarget) -> None:
    with gateway_target.connect(signer=None) as service:
        network = service.get_network(gateway_target.channel)
        with pytest.raises(fg.MissingSignerError):
            network.block_events(start_block=0)
        unsigned = network.new_block_events_request(start_block=0)
        assert not unsigned.signed
        request = network.new_signed_block_events_request(
            unsigned.bytes(), gateway_target.signer(unsigned.digest())
        )
        assert request.signed and request.transaction_id == unsigned.transaction_id
        with request.events(timeout=10) as blocks:
            assert next(iter(blocks)).header.number == 0

        filtered = network.new_filtered_block_events_request(start_block=0)
        signed_filtered = network.new_signed_filtered_block_events_request(
            filtered.bytes(), gateway_target.signer(filtered.digest())
        )
        with signed_filtered.events(timeout=10) as blocks:
            assert next(iter(blocks)).number == 0


def test_a_request_signed_by_another_key_is_refused(gateway_target: GatewayTarget) -> None:
    impostor = fg.new_private_key_signer(ec.generate_private_key(ec.SECP256R1()))
    with gateway_target.connect(signer=None) as service:
        network = service.get_network(gateway_target.channel)
        unsigned = network.new_block_events_request(start_block=0)
        forged = network.new_signed_block_events_request(unsigned.bytes(), impostor(unsigned.digest()))
        with pytest.raises(fg.BlockEventsError) as raised, forged.events(timeout=10) as blocks:
            next(iter(blocks))
    assert raised.value.deliver_status == common_pb2.Status.FORBIDDEN
    assert raised.value.code == grpc.StatusCode.PERMISSION_DENIED


def test_an_unknown_channel_ends_the_stream_with_not_found(gateway: fg.Gateway) -> None:
    network = gateway.get_network("no-such-channel")
    with pytest.raises(fg.BlockEventsError) as raised, network.filtered_block_events(timeout=10) as blocks:
        list(blocks)
    assert raised.value.deliver_status == common_pb2.Status.NOT_FOUND
    assert raised.value.code == grpc.StatusCode.NOT_FOUND
    assert "NOT_FOUND" in str(raised.value)


def test_a_request_for_another_channel_is_not_accepted_offline(gateway: fg.Gateway) -> None:
    elsewhere = gateway.get_network("other").new_block_events_request()
    with pytest.raises(ValueError, match="other"):
        gateway.get_network("seocho").new_signed_block_events_request(elsewhere.bytes(), b"sig")


def test_closing_ends_iteration_quietly_and_a_timeout_is_an_error(
    gateway: fg.Gateway, gateway_target: GatewayTarget
) -> None:
    network = gateway.get_network(gateway_target.channel)
    blocks = network.block_events()
    stream = iter(blocks)  # nothing new is committed: the stream waits until closed
    threading.Timer(0.2, blocks.close).start()
    assert list(stream) == []

    with pytest.raises(fg.BlockEventsError) as raised, network.block_events(timeout=0.5) as waiting:
        list(waiting)
    assert raised.value.code == grpc.StatusCode.DEADLINE_EXCEEDED
    assert raised.value.deliver_status is None
