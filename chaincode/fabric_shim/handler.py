"""One peer stream: the chaincode side of the chaincode protocol's state machine.

created --(send REGISTER)--> (REGISTERED) established --(READY)--> ready

Once ready, INIT/TRANSACTION messages run in a worker pool so several transactions can interleave
on one stream; each ledger request a transaction makes is sent with its channel+txid and waits for
the RESPONSE or ERROR carrying the same pair, which the reading thread routes back.

Messages go out through `send`, called directly by whichever thread has something to say (a
transaction, the reader answering a KEEPALIVE): handing them to a sender thread would cost a thread
switch per message. gRPC allows one send in progress per stream, so sends take `_send_lock`.

READY's payload says which batched calls the peer accepts (`fabric_shim.batching`, v3.1); every
transaction's stub uses them, and its batched writes are sent before its COMPLETED.

Shutdown: `begin_shutdown()` refuses new transactions with an ERROR while those already running
finish (`wait_idle`), then `end_stream()` closes the stream with an OK status.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor

from fabric_protos.peer import chaincode_pb2, chaincode_shim_pb2, proposal_response_pb2

from fabric_shim.batching import NO_BATCHING, PeerFeatures
from fabric_shim.calls import PeerError, StreamClosedError
from fabric_shim.chaincode import INTERNAL_ERROR, Chaincode, Response
from fabric_shim.observer import ShimObserver
from fabric_shim.pending_call import PendingCall
from fabric_shim.stub import ChaincodeStub

logger = logging.getLogger(__name__)

Message = chaincode_shim_pb2.ChaincodeMessage
_TYPE_NAMES = Message.Type
GENERIC_FAILURE_MESSAGE = "chaincode failed with an internal error"
SHUTTING_DOWN_MESSAGE = "chaincode is shutting down; retry the transaction"

SendFunction = Callable[[chaincode_shim_pb2.ChaincodeMessage | None], object]
"""Sends one message on the stream and returns once gRPC has taken it; None ends the stream (OK)."""

# How long the stream thread leaves the stream unread while transactions run but none of them is
# waiting for a reply (they are computing, or blocked on something else): then it reads itself so
# new transactions and KEEPALIVEs are not held up.
UNREAD_STREAM_FALLBACK_SECONDS = 0.002

_REPLY_TYPES = frozenset({Message.RESPONSE, Message.ERROR})
_TRANSACTION_TYPES = frozenset({Message.INIT, Message.TRANSACTION})


class HandlerState(enum.Enum):
    CREATED = "created"
    ESTABLISHED = "established"
    READY = "ready"
    CLOSED = "closed"


def _type_name(msg_type: int) -> str:
    try:
        return str(_TYPE_NAMES.Name(msg_type))
    except ValueError:
        return f"type {msg_type}"


class Handler:
    """Speaks the chaincode protocol for `chaincode` on one stream; implements `PeerCalls`.

    Feed inbound messages with `serve(messages)` (blocks until the stream ends); outbound messages
    go to `send`. `call_timeout` bounds the wait for each peer reply (None waits until the reply or
    the end of the stream, as the Go shim does).
    """

    def __init__(
        self,
        chaincode: Chaincode,
        chaincode_id: str,
        send: SendFunction,
        *,
        max_concurrent_transactions: int = 32,
        call_timeout: float | None = None,
        observer: ShimObserver | None = None,
    ) -> None:
        self._chaincode = chaincode
        self._chaincode_id = chaincode_id
        self._send_to_stream = send
        self._call_timeout = call_timeout
        self._observer = observer
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)  # notified when the last transaction ends
        self._send_lock = threading.Lock()
        self._stream_ended = False  # guarded by _send_lock
        self._pending: dict[tuple[str, str], PendingCall] = {}
        # The stream is read by one thread at a time ("the turn"). A transaction waiting for a reply
        # reads the stream itself when nobody else is: its reply then needs no thread switch.
        self._inbound: Iterator[chaincode_shim_pb2.ChaincodeMessage] = iter(())
        self._reading = False
        self._sleepers: deque[PendingCall] = deque()  # callers asleep until their reply or turn
        self._turn_free = threading.Condition(self._lock)  # where the stream thread waits its turn
        self._active_transactions: set[tuple[str, str]] = set()
        self._shutting_down = False
        self._workers = ThreadPoolExecutor(max_concurrent_transactions, thread_name_prefix="chaincode-tx")
        self.state = HandlerState.CREATED
        self.features: PeerFeatures = NO_BATCHING  # set from READY

    # ---- stream plumbing --------------------------------------------------------------------------

    def start(self) -> None:
        """Send REGISTER: in chaincode-as-a-service the chaincode still registers first."""
        chaincode_id = chaincode_pb2.ChaincodeID(name=self._chaincode_id)
        self._send(Message(type=Message.REGISTER, payload=chaincode_id.SerializeToString()))

    def serve(self, inbound: Iterable[chaincode_shim_pb2.ChaincodeMessage]) -> None:
        """Handle every message from the peer; closes the handler when the stream ends.

        The calling thread reads the stream whenever no transaction is running. While transactions
        run, those waiting for replies read it (see `call`); this thread steps in only when none has
        for `UNREAD_STREAM_FALLBACK_SECONDS`.
        """
        self._inbound = iter(inbound)
        while self._take_turn_for_stream_thread():
            self._read_one_message()

    def _take_turn_for_stream_thread(self) -> bool:
        with self._lock:
            waited_since: float | None = None
            while self.state is not HandlerState.CLOSED:
                if not self._reading:
                    if not self._active_transactions:
                        self._reading = True
                        return True
                    now = time.monotonic()
                    if waited_since is None:
                        waited_since = now
                    elif now - waited_since >= UNREAD_STREAM_FALLBACK_SECONDS:
                        self._reading = True
                        return True
                    self._turn_free.wait(UNREAD_STREAM_FALLBACK_SECONDS)
                else:
                    waited_since = None
                    self._turn_free.wait()
            return False

    def _read_one_message(self) -> None:
        """Read and handle one message while holding the turn, then pass the turn on."""
        try:
            message = next(self._inbound)
        except StopIteration:
            self.close()
        except Exception as exc:  # grpc raises on cancellation or a broken connection
            logger.info("chaincode stream ended: %s", type(exc).__name__)
            self.close()
        else:
            try:
                self.handle(message)
            except BaseException:
                self._pass_turn()
                raise
        self._pass_turn()

    def _pass_turn(self) -> None:
        with self._lock:
            self._reading = False
            if self._sleepers:
                self._sleepers.popleft().wake()
            else:
                self._turn_free.notify()

    def close(self) -> None:
        """Fail pending calls with `StreamClosedError` and drop later sends. Idempotent.

        Does not end the stream itself (see `end_stream`): a send may be blocked on a peer that
        stopped reading, and closing must not wait for it.
        """
        with self._lock:
            if self.state is HandlerState.CLOSED:
                return
            self.state = HandlerState.CLOSED
            self._pending.clear()  # their reply stays None: the callers raise StreamClosedError
            while self._sleepers:
                self._sleepers.popleft().wake()
            self._idle.notify_all()
            self._turn_free.notify_all()
        self._workers.shutdown(wait=False, cancel_futures=True)

    def begin_shutdown(self) -> None:
        """From now on refuse INIT/TRANSACTION with an ERROR; running transactions carry on."""
        with self._lock:
            self._shutting_down = True
            if not self._active_transactions:
                self._idle.notify_all()

    def wait_idle(self, timeout: float | None) -> bool:
        """Wait until no transaction runs (or the stream closed); False when `timeout` passed first."""
        with self._idle:
            return self._idle.wait_for(
                lambda: not self._active_transactions or self.state is HandlerState.CLOSED, timeout
            )

    def end_stream(self) -> None:
        """Close the stream with an OK status, then `close()`. Idempotent."""
        with self._send_lock:
            if not self._stream_ended:
                self._stream_ended = True
                self._send_to_stream(None)
        self.close()

    def _send(self, message: chaincode_shim_pb2.ChaincodeMessage) -> None:
        with self._send_lock:
            if self._stream_ended or self.state is HandlerState.CLOSED:
                if logger.isEnabledFor(logging.DEBUG):
                    kind = _type_name(message.type)
                    logger.debug("dropping %s for tx %s: stream closed", kind, message.txid)
                return
            self._send_to_stream(message)

    def _send_error(self, text: str, about: chaincode_shim_pb2.ChaincodeMessage) -> None:
        logger.warning("answering %s (tx %s) with ERROR: %s", _type_name(about.type), about.txid, text)
        self._send(
            Message(
                type=Message.ERROR, payload=text.encode("utf-8"), txid=about.txid, channel_id=about.channel_id
            )
        )

    # ---- inbound dispatch -------------------------------------------------------------------------

    def handle(self, message: chaincode_shim_pb2.ChaincodeMessage) -> None:
        """Process one message from the peer (called from the stream's reading thread)."""
        msg_type = message.type
        state = self.state
        # The two hot cases first: a reply to a waiting transaction, a new transaction.
        if state is HandlerState.READY:
            if msg_type in _REPLY_TYPES:
                self._deliver_reply(message)
                return
            if msg_type in _TRANSACTION_TYPES:
                self._begin_transaction(message)
                return
        if msg_type == Message.KEEPALIVE:
            self._send(message)
        elif state is HandlerState.CREATED and msg_type == Message.REGISTERED:
            self._advance(HandlerState.ESTABLISHED)
            logger.info("chaincode %s registered with the peer", self._chaincode_id)
        elif state is HandlerState.CREATED and msg_type == Message.ERROR:
            logger.error("the peer refused registration: %s", message.payload.decode("utf-8", "replace"))
        elif state is HandlerState.ESTABLISHED and msg_type == Message.READY:
            # v3.1 sends ChaincodeAdditionalParams here, v2.5 nothing (no batched calls).
            self.features = PeerFeatures.from_ready_payload(message.payload)
            self._advance(HandlerState.READY)
            logger.info(
                "chaincode ready (write batch: %s, get multiple keys: %s)",
                self.features.write_batch,
                self.features.get_multiple_keys,
            )
        elif state is not HandlerState.CLOSED:
            self._send_error(f"unexpected message {_type_name(msg_type)} in state {state.value}", message)

    def _advance(self, state: HandlerState) -> None:
        with self._lock:
            if self.state is not HandlerState.CLOSED:
                self.state = state

    def _deliver_reply(self, message: chaincode_shim_pb2.ChaincodeMessage) -> None:
        with self._lock:
            call = self._pending.pop((message.channel_id, message.txid), None)
            if call is not None:
                call.reply = message
                if call.sleeping:  # else it is the reader itself, or between two looks
                    self._sleepers.remove(call)
                    call.wake()
        if call is None:
            kind = _type_name(message.type)
            logger.warning("ignoring %s for tx %s: no request is waiting", kind, message.txid)

    # ---- PeerCalls --------------------------------------------------------------------------------

    def call(self, msg_type: int, payload: bytes, channel_id: str, txid: str) -> bytes:
        """Send a request for (channel_id, txid) and return the payload of the peer's RESPONSE.

        While waiting, the caller reads the stream itself whenever no other thread is (routing
        what it reads to its addressees), else sleeps until its reply or its turn to read comes.
        `call_timeout` bounds only the sleeping: a read in progress waits for the next message.
        """
        key = (channel_id, txid)
        call = PendingCall()
        with self._lock:
            if self.state is HandlerState.CLOSED:
                raise StreamClosedError("the stream to the peer is closed")
            if key in self._pending:
                # Replies are matched by channel+txid only, so one transaction gets one request at a time.
                raise PeerError(f"transaction {txid} already has a request pending")
            self._pending[key] = call  # before sending: the reply may overtake our return from send
        if self._observer is not None:
            self._observer.ledger_call(channel_id, txid, msg_type)
        self._send(Message(type=msg_type, payload=payload, txid=txid, channel_id=channel_id))
        deadline = None if self._call_timeout is None else time.monotonic() + self._call_timeout
        while True:
            with self._lock:
                if call.reply is not None or self.state is HandlerState.CLOSED:
                    break
                may_read = not self._reading
                if may_read:
                    self._reading = True
                else:
                    call.sleeping = True
                    self._sleepers.append(call)
            if may_read:
                self._read_one_message()
                continue
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not call.sleep(remaining):
                with self._lock:
                    if call.sleeping:  # nobody woke us: a real timeout
                        self._sleepers.remove(call)
                        call.sleeping = False
                        if self._pending.pop(key, None) is not None:
                            raise PeerError(
                                f"no reply to {_type_name(msg_type)} within {self._call_timeout} s"
                            )
                        break
                call.sleep(None)  # a wake-up raced the timeout: consume it
        reply = call.reply
        if reply is None:
            raise StreamClosedError("the stream to the peer ended before it replied")
        if reply.type == Message.RESPONSE:
            return reply.payload
        raise PeerError(reply.payload.decode("utf-8", "replace"))

    # ---- transactions -----------------------------------------------------------------------------

    def _begin_transaction(self, message: chaincode_shim_pb2.ChaincodeMessage) -> None:
        key = (message.channel_id, message.txid)
        with self._lock:
            refusal = None
            if self._shutting_down:
                refusal = SHUTTING_DOWN_MESSAGE
            elif key in self._active_transactions:
                refusal = f"transaction {message.txid} is already in progress"
            else:
                self._active_transactions.add(key)
        if refusal is not None:
            self._send_error(refusal, message)
            return
        try:
            self._workers.submit(self._run_transaction, message)
        except RuntimeError:  # the pool shut down because the stream closed meanwhile
            self._end_transaction(key)

    def _run_transaction(self, message: chaincode_shim_pb2.ChaincodeMessage) -> None:
        try:
            reply = self._observed(message)
            self._send(reply)  # before the transaction counts as ended: shutdown waits for this
        finally:
            self._end_transaction((message.channel_id, message.txid))

    def _observed(self, message: chaincode_shim_pb2.ChaincodeMessage) -> chaincode_shim_pb2.ChaincodeMessage:
        """`_execute`, told to the observer; before the reply is sent, so whoever sees it sees it counted."""
        if self._observer is None:
            return self._execute(message)
        self._observer.transaction_started(message)
        reply = None
        try:
            reply = self._execute(message)
            return reply
        finally:
            self._observer.transaction_finished(message, reply)

    def _end_transaction(self, key: tuple[str, str]) -> None:
        with self._lock:
            self._active_transactions.discard(key)
            if not self._active_transactions:
                self._idle.notify_all()  # shutdown waits for this
                self._turn_free.notify()  # the stream thread reads again

    def _execute(self, message: chaincode_shim_pb2.ChaincodeMessage) -> chaincode_shim_pb2.ChaincodeMessage:
        try:
            chaincode_input = chaincode_pb2.ChaincodeInput.FromString(message.payload)
            stub = ChaincodeStub(
                self,
                message.channel_id,
                message.txid,
                chaincode_input,
                message.proposal if message.HasField("proposal") else None,
                features=self.features,
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
        if response.ok:
            # A failed response needs no writes: the peer discards the simulation of a failure.
            try:
                stub.finish_writes()
            except PeerError as exc:
                # As the Go shim: the peer's refusal of a batched write fails the transaction.
                return Message(
                    type=Message.ERROR,
                    payload=f"the peer refused the transaction's writes: {exc}".encode(),
                    txid=message.txid,
                    channel_id=message.channel_id,
                )
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
