"""Chaincode events: a signed request naming where to start, and the stream of events it opens.

The start is the next block to commit (default), a given block, or a checkpoint — the block to resume at and
the last transaction of it already processed, whose earlier events the gateway then skips.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any

import grpc
from fabric_protos.gateway import gateway_pb2
from fabric_protos.orderer import ab_pb2

from fabric_gateway._client import GatewayClient
from fabric_gateway.errors import ChaincodeEventsError

if TYPE_CHECKING:
    from fabric_gateway.checkpointers import Checkpoint


@dataclass(frozen=True)
class ChaincodeEvent:
    """An event emitted by a committed, valid transaction.

    Attributes:
        block_number: The block holding the transaction.
        transaction_id: The transaction that emitted it.
        chaincode_name: The chaincode that emitted it.
        event_name: The name the chaincode gave it.
        payload: The chaincode's payload.
    """

    block_number: int
    transaction_id: str
    chaincode_name: str
    event_name: str
    payload: bytes = field(repr=False)


def new_events_request(
    client: GatewayClient,
    channel_id: str,
    chaincode_name: str,
    *,
    start_block: int | None = None,
    checkpoint: Checkpoint | None = None,
) -> gateway_pb2.SignedChaincodeEventsRequest:
    """An unsigned events request; a checkpoint that holds a position overrides `start_block`."""
    after_transaction_id = ""
    if checkpoint is not None and checkpoint.block_number is not None:
        start_block = checkpoint.block_number
        after_transaction_id = checkpoint.transaction_id
    if start_block is None:
        # Fabric's gateway accepts only next-commit or a given block here (it refuses SeekNewest).
        position = ab_pb2.SeekPosition(next_commit=ab_pb2.SeekNextCommit())
    else:
        if start_block < 0:
            raise ValueError("start_block must not be negative")
        position = ab_pb2.SeekPosition(specified=ab_pb2.SeekSpecified(number=start_block))
    request = gateway_pb2.ChaincodeEventsRequest(
        channel_id=channel_id,
        chaincode_id=chaincode_name,
        identity=client.creator(),
        start_position=position,
        after_transaction_id=after_transaction_id,
    )
    return gateway_pb2.SignedChaincodeEventsRequest(request=request.SerializeToString())


class ChaincodeEventsRequest:
    """A chaincode events request; `events()` opens the stream (signing first if needed)."""

    def __init__(self, client: GatewayClient, signed: gateway_pb2.SignedChaincodeEventsRequest):
        self._client = client
        self._signed = signed

    def bytes(self) -> builtins.bytes:
        """The serialized signed request (signed or not)."""
        return bytes(self._signed.SerializeToString())

    def digest(self) -> builtins.bytes:
        """What the signer signs: the hash of the serialized `ChaincodeEventsRequest`."""
        return self._client.hash(self._signed.request)

    def events(self, *, timeout: float | None = None) -> ChaincodeEvents:
        """Open the stream; `timeout` bounds the whole stream's life (None: until closed)."""
        if not self._signed.signature:
            self._signed.signature = self._client.sign(self._signed.request)
        call = self._client.stub.ChaincodeEvents(self._signed, timeout=timeout)
        return ChaincodeEvents(call)


class ChaincodeEvents:
    """An open events stream: iterate it for `ChaincodeEvent`s; `close()` (or `with`) ends it."""

    def __init__(self, call: Any) -> None:
        self._call = call

    def __iter__(self) -> Iterator[ChaincodeEvent]:
        try:
            for response in self._call:
                for event in response.events:
                    yield ChaincodeEvent(
                        int(response.block_number),
                        event.tx_id,
                        event.chaincode_id,
                        event.event_name,
                        bytes(event.payload),
                    )
        except grpc.RpcError as error:
            if error.code() == grpc.StatusCode.CANCELLED and not self._call.is_active():
                return  # closed by us
            raise ChaincodeEventsError.from_rpc_error(error) from None

    def close(self) -> None:
        """Stop receiving events."""
        self._call.cancel()

    def __enter__(self) -> ChaincodeEvents:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
