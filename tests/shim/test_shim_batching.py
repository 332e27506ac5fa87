"""Batched calls on the wire: what a v3.1 peer's READY offers, and the v2.5 fallback.

The peer double answers GET_STATE_MULTIPLE and WRITE_BATCH_STATE as Fabric v3.1's handler does
(records applied in order, values in key order, an empty value for an absent key).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from fabric_protos.peer import chaincode_pb2, chaincode_shim_pb2
from fabric_shim.batching import PeerFeatures, WriteBatch
from fabric_shim.chaincode import Response, success
from fabric_shim.stub import ChaincodeStub
from peer_double import Message, PeerDouble, WorldState, response_of

Script = Callable[[ChaincodeStub], Any]
Record = chaincode_shim_pb2.WriteRecord


def ready_payload(
    write: bool = True, max_write: int = 1000, multiple: bool = True, max_keys: int = 1000
) -> bytes:
    return chaincode_pb2.ChaincodeAdditionalParams(
        use_write_batch=write,
        max_size_write_batch=max_write,
        use_get_multiple_keys=multiple,
        max_size_get_multiple_keys=max_keys,
    ).SerializeToString()


class ScriptChaincode:
    def __init__(self) -> None:
        self.script: Script = lambda stub: None
        self.status = 200

    def init(self, stub: ChaincodeStub) -> Response:
        return success()

    def invoke(self, stub: ChaincodeStub) -> Response:
        result = self.script(stub)
        if self.status != 200:
            return Response(status=self.status, message="refused by the rules")
        return success(json.dumps(result).encode())


@pytest.fixture
def session(serve, connect) -> Callable[[bytes], Callable[..., chaincode_shim_pb2.ChaincodeMessage]]:
    """`open(ready)` handshakes with READY payload `ready`; returns `run(script, world, status=200)`."""

    def open_session(ready: bytes) -> Callable[..., chaincode_shim_pb2.ChaincodeMessage]:
        chaincode = ScriptChaincode()
        peer: PeerDouble = connect(serve(chaincode))
        peer.handshake(ready_payload=ready)
        counter = iter(range(10_000))

        def run(script: Script, world: WorldState, status: int = 200) -> chaincode_shim_pb2.ChaincodeMessage:
            chaincode.script, chaincode.status = script, status
            return peer.transact(world, [b"script"], txid=f"tx{next(counter)}")

        return run

    return open_session


def result_of(completed: chaincode_shim_pb2.ChaincodeMessage) -> Any:
    response = response_of(completed)
    assert response.status == 200, response
    return json.loads(response.payload)


def decoded(values: list[bytes | None]) -> list[str | None]:
    return [None if v is None else v.decode() for v in values]


def batches(world: WorldState) -> list[list[Record]]:
    return [
        list(chaincode_shim_pb2.WriteBatchState.FromString(m.payload).rec)
        for m in world.requests_of(Message.WRITE_BATCH_STATE)
    ]


def test_get_multiple_states_is_one_round_trip_per_peer_maximum(session) -> None:
    run = session(ready_payload(max_keys=3))
    world = WorldState(state={f"k{i}": f"v{i}".encode() for i in range(7)})
    wanted = ["k6", "absent", "k0", "k1", "k2", "k3", "k4", "k6"]
    got = result_of(run(lambda stub: decoded(stub.get_multiple_states(wanted)), world))
    assert got == ["v6", None, "v0", "v1", "v2", "v3", "v4", "v6"]
    sent = [chaincode_shim_pb2.GetStateMultiple.FromString(m.payload) for m in world.requests]
    assert [list(m.keys) for m in sent] == [wanted[:3], wanted[3:6], wanted[6:]]
    assert {m.type for m in world.requests} == {Message.GET_STATE_MULTIPLE}


def test_get_multiple_private_data_names_the_collection(session) -> None:
    run = session(ready_payload())
    world = WorldState(private={("secret", "a"): b"1"})
    got = result_of(run(lambda stub: decoded(stub.get_multiple_private_data("secret", ["a", "b"])), world))
    assert got == ["1", None]
    (request,) = world.requests_of(Message.GET_STATE_MULTIPLE)
    assert chaincode_shim_pb2.GetStateMultiple.FromString(request.payload).collection == "secret"


def test_a_v2_5_peer_gets_one_get_state_per_key_and_one_put_per_write(session) -> None:
    run = session(b"")  # v2.5 sends READY without a payload
    world = WorldState(state={"a": b"1"})

    def script(stub: ChaincodeStub) -> Any:
        values = decoded(stub.get_multiple_states(["a", "b"]))
        stub.put_state("c", b"3")
        stub.del_state("a")
        return values

    assert result_of(run(script, world)) == ["1", None]
    assert [m.type for m in world.requests] == [
        Message.GET_STATE,
        Message.GET_STATE,
        Message.PUT_STATE,
        Message.DEL_STATE,
    ]
    assert world.state == {"c": b"3"}


def test_an_unreadable_ready_payload_means_no_batching(session) -> None:
    run = session(b"\xff\xff\xff")
    world = WorldState()
    result_of(run(lambda stub: stub.put_state("k", b"v"), world))
    assert [m.type for m in world.requests] == [Message.PUT_STATE]


def test_writes_go_in_one_batch_before_completed_with_the_last_write_per_key(session) -> None:
    run = session(ready_payload())
    world = WorldState(state={"gone": b"old", "kept": b"committed"})

    def script(stub: ChaincodeStub) -> Any:
        stub.put_state("kept", b"first")
        stub.put_state("new", b"n")
        stub.del_state("gone")
        stub.put_state("kept", b"second")
        stub.set_state_validation_parameter("new", b"policy")
        stub.put_private_data("secret", "p", b"private")
        stub.purge_private_data("secret", "q")
        # Reads see committed state, batched or not (a peer gives no read-your-writes).
        return decoded([stub.get_state("kept"), stub.get_state("new")])

    assert result_of(run(script, world)) == ["committed", None]
    assert [m.type for m in world.requests] == [
        Message.GET_STATE,
        Message.GET_STATE,
        Message.WRITE_BATCH_STATE,
    ]
    (batch,) = batches(world)
    assert [(r.type, r.collection, r.key) for r in batch] == [
        (Record.PUT_STATE, "", "kept"),
        (Record.PUT_STATE, "", "new"),
        (Record.DEL_STATE, "", "gone"),
        (Record.PUT_STATE_METADATA, "", "new"),
        (Record.PUT_STATE, "secret", "p"),
        (Record.PURGE_PRIVATE_DATA, "secret", "q"),
    ]
    assert batch[0].value == b"second"
    assert batch[3].metadata.metakey == "VALIDATION_PARAMETER"
    assert world.state == {"kept": b"second", "new": b"n"}
    assert world.private == {("secret", "p"): b"private"}


def test_a_batch_is_split_at_the_peer_maximum(session) -> None:
    run = session(ready_payload(max_write=4))
    world = WorldState()

    def script(stub: ChaincodeStub) -> None:
        for i in range(10):
            stub.put_state(f"k{i:02}", b"v")

    result_of(run(script, world))
    assert [[r.key for r in batch] for batch in batches(world)] == [
        ["k00", "k01", "k02", "k03"],
        ["k04", "k05", "k06", "k07"],
        ["k08", "k09"],
    ]


def test_a_read_only_transaction_sends_no_write_batch(session) -> None:
    """An evaluate on a v3.1 peer costs the same messages as on v2.5: its reads, then COMPLETED."""
    run = session(ready_payload())
    world = WorldState(state={"k": b"v"})
    completed = run(lambda stub: decoded([stub.get_state("k")]), world)
    assert result_of(completed) == ["v"]
    assert [m.type for m in world.requests] == [Message.GET_STATE]


def test_a_failed_response_sends_no_writes(session) -> None:
    run = session(ready_payload())
    world = WorldState()
    completed = run(lambda stub: stub.put_state("k", b"v"), world, status=409)
    assert response_of(completed).status == 409
    assert world.requests == []


def test_a_peer_refusing_the_batch_fails_the_transaction(session) -> None:
    run = session(ready_payload())
    world = WorldState()

    def refuse(message: chaincode_shim_pb2.ChaincodeMessage) -> chaincode_shim_pb2.ChaincodeMessage:
        return Message(
            type=Message.ERROR,
            payload=b"no write permission",
            txid=message.txid,
            channel_id=message.channel_id,
        )

    world.answer = refuse  # type: ignore[method-assign]
    completed = run(lambda stub: stub.put_state("k", b"v"), world)
    assert completed.type == Message.ERROR
    assert "no write permission" in completed.payload.decode()


@pytest.mark.parametrize(
    ("query", "request_type"),
    [
        (lambda stub: stub.get_state_by_range_with_pagination("a", "z", 5), Message.GET_STATE_BY_RANGE),
        (lambda stub: stub.get_query_result_with_pagination("a", 5), Message.GET_QUERY_RESULT),
        (lambda stub: stub.get_private_data_by_range("secret", "a", "z"), Message.GET_STATE_BY_RANGE),
        (lambda stub: stub.get_private_data_query_result("secret", "a"), Message.GET_QUERY_RESULT),
        (lambda stub: stub.invoke_chaincode("other", [b"f"]), Message.INVOKE_CHAINCODE),
    ],
)
def test_writes_leave_before_a_call_whose_answer_depends_on_them(session, query, request_type) -> None:
    """A peer refuses a paginated or private query after a write: it must see the write first."""
    run = session(ready_payload())
    world = WorldState()

    def script(stub: ChaincodeStub) -> None:
        stub.put_state("k", b"v")
        query(stub)
        stub.put_state("later", b"w")

    result_of(run(script, world))
    assert [m.type for m in world.requests][:2] == [Message.WRITE_BATCH_STATE, request_type]
    assert [[r.key for r in batch] for batch in batches(world)] == [["k"], ["later"]]


def test_plain_queries_do_not_send_the_batch_early(session) -> None:
    run = session(ready_payload())
    world = WorldState(state={"a": b"1"})

    def script(stub: ChaincodeStub) -> Any:
        stub.put_state("k", b"v")
        with stub.get_state_by_range("a", "z") as rows:
            return [row.key for row in rows]

    assert result_of(run(script, world)) == ["a"]  # the batched write is not visible, as on a peer
    assert [m.type for m in world.requests] == [Message.GET_STATE_BY_RANGE, Message.WRITE_BATCH_STATE]


def test_features_from_ready_use_a_default_maximum_when_the_peer_names_none() -> None:
    features = PeerFeatures.from_ready_payload(ready_payload(max_write=0, max_keys=0))
    assert features.write_batch and features.get_multiple_keys
    assert (features.max_write_batch, features.max_get_multiple_keys) == (100, 100)
    assert PeerFeatures.from_ready_payload(features.ready_payload()) == features
    assert not PeerFeatures.from_ready_payload(b"").write_batch


def test_write_batch_keeps_values_and_metadata_of_one_key_apart() -> None:
    batch = WriteBatch()
    batch.put("", "k", b"1")
    batch.put_metadata("", "k", "VALIDATION_PARAMETER", b"p")
    batch.delete("", "k")
    (message,) = batch.take_messages(10)
    assert [(r.type, r.key) for r in message.rec] == [
        (Record.DEL_STATE, "k"),
        (Record.PUT_STATE_METADATA, "k"),
    ]
    assert len(batch) == 0
