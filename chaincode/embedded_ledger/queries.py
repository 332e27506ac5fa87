"""Open query iterators of a simulation and the QueryResponse batches a peer sends for them.

Batching follows the peer's query response builder: an unpaginated query returns at most
`MAX_RESULTS_PER_RESPONSE` results per response with `has_more`, and the chaincode asks for the
rest with QUERY_STATE_NEXT; a paginated query returns its whole page in one response, with
`QueryResponseMetadata{fetched_records_count, bookmark}`, and is then closed. A range iterator
records what it handed out in a `RangeQueryRead` exactly when the peer's iterator would, so phantom
detection protects the same keys.
"""

from __future__ import annotations

from collections.abc import Iterator

from fabric_protos.ledger.queryresult import kv_query_result_pb2
from fabric_protos.peer import chaincode_shim_pb2

from embedded_ledger.rwset import RangeQueryRead
from embedded_ledger.store import HistoryRecord, VersionedValue

MAX_RESULTS_PER_RESPONSE = 100  # the peer's fixed batch size for unpaginated queries
TOTAL_QUERY_LIMIT = 100_000  # core.yaml ledger.state.totalQueryLimit default


class RangeResults:
    """A state range scan as the chaincode consumes it; yields serialized `queryresult.KV`."""

    def __init__(
        self,
        namespace: str,
        scan: Iterator[tuple[str, VersionedValue]],
        record: RangeQueryRead | None,
        *,
        requested_end_key: str,
        limit: int = 0,
    ) -> None:
        self._namespace = namespace
        self._requested_end = requested_end_key
        self._scan = scan
        self._record = record
        self._limit = limit
        self._returned = 0

    def next(self) -> bytes | None:
        if self._limit and self._returned >= self._limit:
            return self._exhausted()
        item = next(self._scan, None)
        if item is None:
            return self._exhausted()
        key, versioned = item
        self._returned += 1
        if self._record is not None:
            self._record.results.append((key, versioned.version))
            self._record.end_key = key
        return kv_query_result_pb2.KV(
            namespace=self._namespace, key=key, value=versioned.value
        ).SerializeToString()

    def _exhausted(self) -> bytes | None:
        if self._record is not None and not self._record.exhausted:
            self._record.exhausted = True
            self._record.end_key = self._requested_end
        return None

    def bookmark(self) -> str:
        """The key the next page starts at ("" when none is left), as LevelDB's scanner reports it."""
        item = next(self._scan, None)
        return "" if item is None else item[0]


class HistoryResults:
    """A key's history, newest first; yields serialized `queryresult.KeyModification`."""

    def __init__(self, records: list[HistoryRecord]) -> None:
        self._records = iter(records)

    def next(self) -> bytes | None:
        record = next(self._records, None)
        if record is None:
            return None
        modification = kv_query_result_pb2.KeyModification(
            tx_id=record.tx_id, value=record.value or b"", is_delete=record.is_delete
        )
        modification.timestamp.FromDatetime(record.timestamp)
        return modification.SerializeToString()

    def bookmark(self) -> str:
        return ""


QueryResults = RangeResults | HistoryResults


class OpenQuery:
    """One iterator id's state between QUERY_STATE_NEXT calls."""

    def __init__(self, query_id: str, results: QueryResults, paginated: bool, total_limit: int) -> None:
        self.query_id = query_id
        self.results = results
        self.paginated = paginated
        self.total_limit = total_limit
        self.returned = 0
        self.pending: list[bytes] = []
        self.closed = False

    def next_response(self) -> chaincode_shim_pb2.QueryResponse:
        """The next batch; marks the query closed once it has answered its last one."""
        while True:
            if self.returned >= self.total_limit:
                return self._final()
            result = self.results.next()
            if result is None:
                return self._final()
            if not self.paginated and len(self.pending) == MAX_RESULTS_PER_RESPONSE:
                batch, self.pending = self.pending, [result]
                self.returned += 1
                return chaincode_shim_pb2.QueryResponse(results=_wrap(batch), has_more=True, id=self.query_id)
            self.pending.append(result)
            self.returned += 1

    def _final(self) -> chaincode_shim_pb2.QueryResponse:
        batch, self.pending = self.pending, []
        self.closed = True
        response = chaincode_shim_pb2.QueryResponse(results=_wrap(batch), has_more=False, id=self.query_id)
        if self.paginated:
            response.metadata = chaincode_shim_pb2.QueryResponseMetadata(
                fetched_records_count=self.returned, bookmark=self.results.bookmark()
            ).SerializeToString()
        return response


def _wrap(batch: list[bytes]) -> list[chaincode_shim_pb2.QueryResultBytes]:
    return [chaincode_shim_pb2.QueryResultBytes(resultBytes=item) for item in batch]
