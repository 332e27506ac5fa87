"""The chaincode protocol over a real gRPC stream, with a peer double on the other end."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable

import pytest
from fabric_shim.calls import PeerError, StreamClosedError
from fabric_shim.chaincode import Response, error, success
from fabric_shim.handler import GENERIC_FAILURE_MESSAGE
from fabric_shim.server import ChaincodeServer
from fabric_shim.stub import ChaincodeStub
from peer_double import CHAINCODE_ID, Message, PeerDouble, StreamEnded, WorldState, response_of


class RecordingChaincode:
    """Runs a function named by the first argument; remembers what the chaincode saw."""

    def __init__(self) -> None:
        self.errors: list[BaseException] = []
        self.init_calls = 0
        self.release = threading.Event()

    def init(self, stub: ChaincodeStub) -> Response:
        self.init_calls += 1
        return success(b"initialised")

    def invoke(self, stub: ChaincodeStub) -> Response:
        handler: Callable[[ChaincodeStub], Response] = getattr(self, "tx_" + stub.function)
        return handler(stub)

    def tx_get(self, stub: ChaincodeStub) -> Response:
        value = stub.get_state(stub.parameters[0])
        return success(value if value is not None else b"<absent>")

    def tx_put(self, stub: ChaincodeStub) -> Response:
        stub.put_state(stub.args[1].decode(), stub.args[2])
        return success()

    def tx_size(self, stub: ChaincodeStub) -> Response:
        return success(hashlib.sha256(stub.args[1]).digest())

    def tx_guarded_get(self, stub: ChaincodeStub) -> Response:
        try:
            stub.get_state(stub.parameters[0])
        except PeerError as exc:
            self.errors.append(exc)
            return error(f"peer refused: {exc}", 409)
        return success()

    def tx_crash(self, stub: ChaincodeStub) -> Response:
        raise RuntimeError("secret internal detail")

    def tx_refuse(self, stub: ChaincodeStub) -> Response:
        return error("not allowed", 403)

    def tx_event(self, stub: ChaincodeStub) -> Response:
        stub.set_event("first", b"ignored")
        stub.set_event("Minted", b'{"amount": 5}')
        return success()

    def tx_wait_then_get(self, stub: ChaincodeStub) -> Response:
        try:
            stub.get_state("k")
        except StreamClosedError as exc:
            self.errors.append(exc)
            self.release.set()
            raise
        return success()

    def tx_none(self, stub: ChaincodeStub) -> Response:
        return None  # type: ignore[return-value]


@pytest.fixture
def chaincode() -> RecordingChaincode:
    return RecordingChaincode()


@pytest.fixture
def peer(
    serve: Callable[..., ChaincodeServer], connect: Callable[..., PeerDouble], chaincode: RecordingChaincode
) -> PeerDouble:
    double = connect(serve(chaincode))
    assert double.handshake() == CHAINCODE_ID
    return double


def test_register_carries_the_chaincode_id_and_ready_may_carry_a_payload(serve, connect, chaincode) -> None:
    server = serve(chaincode)
    for ready_payload in (b"", b"\x08\x01"):  # v2.5 sends none, v3.1 sends ChaincodeAdditionalParams
        double = connect(server)
        assert double.handshake(ready_payload) == CHAINCODE_ID
        completed = double.transact(WorldState(), [b"refuse"], txid="t1")
        assert response_of(completed).status == 403


def test_init_and_transaction_complete_with_the_response(peer: PeerDouble, chaincode) -> None:
    world = WorldState(state={"a": b"1"})
    completed = peer.transact(world, [b"init"], txid="t0", msg_type=Message.INIT)
    assert response_of(completed).payload == b"initialised"
    assert chaincode.init_calls == 1
    completed = peer.transact(world, [b"get", b"a"], txid="t1")
    assert completed.channel_id == "mychannel"
    assert response_of(completed).status == 200
    assert response_of(completed).payload == b"1"
    (request,) = world.requests_of(Message.GET_STATE)
    assert (request.txid, request.channel_id) == ("t1", "mychannel")


class FailingInitChaincode(RecordingChaincode):
    def init(self, stub: ChaincodeStub) -> Response:
        stub.set_event("InitRefused", b"details")
        return error("bad init arguments", 400)


def test_failed_init_is_an_error_message_like_the_go_shim(serve, connect) -> None:
    # fabric-chaincode-go shim/handler.go handleInit: status >= 400 -> ERROR{payload = message}.
    double = connect(serve(FailingInitChaincode()))
    double.handshake()
    reply = double.transact(WorldState(), [b"init"], txid="t0", msg_type=Message.INIT)
    assert (reply.type, reply.payload) == (Message.ERROR, b"bad init arguments")
    assert (reply.txid, reply.channel_id) == ("t0", "mychannel")
    assert reply.chaincode_event.event_name == "InitRefused"
    # a failed invoke is still a COMPLETED carrying the Response
    assert response_of(double.transact(WorldState(), [b"refuse"], txid="t1")).status == 403


def test_interleaved_transactions_are_answered_out_of_order(peer: PeerDouble) -> None:
    world = WorldState(state={"a": b"value-a", "b": b"value-b"})
    peer.start_transaction([b"get", b"a"], txid="tx-a")
    peer.start_transaction([b"get", b"b"], txid="tx-b", channel_id="other")
    requests = {m.txid: m for m in (peer.receive(), peer.receive())}
    assert set(requests) == {"tx-a", "tx-b"}
    peer.send(world.answer(requests["tx-b"]))  # answer the later one first
    first = peer.receive()
    assert (first.txid, first.channel_id, response_of(first).payload) == ("tx-b", "other", b"value-b")
    peer.send(world.answer(requests["tx-a"]))
    second = peer.receive()
    assert (second.txid, response_of(second).payload) == ("tx-a", b"value-a")


def test_same_txid_on_two_channels_is_two_transactions(peer: PeerDouble) -> None:
    world = WorldState(state={"a": b"x"})
    peer.start_transaction([b"get", b"a"], txid="same", channel_id="ch1")
    peer.start_transaction([b"get", b"a"], txid="same", channel_id="ch2")
    requests = [peer.receive(), peer.receive()]
    assert {m.channel_id for m in requests} == {"ch1", "ch2"}
    for request in requests:
        peer.send(world.answer(request))
    done = [peer.receive(), peer.receive()]
    assert {(m.channel_id, m.type) for m in done} == {("ch1", Message.COMPLETED), ("ch2", Message.COMPLETED)}


def test_peer_error_reply_raises_peer_error_in_the_chaincode(peer: PeerDouble, chaincode) -> None:
    peer.start_transaction([b"guarded_get", b"k"], txid="t1")
    request = peer.receive()
    peer.send(Message(type=Message.ERROR, payload=b"access denied", txid="t1", channel_id=request.channel_id))
    response = response_of(peer.receive())
    assert (response.status, response.message) == (409, "peer refused: access denied")
    assert [str(e) for e in chaincode.errors] == ["access denied"]


def test_chaincode_exception_fails_the_transaction_without_leaking(peer: PeerDouble) -> None:
    response = response_of(peer.transact(WorldState(), [b"crash"], txid="t1"))
    assert response.status == 500
    assert response.message == GENERIC_FAILURE_MESSAGE
    assert "secret" not in response.message
    # the stream lives on
    assert response_of(peer.transact(WorldState(), [b"refuse"], txid="t2")).status == 403


def test_error_response_and_non_response_end_the_transaction(peer: PeerDouble) -> None:
    refused = response_of(peer.transact(WorldState(), [b"refuse"], txid="t1"))
    assert (refused.status, refused.message) == (403, "not allowed")
    assert response_of(peer.transact(WorldState(), [b"none"], txid="t2")).status == 500


def test_set_event_travels_in_completed_and_last_call_wins(peer: PeerDouble) -> None:
    completed = peer.transact(WorldState(), [b"event"], txid="t1")
    assert completed.chaincode_event.event_name == "Minted"
    assert completed.chaincode_event.payload == b'{"amount": 5}'


def test_keepalive_is_echoed_in_every_state(serve, connect, chaincode) -> None:
    double = connect(serve(chaincode))
    assert double.receive().type == Message.REGISTER
    double.send(Message(type=Message.KEEPALIVE))
    assert double.receive().type == Message.KEEPALIVE
    double.send(Message(type=Message.REGISTERED))
    double.send(Message(type=Message.READY))
    double.send(Message(type=Message.KEEPALIVE, txid="ka"))
    echoed = double.receive()
    assert (echoed.type, echoed.txid) == (Message.KEEPALIVE, "ka")


def test_ten_mebibyte_argument_and_value_cross_the_stream(peer: PeerDouble) -> None:
    big = bytes(range(256)) * (10 * 1024 * 1024 // 256)
    response = response_of(peer.transact(WorldState(), [b"size", big], txid="t1"))
    assert response.payload == hashlib.sha256(big).digest()
    world = WorldState()
    assert response_of(peer.transact(world, [b"put", b"big", big], txid="t2")).status == 200
    assert world.state["big"] == big


def test_stream_loss_fails_the_pending_call(serve, connect, chaincode) -> None:
    double = connect(serve(chaincode))
    double.handshake()
    double.start_transaction([b"wait_then_get"], txid="t1")
    assert double.receive().type == Message.GET_STATE
    double.cancel()
    assert chaincode.release.wait(5)
    assert isinstance(chaincode.errors[0], StreamClosedError)


def test_peer_half_close_ends_the_stream_cleanly(serve, connect, chaincode) -> None:
    double = connect(serve(chaincode))
    double.handshake()
    double.start_transaction([b"wait_then_get"], txid="t1")
    assert double.receive().type == Message.GET_STATE
    double.close()
    assert chaincode.release.wait(5)
    with pytest.raises(StreamEnded) as ended:
        double.receive()
    assert ended.value.error is None  # the RPC finished with OK


def test_messages_in_the_wrong_state_get_error_and_the_stream_lives_on(serve, connect, chaincode) -> None:
    double = connect(serve(chaincode))
    assert double.receive().type == Message.REGISTER
    double.start_transaction([b"refuse"], txid="early")  # before REGISTERED
    reply = double.receive()
    assert (reply.type, reply.txid) == (Message.ERROR, "early")
    assert b"TRANSACTION" in reply.payload and b"created" in reply.payload
    double.send(Message(type=Message.REGISTERED))
    double.send(Message(type=Message.REGISTERED))  # again, now in established
    assert double.receive().type == Message.ERROR
    double.send(Message(type=Message.READY))
    double.send(Message(type=Message.GET_STATE, txid="x"))  # a chaincode-bound request type
    assert double.receive().type == Message.ERROR
    double.send(Message(type=Message.RESPONSE, txid="nobody-waits"))  # ignored, no reply
    double.assert_silent()
    assert response_of(double.transact(WorldState(), [b"refuse"], txid="t1")).status == 403


def test_bad_payload_and_duplicate_txid_get_error(peer: PeerDouble) -> None:
    peer.send(Message(type=Message.TRANSACTION, payload=b"\xff\xff\xff", txid="bad", channel_id="c"))
    reply = peer.receive()
    assert (reply.type, reply.txid, reply.channel_id) == (Message.ERROR, "bad", "c")
    proposal_garbage = Message(type=Message.TRANSACTION, txid="badprop", channel_id="c")
    proposal_garbage.proposal.proposal_bytes = b"\xff\xff"
    peer.send(proposal_garbage)
    assert peer.receive().type == Message.ERROR

    world = WorldState(state={"a": b"1"})
    peer.start_transaction([b"get", b"a"], txid="dup")
    request = peer.receive()
    peer.start_transaction([b"get", b"a"], txid="dup")
    duplicate = peer.receive()
    assert (duplicate.type, duplicate.txid) == (Message.ERROR, "dup")
    assert b"already in progress" in duplicate.payload
    peer.send(world.answer(request))
    assert response_of(peer.receive()).payload == b"1"
    # once finished, the txid may be used again
    assert response_of(peer.transact(world, [b"get", b"a"], txid="dup")).payload == b"1"


def test_several_peers_connect_at_once(serve, connect, chaincode) -> None:
    server = serve(chaincode)
    doubles = [connect(server) for _ in range(3)]
    for double in doubles:
        double.handshake()
    world = WorldState(state={"a": b"shared"})
    for index, double in enumerate(doubles):
        assert response_of(double.transact(world, [b"get", b"a"], txid=f"t{index}")).payload == b"shared"
