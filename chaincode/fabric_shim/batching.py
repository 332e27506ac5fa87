"""Batched ledger calls (Fabric v3.1): what the peer offers in READY, and a transaction's write batch.

A v3.1 peer puts a `protos.ChaincodeAdditionalParams` in the READY message's payload (from
`chaincode.runtimeParams` in its core.yaml): whether it accepts `WRITE_BATCH_STATE` (every write of
a transaction in one message) and `GET_STATE_MULTIPLE` (many keys read in one round trip), and the
most records or keys it wants in one message. A v2.5 peer sends an empty payload: no batching, and
the stub falls back to one message per key, exactly as before.

Batching changes no read: a peer gives a transaction no read-your-writes (GET_STATE answers the
committed value whether or not the transaction wrote the key), so holding writes back until the
transaction ends cannot change what any read returns, and the peer records the same write set (the
last write per key wins either way). What moves is where a refused write surfaces: at the end of
the transaction instead of at the call (the stub sends the batch early wherever the peer's answer
to a later call depends on the writes made so far; see `ChaincodeStub`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass

from fabric_protos.peer import chaincode_pb2, chaincode_shim_pb2
from google.protobuf.message import DecodeError

logger = logging.getLogger(__name__)

DEFAULT_MAX_BATCH = 100
"""Records or keys per message when a peer offers batching without a maximum (the Go shim's default)."""

_Record = chaincode_shim_pb2.WriteRecord


@dataclass(frozen=True)
class PeerFeatures:
    """The batched calls a peer accepts on one stream, as negotiated in READY."""

    write_batch: bool = False
    max_write_batch: int = DEFAULT_MAX_BATCH
    get_multiple_keys: bool = False
    max_get_multiple_keys: int = DEFAULT_MAX_BATCH

    @classmethod
    def from_ready_payload(cls, payload: bytes) -> PeerFeatures:
        """Parse READY's payload; empty (v2.5) or unreadable means no batching, as in the Go shim."""
        if not payload:
            return NO_BATCHING
        try:
            params = chaincode_pb2.ChaincodeAdditionalParams.FromString(payload)
        except DecodeError:
            logger.warning("ignoring an unreadable READY payload of %d bytes: no batched calls", len(payload))
            return NO_BATCHING
        return cls(
            write_batch=params.use_write_batch,
            max_write_batch=params.max_size_write_batch or DEFAULT_MAX_BATCH,
            get_multiple_keys=params.use_get_multiple_keys,
            max_get_multiple_keys=params.max_size_get_multiple_keys or DEFAULT_MAX_BATCH,
        )

    def ready_payload(self) -> bytes:
        """READY's payload offering these features (what a v3.1 peer sends)."""
        return chaincode_pb2.ChaincodeAdditionalParams(
            use_write_batch=self.write_batch,
            max_size_write_batch=self.max_write_batch,
            use_get_multiple_keys=self.get_multiple_keys,
            max_size_get_multiple_keys=self.max_get_multiple_keys,
        ).SerializeToString()


NO_BATCHING = PeerFeatures()
"""A v2.5 peer, or one whose core.yaml turns `chaincode.runtimeParams` off."""

FABRIC_3_1_DEFAULTS = PeerFeatures(
    write_batch=True, max_write_batch=1000, get_multiple_keys=True, max_get_multiple_keys=1000
)
"""What a v3.1 peer offers with the release's sample core.yaml (and with no runtimeParams at all)."""


class WriteBatch:
    """A transaction's writes not yet sent: the last one per (collection, key, data or metadata).

    A value write, a delete and a purge of one key replace each other; a metadata write is kept
    apart, as the peer's write set keeps values and metadata apart. Records leave in the order
    their keys were first written.
    """

    __slots__ = ("_records",)

    def __init__(self) -> None:
        self._records: dict[tuple[str, str, bool], chaincode_shim_pb2.WriteRecord] = {}

    def __len__(self) -> int:
        return len(self._records)

    def put(self, collection: str, key: str, value: bytes) -> None:
        self._data(_Record(key=key, value=value, collection=collection, type=_Record.PUT_STATE))

    def delete(self, collection: str, key: str) -> None:
        self._data(_Record(key=key, collection=collection, type=_Record.DEL_STATE))

    def purge(self, collection: str, key: str) -> None:
        self._data(_Record(key=key, collection=collection, type=_Record.PURGE_PRIVATE_DATA))

    def put_metadata(self, collection: str, key: str, metakey: str, value: bytes) -> None:
        metadata = chaincode_shim_pb2.StateMetadata(metakey=metakey, value=value)
        record = _Record(key=key, collection=collection, metadata=metadata, type=_Record.PUT_STATE_METADATA)
        self._records[(collection, key, True)] = record

    def _data(self, record: chaincode_shim_pb2.WriteRecord) -> None:
        self._records[(record.collection, record.key, False)] = record

    def take_messages(self, max_records: int) -> Iterator[chaincode_shim_pb2.WriteBatchState]:
        """Empty the batch into `WriteBatchState` payloads of at most `max_records` records each."""
        records = list(self._records.values())
        self._records.clear()
        step = max(1, max_records)
        for start in range(0, len(records), step):
            yield chaincode_shim_pb2.WriteBatchState(rec=records[start : start + step])


def chunks(items: list[str], size: int) -> Iterator[list[str]]:
    """`items` in consecutive slices of at most `size` (at least one item each)."""
    step = max(1, size)
    for start in range(0, len(items), step):
        yield items[start : start + step]
