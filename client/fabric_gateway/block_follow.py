"""Following full blocks from a checkpoint: what an off-chain store of a channel's data needs.

`transactions_of_block` reads what a `common.Block` holds for each transaction: its id, header type,
validation code (from the block's TRANSACTIONS_FILTER metadata) and the chaincode event its
endorsement carried. Only a VALID transaction's event happened; an invalidated one changed nothing.

`follow_blocks` keeps a stream of blocks open from `next_block()` — the caller's own checkpoint,
which it must store together with whatever it did with the block — and hands every block to
`apply`. When the stream fails (a peer restarting: UNAVAILABLE; a stream cut), it opens a new one
from `next_block()` again after a growing pause, so a block is never skipped, and a block whose
`apply` did not finish is read again. Blocks are the unit: the checkpoint names the next block.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import grpc
from fabric_protos.common import common_pb2
from fabric_protos.peer import chaincode_event_pb2, proposal_pb2, proposal_response_pb2, transaction_pb2

from fabric_gateway.errors import BlockEventsError

VALID = 0
RETRYABLE = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED, grpc.StatusCode.INTERNAL})


@dataclass(frozen=True)
class BlockTransaction:
    """One transaction of a block as an indexer sees it."""

    block_number: int
    index: int
    transaction_id: str
    header_type: int
    validation_code: int
    chaincode_name: str = ""
    event_name: str = ""
    event_payload: bytes = b""

    @property
    def valid(self) -> bool:
        return self.validation_code == VALID


def transactions_of_block(block: Any) -> list[BlockTransaction]:
    """Every transaction of a `common.Block`, with its validation code and chaincode event (if any)."""
    codes = bytes(block.metadata.metadata[common_pb2.BlockMetadataIndex.TRANSACTIONS_FILTER])
    number = int(block.header.number)
    found = []
    for index, raw in enumerate(block.data.data):
        envelope = common_pb2.Envelope.FromString(raw)
        payload = common_pb2.Payload.FromString(envelope.payload)
        header = common_pb2.ChannelHeader.FromString(payload.header.channel_header)
        code = codes[index] if index < len(codes) else 255  # no code: never treat it as valid
        chaincode = name = ""
        event_payload = b""
        if header.type == common_pb2.HeaderType.ENDORSER_TRANSACTION and payload.data:
            event = _chaincode_event(payload.data)
            if event is not None:
                chaincode, name, event_payload = event.chaincode_id, event.event_name, bytes(event.payload)
        found.append(
            BlockTransaction(number, index, header.tx_id, header.type, code, chaincode, name, event_payload)
        )
    return found


def _chaincode_event(transaction_bytes: bytes) -> Any | None:
    transaction = transaction_pb2.Transaction.FromString(transaction_bytes)
    for action in transaction.actions:
        action_payload = transaction_pb2.ChaincodeActionPayload.FromString(action.payload)
        response_payload = proposal_response_payload(action_payload.action.proposal_response_payload)
        chaincode_action = proposal_pb2.ChaincodeAction.FromString(response_payload.extension)
        if chaincode_action.events:
            return chaincode_event_pb2.ChaincodeEvent.FromString(chaincode_action.events)
    return None


def proposal_response_payload(raw: bytes) -> Any:
    return proposal_response_pb2.ProposalResponsePayload.FromString(raw)


class BlockStream(Protocol):
    """What `open_stream` returns: a `BlockEvents` (iterate for blocks, `close()` to end it)."""

    def __iter__(self) -> Iterator[Any]: ...
    def close(self) -> None: ...


@dataclass
class FollowStats:
    blocks: int = 0
    reconnects: int = 0


def follow_blocks(
    open_stream: Callable[[int, float | None], BlockStream],
    next_block: Callable[[], int],
    apply: Callable[[Any], None],
    *,
    idle_seconds: float | None = None,
    stop: threading.Event | None = None,
    first_pause: float = 0.2,
    max_pause: float = 10.0,
    give_up_after: float | None = None,
) -> FollowStats:
    """Apply every block from `next_block()` on, reconnecting after failures; returns what it did.

    `open_stream(start, timeout)` opens a block stream (e.g. `network.block_events(start_block=...,
    timeout=...)`). With `idle_seconds`, following ends once a stream of that length brought no
    block (caught up); without it, it runs until `stop` is set. `give_up_after`: raise the stream's
    error when the peer stays unreachable that long (None: keep trying).
    """
    stats = FollowStats()
    current: list[BlockStream] = []
    done = threading.Event()
    if stop is not None:
        # A stream waiting for the next block would not see `stop`: close it from here.
        def close_on_stop() -> None:
            while not stop.wait(0.2):
                if done.is_set():
                    return
            for stream in list(current):
                stream.close()

        threading.Thread(target=close_on_stop, daemon=True, name="follow-blocks-stop").start()
    try:
        return _follow(open_stream, next_block, apply, stats, current, idle_seconds, stop,
                       first_pause, max_pause, give_up_after)  # fmt: skip
    finally:
        done.set()


def _follow(
    open_stream: Callable[[int, float | None], BlockStream],
    next_block: Callable[[], int],
    apply: Callable[[Any], None],
    stats: FollowStats,
    current: list[BlockStream],
    idle_seconds: float | None,
    stop: threading.Event | None,
    first_pause: float,
    max_pause: float,
    give_up_after: float | None,
) -> FollowStats:
    pause = first_pause
    failing_since: float | None = None
    while stop is None or not stop.is_set():
        received = 0
        try:
            blocks = open_stream(next_block(), idle_seconds)
            current[:] = [blocks]
            if stop is not None and stop.is_set():
                blocks.close()
            with contextlib.closing(blocks):
                for block in blocks:
                    apply(block)
                    received += 1
                    stats.blocks += 1
                    pause, failing_since = first_pause, None
                    if stop is not None and stop.is_set():
                        return stats
        except BlockEventsError as error:
            if error.code == grpc.StatusCode.DEADLINE_EXCEEDED and idle_seconds is not None:
                if received == 0:
                    return stats  # a whole idle period without a block: caught up
                continue
            if error.code not in RETRYABLE:
                raise
            now = time.monotonic()
            failing_since = failing_since if failing_since is not None else now
            if give_up_after is not None and now - failing_since > give_up_after:
                raise
            stats.reconnects += 1
            if stop is not None:
                stop.wait(pause)
            else:
                time.sleep(pause)
            pause = min(pause * 2, max_pause)
            continue
        if idle_seconds is not None and received == 0:
            return stats
    return stats
