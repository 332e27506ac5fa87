"""One peer stream: the chaincode side of the chaincode protocol's state machine.

created --(send REGISTER)--> (REGISTERED) established --(READY)--> ready

Once ready, INIT/TRANSACTION messages run in a worker pool so several transactions can interleave
on one stream; each ledger request a transaction makes is sent with its channel+txid and waits for
the RESPONSE or ERROR carrying the same pair, which the reader thread routes back. Messages go out
through one queue (the gRPC response generator drains it), so any thread may send.
"""

from __future__ import annotations

import enum
import logging
import queue
import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from fabric_protos.peer import chaincode_pb2, chaincode_shim_pb2, proposal_response_pb2

from fabric_shim.calls import PeerError, StreamClosedError
from fabric_shim.chaincode import INTERNAL_ERROR, Chaincode, Response
from fabric_shim.stub import ChaincodeStub

logger = logging.getLogger(__name__)

Message = chaincode_shim_pb2.ChaincodeMessage
_TYPE_NAMES = Message.Type
GENERIC_FAILURE_MESSAGE = "chaincode failed with an internal error"


class HandlerState(enum.Enum):
    CREATED = "created"
    ESTABLISHED = "established"
    READY = "ready"
    CLOSED = "closed"


@dataclass
class _PendingCall:
    done: threading.Event = field(default_factory=threading.Event)
    reply: chaincode_shim_pb2.ChaincodeMessage | None = None


_END_OF_STREAM = object()


def _type_name(msg_type: int) -> str:
    try:
        return str(_TYPE_NAMES.Name(msg_type))
    except ValueError:
        return f"type {msg_type}"


class Handler:
    """Speaks the chaincode protocol for `chaincode` on one stream; implements `PeerCalls`.

    Feed inbound messages with `serve(messages)` (blocks until the stream ends) and send what
    `outbound()` yields to the peer. `call_timeout` bounds the wait for each peer reply
    (None waits until the reply or the end of the stream, as the Go shim does).
    """

    def __init__(
        self,
        chaincode: Chaincode,
        chaincode_id: str,
        *,
        max_concurrent_transactions: int = 32,
        call_timeout: float | None = None,
    ) -> None:
        self._chaincode = chaincode
        self._chaincode_id = chaincode_id
        self._call_timeout = call_timeout
        self._lock = threading.Lock()
        self._outbound: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._pending: dict[tuple[str, str], _PendingCall] = {}
        self._active_transactions: set[tuple[str, str]] = set()
        self._workers = ThreadPoolExecutor(max_concurrent_transactions, thread_name_prefix="chaincode-tx")
        self.state = HandlerState.CREATED

    # ---- stream plumbing --------------------------------------------------------------------------

    def start(self) -> None:
        """Send REGISTER: in chaincode-as-a-service the chaincode still registers first."""
        chaincode_id = chaincode_pb2.ChaincodeID(name=self._chaincode_id)
        self._send(Message(type=Message.REGISTER, payload=chaincode_id.SerializeToString()))

    def outbound(self) -> Iterator[chaincode_shim_pb2.ChaincodeMessage]:
        """The messages to send to the peer, until the handler closes."""
        while True:
            item = self._outbound.get()
            if item is _END_OF_STREAM:
                return
            assert isinstance(item, Message)
            yield item

    def serve(self, inbound: Iterable[chaincode_shim_pb2.ChaincodeMessage]) -> None:
        """Handle every message from the peer; closes the handler when the stream ends."""
        try:
            for message in inbound:
                self.handle(message)
        except Exception as exc:  # grpc raises on cancellation or a broken connection
            logger.info("chaincode stream ended: %s", type(exc).__name__)
        finally:
            self.close()

    def close(self) -> None:
        """End the stream: fail pending calls with `StreamClosedError` and stop the sender. Idempotent."""
        with self._lock:
            if self.state is HandlerState.CLOSED:
                return
            self.state = HandlerState.CLOSED
            pending = list(self._pending.values())
            self._pending.clear()
            self._outbound.put(_END_OF_STREAM)
        for call in pending:
            call.done.set()  # reply stays None: the waiter raises StreamClosedError
        self._workers.shutdown(wait=False, cancel_futures=True)

    def _send(self, message: chaincode_shim_pb2.ChaincodeMessage) -> None:
        with self._lock:
            if self.state is HandlerState.CLOSED:
                logger.debug("dropping %s for tx %s: stream closed", _type_name(message.type), message.txid)
                return
            self._outbound.put(message)

    def _send_error(self, text: str, about: chaincode_shim_pb2.ChaincodeMessage) -> None:
        logger.warning("answering %s (tx %s) with ERROR: %s", _type_name(about.type), about.txid, text)
        self._send(
            Message(
                type=Message.ERROR, payload=text.encode("utf-8"), txid=about.txid, channel_id=about.channel_id
            )
        )

    # ---- inbound dispatch -------------------------------------------------------------------------

    def handle(self, message: chaincode_shim_pb2.ChaincodeMessage) -> None:
        """Process one message from the peer (called from the stream's reader thread)."""
        if message.type == Message.KEEPALIVE:
            self._send(message)
            return
        state = self.state
        if state is HandlerState.CREATED and message.type == Message.REGISTERED:
            self._advance(HandlerState.ESTABLISHED)
            logger.info("chaincode %s registered with the peer", self._chaincode_id)
        elif state is HandlerState.CREATED and message.type == Message.ERROR:
            logger.error("the peer refused registration: %s", message.payload.decode("utf-8", "replace"))
        elif state is HandlerState.ESTABLISHED and message.type == Message.READY:
            # v3.x sends ChaincodeAdditionalParams here, v2.5 nothing; neither changes what we do.
            self._advance(HandlerState.READY)
            logger.info("chaincode ready (READY payload of %d bytes)", len(message.payload))
        elif state is HandlerState.READY and message.type in (Message.RESPONSE, Message.ERROR):
            self._deliver_reply(message)
        elif state is HandlerState.READY and message.type in (Message.INIT, Message.TRANSACTION):
            self._begin_transaction(message)
        elif state is not HandlerState.CLOSED:
            self._send_error(f"unexpected message {_type_name(message.type)} in state {state.value}", message)

    def _advance(self, state: HandlerState) -> None:
        with self._lock:
            if self.state is not HandlerState.CLOSED:
                self.state = state

    def _deliver_reply(self, message: chaincode_shim_pb2.ChaincodeMessage) -> None:
        with self._lock:
            call = self._pending.pop((message.channel_id, message.txid), None)
        if call is None:
            kind = _type_name(message.type)
            logger.warning("ignoring %s for tx %s: no request is waiting", kind, message.txid)
            return
        call.reply = message
        call.done.set()

    # ---- PeerCalls --------------------------------------------------------------------------------

    def call(self, msg_type: int, payload: bytes, channel_id: str, txid: str) -> bytes:
        """Send a request for (channel_id, txid) and return the payload of the peer's RESPONSE."""
        key = (channel_id, txid)
        call = _PendingCall()
        with self._lock:
            if self.state is HandlerState.CLOSED:
                raise StreamClosedError("the stream to the peer is closed")
            if key in self._pending:
                # Replies are matched by channel+txid only, so one transaction gets one request at a time.
                raise PeerError(f"transaction {txid} already has a request pending")
            self._pending[key] = call
            self._outbound.put(Message(type=msg_type, payload=payload, txid=txid, channel_id=channel_id))
        if not call.done.wait(self._call_timeout):
            with self._lock:
                self._pending.pop(key, None)
            raise PeerError(f"no reply to {_type_name(msg_type)} within {self._call_timeout} s")
        reply = call.reply
        if reply is None:
            raise StreamClosedError("the stream to the peer ended before it replied")
        if reply.type == Message.RESPONSE:
            return bytes(reply.payload)
        raise PeerError(reply.payload.decode("utf-8", "replace"))

    # ---- transactions -----------------------------------------------------------------------------

    def _begin_transaction(self, message: chaincode_shim_pb2.ChaincodeMessage) -> None:
        key = (message.channel_id, message.txid)
        with self._lock:
            duplicate = key in self._active_transactions
            if not duplicate:
                self._active_transactions.add(key)
        if duplicate:
            self._send_error(f"transaction {message.txid} is already in progress", message)
            return
        try:
            self._workers.submit(self._run_transaction, message)
        except RuntimeError:  # the pool shut down because the stream closed meanwhile
            with self._lock:
                self._active_transactions.discard(key)

    def _run_transaction(self, message: chaincode_shim_pb2.ChaincodeMessage) -> None:
        key = (message.channel_id, message.txid)
        try:
            reply = self._execute(message)
        finally:
            with self._lock:
                self._active_transactions.discard(key)
        self._send(reply)

    def _execute(self, message: chaincode_shim_pb2.ChaincodeMessage) -> chaincode_shim_pb2.ChaincodeMessage:
        try:
            chaincode_input = chaincode_pb2.ChaincodeInput.FromString(message.payload)
            stub = ChaincodeStub(
                self,
                message.channel_id,
                message.txid,
                chaincode_input,
                message.proposal if message.HasField("proposal") else None,
            )
        except Exception as exc:
            logger.warning("tx %s: bad %s payload: %s", message.txid, _type_name(message.type), exc)
            text = f"cannot parse the {_type_name(message.type)} message: {type(exc).__name__}"
            return Message(
                type=Message.ERROR, payload=text.encode(), txid=message.txid, channel_id=message.channel_id
            )
        try:
            if message.type == Message.INIT:
                response = self._chaincode.init(stub)
            else:
                response = self._chaincode.invoke(stub)
            if not isinstance(response, Response):
                raise TypeError(f"chaincode returned {type(response).__name__}, not a Response")
        except Exception as exc:
            # Never leave the peer waiting: a crash is a failed endorsement with a generic message.
            logger.warning("tx %s: chaincode raised %s", message.txid, type(exc).__name__)
            logger.debug("tx %s: chaincode exception", message.txid, exc_info=True)
            return _completed(message, Response(status=INTERNAL_ERROR, message=GENERIC_FAILURE_MESSAGE), None)
        if message.type == Message.INIT and not response.ok:
            # As the Go shim: a failed Init is an ERROR carrying the message (and any event); the peer
            # reports it as "transaction returned with failure". A failed Invoke stays a COMPLETED.
            failed = Message(
                type=Message.ERROR,
                payload=response.message.encode("utf-8"),
                txid=message.txid,
                channel_id=message.channel_id,
            )
            if stub.event is not None:
                failed.chaincode_event.CopyFrom(stub.event)
            return failed
        return _completed(message, response, stub.event)


def _completed(
    message: chaincode_shim_pb2.ChaincodeMessage, response: Response, event: object | None
) -> chaincode_shim_pb2.ChaincodeMessage:
    payload = proposal_response_pb2.Response(
        status=response.status, message=response.message, payload=response.payload
    ).SerializeToString()
    completed = Message(
        type=Message.COMPLETED, payload=payload, txid=message.txid, channel_id=message.channel_id
    )
    if event is not None:
        completed.chaincode_event.CopyFrom(event)
    return completed
