"""Both ends of the shim benchmark: the chaincode under test and a minimal peer-side driver.

`CounterChaincode` does what a typical transaction does to the ledger: one GET_STATE, one PUT_STATE.
`PeerDriver` dials a chaincode server over plaintext gRPC as a peer does (REGISTER -> REGISTERED ->
READY), then keeps up to `in_flight` TRANSACTION messages outstanding on the one stream, answering the
chaincode's requests from a dict. `InProcessPeer` answers the same requests without any transport, as
the embedded ledger does, which is the baseline the gRPC numbers are divided by.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Iterator

import grpc
from fabric_protos.peer import (
    chaincode_pb2,
    chaincode_shim_pb2,
    chaincode_shim_pb2_grpc,
    proposal_response_pb2,
)
from fabric_shim.chaincode import Response, error, success
from fabric_shim.stub import ChaincodeStub

from benchmarks.timing import Sample

Message = chaincode_shim_pb2.ChaincodeMessage
CHANNEL = "bench"
KEYS = 64  # transactions cycle over this many keys
_CLOSE = object()


class CounterChaincode:
    """`incr <key>`: read a counter and write it back plus one."""

    def init(self, stub: ChaincodeStub) -> Response:
        return success()

    def invoke(self, stub: ChaincodeStub) -> Response:
        function, params = stub.get_function_and_parameters()
        if function != "incr" or len(params) != 1:
            return error("usage: incr <key>", 400)
        current = int(stub.get_state(params[0]) or b"0")
        stub.put_state(params[0], str(current + 1).encode())
        return success()


def transaction_args(number: int) -> list[bytes]:
    return [b"incr", f"counter-{number % KEYS}".encode()]


class InProcessPeer:
    """A `PeerCalls` answering GET_STATE/PUT_STATE from a dict, with no transport in between."""

    def __init__(self) -> None:
        self.state: dict[str, bytes] = {}

    def call(self, msg_type: int, payload: bytes, channel_id: str, txid: str) -> bytes:
        if msg_type == Message.GET_STATE:
            return self.state.get(chaincode_shim_pb2.GetState.FromString(payload).key, b"")
        if msg_type == Message.PUT_STATE:
            put = chaincode_shim_pb2.PutState.FromString(payload)
            self.state[put.key] = put.value
            return b""
        raise ValueError(f"the benchmark peer does not answer {Message.Type.Name(msg_type)}")

    def run(self, chaincode: CounterChaincode, count: int, label: str) -> Sample:
        """Invoke `chaincode` `count` times directly through a stub."""
        inputs = [chaincode_pb2.ChaincodeInput(args=transaction_args(i)) for i in range(count)]
        start = time.perf_counter()
        for number, chaincode_input in enumerate(inputs):
            stub = ChaincodeStub(self, CHANNEL, f"{label}-{number}", chaincode_input, None)
            response = chaincode.invoke(stub)
            if response.status != 200:
                raise RuntimeError(f"transaction failed: {response.status} {response.message}")
        return Sample(count, time.perf_counter() - start)


class PeerDriver:
    """The peer's side of one `Chaincode/Connect` stream, driven from the calling thread."""

    def __init__(self, address: str) -> None:
        self.state: dict[str, bytes] = {}
        self._outbox: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._channel = grpc.insecure_channel(address)
        self._stream = chaincode_shim_pb2_grpc.ChaincodeStub(self._channel).Connect(self._requests())
        self._handshake()

    def _requests(self) -> Iterator[chaincode_shim_pb2.ChaincodeMessage]:
        while (item := self._outbox.get()) is not _CLOSE:
            assert isinstance(item, Message)
            yield item

    def _receive(self) -> chaincode_shim_pb2.ChaincodeMessage:
        message: chaincode_shim_pb2.ChaincodeMessage = next(self._stream)
        return message

    def _handshake(self) -> None:
        register = self._receive()
        if register.type != Message.REGISTER:
            raise RuntimeError(f"expected REGISTER, got {Message.Type.Name(register.type)}")
        self._outbox.put(Message(type=Message.REGISTERED))
        self._outbox.put(Message(type=Message.READY))

    def _start(self, number: int, label: str) -> None:
        payload = chaincode_pb2.ChaincodeInput(args=transaction_args(number)).SerializeToString()
        self._outbox.put(
            Message(type=Message.TRANSACTION, payload=payload, txid=f"{label}-{number}", channel_id=CHANNEL)
        )

    def _answer(self, request: chaincode_shim_pb2.ChaincodeMessage) -> None:
        if request.type == Message.GET_STATE:
            payload = self.state.get(chaincode_shim_pb2.GetState.FromString(request.payload).key, b"")
        elif request.type == Message.PUT_STATE:
            put = chaincode_shim_pb2.PutState.FromString(request.payload)
            self.state[put.key] = put.value
            payload = b""
        else:
            raise RuntimeError(f"unexpected {Message.Type.Name(request.type)} from the chaincode")
        self._outbox.put(
            Message(type=Message.RESPONSE, payload=payload, txid=request.txid, channel_id=request.channel_id)
        )

    def run(self, count: int, in_flight: int, label: str) -> Sample:
        """Complete `count` transactions keeping up to `in_flight` of them outstanding at once."""
        start = time.perf_counter()
        sent = completed = 0
        while sent < min(in_flight, count):
            self._start(sent, label)
            sent += 1
        while completed < count:
            message = self._receive()
            if message.type == Message.COMPLETED:
                status = proposal_response_pb2.Response.FromString(message.payload).status
                if status != 200:
                    raise RuntimeError(f"transaction {message.txid} failed with status {status}")
                completed += 1
                if sent < count:
                    self._start(sent, label)
                    sent += 1
            elif message.type == Message.ERROR:
                raise RuntimeError(f"the chaincode answered ERROR for {message.txid}")
            else:
                self._answer(message)
        return Sample(count, time.perf_counter() - start)

    def close(self) -> None:
        """Half-close the stream as a peer leaving cleanly, then drop the channel."""
        self._outbox.put(_CLOSE)
        self._channel.close()
