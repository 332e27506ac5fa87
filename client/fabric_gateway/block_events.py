"""Block events: a signed seek request to the peer's Deliver service, and the stream of blocks it opens.

The request is a `common.Envelope` whose payload has a ``DELIVER_SEEK_INFO`` header (channel, a
transaction id derived from nonce and creator, the creator) and a `SeekInfo`: start at the next
commit (default), at a given block, or at a checkpoint's block; never stop; wait for blocks not yet
committed. Three flavours share it, differing only in what the peer sends back:

- `Deliver` — full `common.Block`s (every transaction's envelope, validation codes in metadata);
- `DeliverFiltered` — `peer.FilteredBlock`s (transaction ids, types, validation codes, event names);
- `DeliverWithPrivateData` — `peer.BlockAndPrivateData` (the block plus the caller's private data).
"""

from __future__ import annotations

import builtins
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

import grpc
from fabric_protos.common import common_pb2
from fabric_protos.orderer import ab_pb2

from fabric_gateway._client import GatewayClient
from fabric_gateway.errors import BlockEventsError
from fabric_gateway.proposal import NONCE_LENGTH, transaction_id

if TYPE_CHECKING:
    from fabric_gateway.checkpointers import Checkpoint

MAX_BLOCK_NUMBER = 2**64 - 1
"""The largest block number: a stop position the stream never reaches."""

EventT = TypeVar("EventT")


def start_position(start_block: int | None = None, checkpoint: Checkpoint | None = None) -> Any:
    """Where a stream starts: a checkpoint holding a position wins, then `start_block`, then the next commit.

    The next commit, not the newest block, is the default of the official clients: a fresh listener sees
    only what is committed after it starts.
    """
    if checkpoint is not None and checkpoint.block_number is not None:
        # A checkpoint names the next block to read. Should a transaction of it be checkpointed too,
        # block events re-read the whole block: blocks are their unit, not transactions.
        start_block = checkpoint.block_number
    if start_block is None:
        return ab_pb2.SeekPosition(next_commit=ab_pb2.SeekNextCommit())
    if not 0 <= start_block <= MAX_BLOCK_NUMBER:
        raise ValueError(f"start_block must lie in [0, 2**64), got {start_block}")
    return ab_pb2.SeekPosition(specified=ab_pb2.SeekSpecified(number=start_block))


def build_seek_envelope(
    creator: bytes,
    channel_id: str,
    start: Any,
    *,
    nonce: bytes | None = None,
    timestamp: datetime | None = None,
) -> Any:
    """An unsigned `common.Envelope` asking for every block from `start` on, waiting for new ones."""
    nonce = os.urandom(NONCE_LENGTH) if nonce is None else nonce
    channel_header = common_pb2.ChannelHeader(
        type=common_pb2.HeaderType.DELIVER_SEEK_INFO,
        channel_id=channel_id,
        tx_id=transaction_id(nonce, creator),
        epoch=0,
    )
    channel_header.timestamp.FromDatetime(timestamp or datetime.now(UTC))
    seek_info = ab_pb2.SeekInfo(
        start=start,
        stop=ab_pb2.SeekPosition(specified=ab_pb2.SeekSpecified(number=MAX_BLOCK_NUMBER)),
        behavior=ab_pb2.SeekInfo.SeekBehavior.BLOCK_UNTIL_READY,
    )
    payload = common_pb2.Payload(
        header=common_pb2.Header(
            channel_header=channel_header.SerializeToString(),
            signature_header=common_pb2.SignatureHeader(creator=creator, nonce=nonce).SerializeToString(),
        ),
        data=seek_info.SerializeToString(),
    )
    return common_pb2.Envelope(payload=payload.SerializeToString())


def channel_of_envelope(envelope: Any) -> str:
    """The channel a seek envelope was built for."""
    payload = common_pb2.Payload.FromString(envelope.payload)
    return str(common_pb2.ChannelHeader.FromString(payload.header.channel_header).channel_id)


class _BlockEventsRequestBase(Generic[EventT]):
    """A seek request for one Deliver flavour; `events()` opens the stream (signing first if needed)."""

    _method: ClassVar[str]
    _response_field: ClassVar[str]

    def __init__(self, client: GatewayClient, envelope: Any) -> None:
        self._client = client
        self._envelope = envelope

    @property
    def transaction_id(self) -> str:
        """The request's own transaction id (it names the request, no transaction is run)."""
        payload = common_pb2.Payload.FromString(self._envelope.payload)
        return str(common_pb2.ChannelHeader.FromString(payload.header.channel_header).tx_id)

    @property
    def signed(self) -> bool:
        return bool(self._envelope.signature)

    def bytes(self) -> builtins.bytes:
        """The serialized envelope (signed or not), to store, send elsewhere or sign offline."""
        return bytes(self._envelope.SerializeToString())

    def digest(self) -> builtins.bytes:
        """What the signer signs: the hash of the envelope's payload."""
        return self._client.hash(self._envelope.payload)

    def events(self, *, timeout: float | None = None) -> BlockEvents[EventT]:
        """Open the stream; `timeout` bounds the whole stream's life (None: until closed)."""
        if not self.signed:
            self._envelope.signature = self._client.sign(self._envelope.payload)
        if self._client.deliver is None:
            raise RuntimeError("this gateway client has no Deliver service stub")
        open_stream = getattr(self._client.deliver, self._method)
        # One seek request per stream; ending the request side is fine, the peer keeps sending.
        call = open_stream(iter([self._envelope]), timeout=timeout)
        return BlockEvents(call, self._response_field)


class BlockEventsRequest(_BlockEventsRequestBase[Any]):
    """Full blocks (`common.Block`)."""

    _method = "Deliver"
    _response_field = "block"


class FilteredBlockEventsRequest(_BlockEventsRequestBase[Any]):
    """Filtered blocks (`peer.FilteredBlock`): no payloads, only ids, types and validation codes."""

    _method = "DeliverFiltered"
    _response_field = "filtered_block"


class BlockAndPrivateDataEventsRequest(_BlockEventsRequestBase[Any]):
    """Blocks with the private data the caller may read (`peer.BlockAndPrivateData`)."""

    _method = "DeliverWithPrivateData"
    _response_field = "block_and_private_data"


class BlockEvents(Generic[EventT]):
    """An open block stream: iterate it for blocks in order; `close()` (or `with`) ends it.

    Iteration raises `BlockEventsError` when the call fails or the peer answers with a failure
    status (unknown channel, refused signature...), and ends quietly once closed.
    """

    def __init__(self, call: Any, response_field: str) -> None:
        self._call = call
        self._response_field = response_field

    def __iter__(self) -> Iterator[EventT]:
        try:
            for response in self._call:
                kind = response.WhichOneof("Type")
                if kind == self._response_field:
                    yield getattr(response, kind)
                elif kind == "status":
                    self._call.cancel()
                    if response.status == common_pb2.Status.SUCCESS:
                        return  # the stop position was reached
                    raise BlockEventsError.from_deliver_status(response.status)
        except grpc.RpcError as error:
            if error.code() == grpc.StatusCode.CANCELLED and not self._call.is_active():
                return  # closed by us
            raise BlockEventsError.from_rpc_error(error) from None

    def close(self) -> None:
        """Stop receiving blocks."""
        self._call.cancel()

    def __enter__(self) -> BlockEvents[EventT]:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
