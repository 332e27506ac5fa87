"""Iterators over query results that page through the peer with QUERY_STATE_NEXT.

The peer answers a range, rich or history query with a first batch of results, an iterator id and
`has_more`. The iterator yields that batch, then asks for the next one with QUERY_STATE_NEXT while
`has_more` holds. When `has_more` is false the peer has already released the query, so `close()`
only sends QUERY_STATE_CLOSE for an iterator abandoned before its end.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Generic, TypeVar

from fabric_protos.ledger.queryresult import kv_query_result_pb2
from fabric_protos.peer import chaincode_shim_pb2

from fabric_shim.calls import PeerCalls

_Msg = chaincode_shim_pb2.ChaincodeMessage
T = TypeVar("T")


@dataclass(frozen=True)
class KV:
    """One state entry returned by a range or rich query."""

    namespace: str
    key: str
    value: bytes


@dataclass(frozen=True)
class KeyModification:
    """One historic write (or delete) of a key."""

    tx_id: str
    value: bytes
    timestamp: datetime
    is_delete: bool


@dataclass(frozen=True)
class QueryPage:
    """Pagination result: how many records this page fetched and where the next page starts."""

    fetched_records_count: int
    bookmark: str


class _PeerQueryIterator(Generic[T]):
    def __init__(
        self, calls: PeerCalls, channel_id: str, tx_id: str, response: chaincode_shim_pb2.QueryResponse
    ) -> None:
        self._calls = calls
        self._channel_id = channel_id
        self._tx_id = tx_id
        self._response = response
        self._position = 0
        self._closed = False

    def _decode(self, result_bytes: bytes) -> T:
        raise NotImplementedError

    def __iter__(self) -> Iterator[T]:
        return self

    def __next__(self) -> T:
        if self._closed:
            raise StopIteration
        while self._position >= len(self._response.results):
            if not self._response.has_more:
                self._closed = True  # the peer released the query when it said has_more=false
                raise StopIteration
            self._response = self._query(_Msg.QUERY_STATE_NEXT)
            self._position = 0
        result = self._response.results[self._position]
        self._position += 1
        return self._decode(result.resultBytes)

    def _query(self, msg_type: int) -> chaincode_shim_pb2.QueryResponse:
        if msg_type == _Msg.QUERY_STATE_NEXT:
            request = chaincode_shim_pb2.QueryStateNext(id=self._response.id).SerializeToString()
        else:
            request = chaincode_shim_pb2.QueryStateClose(id=self._response.id).SerializeToString()
        payload = self._calls.call(msg_type, request, self._channel_id, self._tx_id)
        response = chaincode_shim_pb2.QueryResponse()
        response.ParseFromString(payload)
        return response

    def close(self) -> None:
        """Release the query on the peer if it still holds it; idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._response.has_more:
            self._query(_Msg.QUERY_STATE_CLOSE)

    def __enter__(self) -> _PeerQueryIterator[T]:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


class StateQueryIterator(_PeerQueryIterator[KV]):
    """Yields `KV` records of a range, partial composite key or rich query."""

    def _decode(self, result_bytes: bytes) -> KV:
        kv = kv_query_result_pb2.KV()
        kv.ParseFromString(result_bytes)
        return KV(namespace=kv.namespace, key=kv.key, value=kv.value)

    def __enter__(self) -> StateQueryIterator:
        return self


class HistoryQueryIterator(_PeerQueryIterator[KeyModification]):
    """Yields the `KeyModification` history of one key, as the peer orders it."""

    def _decode(self, result_bytes: bytes) -> KeyModification:
        modification = kv_query_result_pb2.KeyModification()
        modification.ParseFromString(result_bytes)
        return KeyModification(
            tx_id=modification.tx_id,
            value=modification.value,
            timestamp=modification.timestamp.ToDatetime(tzinfo=UTC),
            is_delete=modification.is_delete,
        )

    def __enter__(self) -> HistoryQueryIterator:
        return self
