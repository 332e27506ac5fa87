"""The peer side of one `protos.Chaincode/Connect` stream to a chaincode server.

created --(REGISTER with the expected package ID; send REGISTERED, READY)--> ready --> closed

Once ready, each transaction is sent as TRANSACTION and waits for the COMPLETED or ERROR carrying
its channel+txid. Meanwhile the chaincode's requests (GET_STATE, PUT_STATE, ...) are answered from
the transaction's simulator on a worker pool, so transactions interleave on the stream and a slow
request never blocks the reader. As on a peer, a transaction has at most one request in flight,
received KEEPALIVEs are not answered (the chaincode echoes ours), and when the stream ends every
pending transaction fails at once.
"""

from __future__ import annotations

import contextlib
import enum
import logging
import queue
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import grpc
from fabric_protos.peer import (
    chaincode_event_pb2,
    chaincode_pb2,
    chaincode_shim_pb2,
    proposal_pb2,
    proposal_response_pb2,
)
from fabric_shim.calls import PeerCalls, PeerError
from fabric_shim.chaincode import INTERNAL_ERROR, Response
from google.protobuf.message import DecodeError

from embedded_ledger.runtime import ExecutionResult

logger = logging.getLogger(__name__)

Message = chaincode_shim_pb2.ChaincodeMessage
_END_OF_STREAM = object()
TIMEOUT_MESSAGE = "timeout expired while executing transaction"


class StreamState(enum.Enum):
    CREATED = "created"
    READY = "ready"
    CLOSED = "closed"


class HandshakeError(Exception):
    """The stream ended, or the server misbehaved, before the chaincode was ready."""


@dataclass
class _Transaction:
    simulator: PeerCalls
    done: threading.Event = field(default_factory=threading.Event)
    reply: chaincode_shim_pb2.ChaincodeMessage | None = None
    request_in_flight: bool = False


def _type_name(msg_type: int) -> str:
    try:
        return str(Message.Type.Name(msg_type))
    except ValueError:
        return f"type {msg_type}"


def describe_rpc_error(exc: grpc.RpcError) -> str:
    """A short reason for a failed stream: the status code and gRPC's own explanation."""
    code = exc.code() if isinstance(exc, grpc.Call) else None
    details = exc.details() if isinstance(exc, grpc.Call) else None
    name = code.name if code is not None else "UNKNOWN"
    return f"{name}: {details}" if details else name


class PeerStream:
    """One stream on `channel` to the chaincode registered as `chaincode_id`."""

    def __init__(
        self,
        channel: grpc.Channel,
        chaincode_id: str,
        *,
        label: str,
        call_timeout: float,
        keepalive_interval: float | None,
        request_workers: int,
        ready_payload: bytes = b"",
    ) -> None:
        self.chaincode_id = chaincode_id
        self._ready_payload = ready_payload  # the batched calls offered, as a v3.1 peer's READY
        self._label = label  # names the server in failure messages
        self._channel = channel
        self._call_timeout = call_timeout
        self._keepalive_interval = keepalive_interval
        self._lock = threading.Lock()
        self._outbound: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._transactions: dict[tuple[str, str], _Transaction] = {}
        self._workers = ThreadPoolExecutor(request_workers, thread_name_prefix="chaincode-request")
        self._ready = threading.Event()
        self._closed = threading.Event()
        self._call: grpc.RpcContext | None = None  # the Connect call, cancelled on close
        self.state = StreamState.CREATED
        self.close_reason = ""

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    # ---- lifecycle --------------------------------------------------------------------------------

    def open(self, timeout: float) -> None:
        """Open the stream and complete the handshake within `timeout` s; raises `HandshakeError`."""
        connect = self._channel.stream_stream(
            "/protos.Chaincode/Connect",
            request_serializer=Message.SerializeToString,
            response_deserializer=Message.FromString,
        )
        responses = connect(self._requests())
        self._call = responses
        threading.Thread(
            target=self._read, args=(responses,), name="chaincode-stream-reader", daemon=True
        ).start()
        if not self._ready.wait(timeout):
            self.close(f"no registration from the chaincode within {timeout} s")
        if self.state is not StreamState.READY:
            raise HandshakeError(self.close_reason)
        if self._keepalive_interval:
            threading.Thread(target=self._send_keepalives, name="chaincode-keepalive", daemon=True).start()

    def close(self, reason: str) -> None:
        """End the stream and fail every pending transaction with `reason`. Idempotent."""
        with self._lock:
            if self.state is StreamState.CLOSED:
                return
            was_ready = self.state is StreamState.READY
            self.state = StreamState.CLOSED
            self.close_reason = reason
            pending = list(self._transactions.values())
            self._transactions.clear()
            self._outbound.put(_END_OF_STREAM)
        if was_ready:
            logger.info("stream to chaincode %s closed: %s", self.chaincode_id, reason)
        for transaction in pending:
            transaction.done.set()  # no reply: the waiter reports `close_reason`
        self._ready.set()
        self._closed.set()
        if self._call is not None:
            self._call.cancel()
        self._workers.shutdown(wait=False, cancel_futures=True)

    def _requests(self) -> Iterator[chaincode_shim_pb2.ChaincodeMessage]:
        while True:
            item = self._outbound.get()
            if item is _END_OF_STREAM:
                return
            assert isinstance(item, Message)
            yield item

    def _send(self, message: chaincode_shim_pb2.ChaincodeMessage) -> None:
        with self._lock:
            if self.state is not StreamState.CLOSED:
                self._outbound.put(message)

    def _send_keepalives(self) -> None:
        assert self._keepalive_interval is not None
        while not self._closed.wait(self._keepalive_interval):
            self._send(Message(type=Message.KEEPALIVE))

    # ---- inbound ----------------------------------------------------------------------------------

    def _read(self, responses: Iterator[chaincode_shim_pb2.ChaincodeMessage]) -> None:
        try:
            for message in responses:
                self._handle(message)
            reason = "the chaincode server ended the stream"
        except grpc.RpcError as exc:
            reason = describe_rpc_error(exc)
        except Exception as exc:  # never let the reader die silently with transactions waiting
            logger.exception("chaincode stream reader failed")
            reason = f"the stream reader failed: {type(exc).__name__}"
        if not self.closed:
            logger.warning("lost the stream to chaincode %s: %s", self.chaincode_id, reason)
        self.close(reason)

    def _handle(self, message: chaincode_shim_pb2.ChaincodeMessage) -> None:
        if message.type == Message.KEEPALIVE:
            return
        if self.state is StreamState.CREATED:
            if message.type == Message.REGISTER:
                self._register(message)
            else:
                self.close(f"the chaincode sent {_type_name(message.type)} before registering")
        elif self.state is StreamState.READY:
            if message.type in (Message.COMPLETED, Message.ERROR):
                self._finish(message)
            else:
                self._accept_request(message)

    def _register(self, message: chaincode_shim_pb2.ChaincodeMessage) -> None:
        try:
            name = chaincode_pb2.ChaincodeID.FromString(message.payload).name
        except DecodeError:
            name = ""
        if name != self.chaincode_id:
            reason = f"the server registered chaincode {name!r}, expected package ID {self.chaincode_id!r}"
            self._send(Message(type=Message.ERROR, payload=reason.encode("utf-8")))
            self.close(reason)
            return
        self._send(Message(type=Message.REGISTERED))
        with self._lock:
            if self.state is StreamState.CREATED:
                self.state = StreamState.READY
        self._send(Message(type=Message.READY, payload=self._ready_payload))
        logger.info("chaincode %s registered and ready", self.chaincode_id)
        self._ready.set()

    def _finish(self, message: chaincode_shim_pb2.ChaincodeMessage) -> None:
        with self._lock:
            transaction = self._transactions.pop((message.channel_id, message.txid), None)
        if transaction is None:
            logger.debug("ignoring %s for tx %s: not executing", _type_name(message.type), message.txid)
            return
        transaction.reply = message
        transaction.done.set()

    # ---- the chaincode's requests -------------------------------------------------------------------

    def _accept_request(self, message: chaincode_shim_pb2.ChaincodeMessage) -> None:
        with self._lock:
            transaction = self._transactions.get((message.channel_id, message.txid))
            busy = transaction is not None and transaction.request_in_flight
            if transaction is not None and not busy:
                transaction.request_in_flight = True
        if transaction is None:
            text = f"no ongoing transaction {message.txid} on channel {message.channel_id!r}"
            self._reply_error(message, text)
        elif busy:
            # Replies are matched by channel+txid only; a second request could never be told apart.
            kind = _type_name(message.type)
            logger.warning("dropping %s for tx %s: a request is pending", kind, message.txid)
        else:
            # RuntimeError: the pool shut down because the stream closed meanwhile.
            with contextlib.suppress(RuntimeError):
                self._workers.submit(self._answer, transaction, message)

    def _answer(self, transaction: _Transaction, message: chaincode_shim_pb2.ChaincodeMessage) -> None:
        try:
            simulator = transaction.simulator
            payload = simulator.call(message.type, message.payload, message.channel_id, message.txid)
            reply = Message(
                type=Message.RESPONSE, payload=payload, txid=message.txid, channel_id=message.channel_id
            )
        except PeerError as exc:
            reply = _error(message, f"{_type_name(message.type)} failed: {exc}")
        except Exception as exc:
            kind = _type_name(message.type)
            logger.warning("tx %s: answering %s raised %s", message.txid, kind, type(exc).__name__)
            logger.debug("tx %s: ledger exception", message.txid, exc_info=True)
            reply = _error(message, f"{_type_name(message.type)} failed: internal error of the ledger")
        with self._lock:
            # Cleared before replying: the chaincode may send its next request as soon as it reads this.
            transaction.request_in_flight = False
        self._send(reply)

    def _reply_error(self, about: chaincode_shim_pb2.ChaincodeMessage, text: str) -> None:
        logger.warning("answering %s (tx %s) with ERROR: %s", _type_name(about.type), about.txid, text)
        self._send(_error(about, text))

    # ---- transactions -----------------------------------------------------------------------------

    def execute(
        self,
        simulator: PeerCalls,
        channel_id: str,
        tx_id: str,
        chaincode_input: chaincode_pb2.ChaincodeInput,
        signed_proposal: proposal_pb2.SignedProposal | None,
    ) -> ExecutionResult:
        """Send TRANSACTION and wait for its end; failures come back as status-500 responses."""
        key = (channel_id, tx_id)
        transaction = _Transaction(simulator)
        message = Message(
            type=Message.TRANSACTION,
            payload=chaincode_input.SerializeToString(),
            txid=tx_id,
            channel_id=channel_id,
        )
        if signed_proposal is not None:
            message.proposal.CopyFrom(signed_proposal)
        with self._lock:
            if self.state is not StreamState.READY:
                return self._failure(f"the connection is closed: {self.close_reason}"), None
            if key in self._transactions:
                return self._failure(f"transaction {tx_id} is already executing"), None
            self._transactions[key] = transaction
            self._outbound.put(message)
        finished = transaction.done.wait(self._call_timeout)
        with self._lock:
            self._transactions.pop(key, None)
        reply = transaction.reply
        if reply is None:
            if not finished:
                logger.warning("tx %s: no answer from chaincode %s in time", tx_id, self.chaincode_id)
                return self._failure(f"{TIMEOUT_MESSAGE} {tx_id} (after {self._call_timeout} s)"), None
            return self._failure(f"the connection was lost: {self.close_reason}"), None
        return _result(reply)

    def _failure(self, text: str) -> Response:
        return _failure(f"{self._label}: {text}")


def _error(about: chaincode_shim_pb2.ChaincodeMessage, text: str) -> chaincode_shim_pb2.ChaincodeMessage:
    payload = text.encode("utf-8")
    return Message(type=Message.ERROR, payload=payload, txid=about.txid, channel_id=about.channel_id)


def _failure(text: str) -> Response:
    return Response(status=INTERNAL_ERROR, message=text)


def _result(reply: chaincode_shim_pb2.ChaincodeMessage) -> ExecutionResult:
    if reply.type == Message.ERROR:
        text = reply.payload.decode("utf-8", "replace")
        return _failure(f"transaction returned with failure: {text}"), None
    try:
        response = proposal_response_pb2.Response.FromString(reply.payload)
    except DecodeError:
        return _failure("the chaincode's COMPLETED message does not hold a Response"), None
    event = None
    if reply.HasField("chaincode_event"):
        event = chaincode_event_pb2.ChaincodeEvent()
        event.CopyFrom(reply.chaincode_event)
    return Response(status=response.status, message=response.message, payload=response.payload), event
