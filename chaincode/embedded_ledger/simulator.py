"""Answer a chaincode's protocol messages in-process, the way a LevelDB-backed peer does.

`TxSimulator` implements `fabric_shim.calls.PeerCalls`: a stub built on it runs unchanged. Reads
see committed state only — Fabric gives no read-your-writes inside a transaction — and are
recorded with the committed version; writes are buffered in the transaction's `ReadWriteSet` until
the block commits. It also answers v3.1's batched calls (GET_STATE_MULTIPLE, WRITE_BATCH_STATE) and
offers them, as a v3.1 peer does, through `features` (what READY would carry). One simulation can
span several chaincodes (INVOKE_CHAINCODE): they share the read/write set and open iterators, each
in its own namespace.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from fabric_protos.peer import chaincode_pb2, chaincode_shim_pb2
from fabric_protos.peer import proposal_response_pb2 as response_pb2
from fabric_shim.batching import FABRIC_3_1_DEFAULTS, PeerFeatures
from fabric_shim.calls import PeerError
from fabric_shim.chaincode import Response
from google.protobuf.message import DecodeError

from embedded_ledger.queries import TOTAL_QUERY_LIMIT, HistoryResults, OpenQuery, RangeResults
from embedded_ledger.rwset import RangeQueryRead, ReadWriteSet, StateKey
from embedded_ledger.store import LedgerStore

logger = logging.getLogger(__name__)

Msg = chaincode_shim_pb2.ChaincodeMessage
RICH_QUERY_UNSUPPORTED = "rich queries need CouchDB; the embedded ledger is a LevelDB-like key-value store"

# Runs chaincode `name` with `chaincode_input` on `calls` (a simulator for that namespace).
InvokeChaincode = Callable[[str, chaincode_pb2.ChaincodeInput, "TxSimulator"], Response]


@dataclass
class _SharedTx:
    """What every chaincode of one simulated transaction shares."""

    channel_id: str
    tx_id: str
    rwset: ReadWriteSet = field(default_factory=ReadWriteSet)
    queries: dict[str, OpenQuery] = field(default_factory=dict)
    write_performed: bool = False
    paginated_query_performed: bool = False
    private_query_performed: bool = False
    done: bool = False


class TxSimulator:
    """The peer side of one transaction's simulation, for one chaincode namespace."""

    def __init__(
        self,
        store: LedgerStore,
        channel_id: str,
        tx_id: str,
        namespace: str,
        *,
        invoke_chaincode: InvokeChaincode | None = None,
        features: PeerFeatures = FABRIC_3_1_DEFAULTS,
        _shared: _SharedTx | None = None,
    ) -> None:
        self._store = store
        self.namespace = namespace
        self.features = features
        self._invoke_chaincode = invoke_chaincode
        self._tx = _shared or _SharedTx(channel_id=channel_id, tx_id=tx_id)
        self._handlers: dict[int, Callable[[bytes], bytes]] = {
            Msg.GET_STATE: self._get_state,
            Msg.GET_STATE_MULTIPLE: self._get_state_multiple,
            Msg.PUT_STATE: self._put_state,
            Msg.DEL_STATE: self._del_state,
            Msg.PURGE_PRIVATE_DATA: self._purge_private_data,
            Msg.GET_PRIVATE_DATA_HASH: self._get_private_data_hash,
            Msg.GET_STATE_METADATA: self._get_state_metadata,
            Msg.PUT_STATE_METADATA: self._put_state_metadata,
            Msg.WRITE_BATCH_STATE: self._write_batch_state,
            Msg.GET_STATE_BY_RANGE: self._get_state_by_range,
            Msg.QUERY_STATE_NEXT: self._query_state_next,
            Msg.QUERY_STATE_CLOSE: self._query_state_close,
            Msg.GET_HISTORY_FOR_KEY: self._get_history_for_key,
            Msg.GET_QUERY_RESULT: self._get_query_result,
            Msg.INVOKE_CHAINCODE: self._invoke,
        }

    @property
    def channel_id(self) -> str:
        return self._tx.channel_id

    @property
    def tx_id(self) -> str:
        return self._tx.tx_id

    @property
    def rwset(self) -> ReadWriteSet:
        return self._tx.rwset

    def for_chaincode(self, namespace: str) -> TxSimulator:
        """A simulator for another chaincode called in the same transaction."""
        return TxSimulator(
            self._store, self.channel_id, self.tx_id, namespace, invoke_chaincode=self._invoke_chaincode,
            features=self.features, _shared=self._tx,
        )  # fmt: skip

    def finish(self) -> None:
        """End the simulation: close open iterators; later calls fail as on a peer."""
        self._tx.queries.clear()
        self._tx.done = True

    # -- PeerCalls --------------------------------------------------------------------------------

    def call(self, msg_type: int, payload: bytes, channel_id: str, txid: str) -> bytes:
        if channel_id != self.channel_id or txid != self.tx_id:
            raise PeerError(f"no ongoing transaction {txid!r} on channel {channel_id!r}")
        if self._tx.done:
            raise PeerError(f"transaction {txid} has already completed")
        handler = self._handlers.get(msg_type)
        if handler is None:
            raise PeerError(f"the embedded ledger does not handle message type {_type_name(msg_type)}")
        try:
            return handler(payload)
        except DecodeError as exc:
            raise PeerError(f"malformed {_type_name(msg_type)} payload: {exc}") from None

    # -- single keys ------------------------------------------------------------------------------

    def _read(self, collection: str, key: str) -> bytes | None:
        state_key = StateKey(self.namespace, collection, key)
        committed = self._store.get_state(state_key)
        self.rwset.record_read(state_key, None if committed is None else committed.version)
        return None if committed is None else committed.value

    def _get_state(self, payload: bytes) -> bytes:
        request = chaincode_shim_pb2.GetState.FromString(payload)
        return self._read(request.collection, request.key) or b""

    def _get_state_multiple(self, payload: bytes) -> bytes:
        request = chaincode_shim_pb2.GetStateMultiple.FromString(payload)
        values = [self._read(request.collection, key) or b"" for key in request.keys]
        return chaincode_shim_pb2.GetStateMultipleResult(values=values).SerializeToString()

    def _get_private_data_hash(self, payload: bytes) -> bytes:
        request = chaincode_shim_pb2.GetState.FromString(payload)
        _require_collection(request.collection)
        value = self._read(request.collection, request.key)
        return b"" if value is None else hashlib.sha256(value).digest()

    def _before_write(self, key: str) -> None:
        if self._tx.paginated_query_performed:
            raise PeerError(
                f"txid [{self.tx_id}]: unsupported transaction. Transaction has already performed a paginated"
                " query. Writes are not allowed"
            )
        if self._tx.private_query_performed:
            raise PeerError(
                f"txid [{self.tx_id}]: unsupported transaction. Transaction has already performed queries on"
                " private data. Writes are not allowed"
            )
        if not key:
            raise PeerError("key must not be an empty string")
        self._tx.write_performed = True

    def _put_state(self, payload: bytes) -> bytes:
        request = chaincode_shim_pb2.PutState.FromString(payload)
        self._write(request.collection, request.key, request.value)
        return b""

    def _write(self, collection: str, key: str, value: bytes) -> None:
        self._before_write(key)
        # Fabric's write set marks a write of an empty value as a delete (IsDelete = len(value) == 0).
        self.rwset.record_write(StateKey(self.namespace, collection, key), value or None)

    def _del_state(self, payload: bytes) -> bytes:
        request = chaincode_shim_pb2.DelState.FromString(payload)
        self._delete(request.collection, request.key)
        return b""

    def _delete(self, collection: str, key: str) -> None:
        self._before_write(key)
        self.rwset.record_write(StateKey(self.namespace, collection, key), None)

    def _purge_private_data(self, payload: bytes) -> bytes:
        request = chaincode_shim_pb2.PurgePrivateState.FromString(payload)
        self._purge(request.collection, request.key)
        return b""

    def _purge(self, collection: str, key: str) -> None:
        _require_collection(collection)
        self._before_write(key)
        self.rwset.record_write(StateKey(self.namespace, collection, key), None, purge=True)

    def _write_batch_state(self, payload: bytes) -> bytes:
        """Apply the records in order, each as its single message would be (v3.1's HandleWriteBatch).

        A refused record fails the message; the records before it stay applied, as on a peer, whose
        chaincode then fails the transaction anyway.
        """
        Record = chaincode_shim_pb2.WriteRecord
        for record in chaincode_shim_pb2.WriteBatchState.FromString(payload).rec:
            if record.type == Record.PUT_STATE:
                self._write(record.collection, record.key, record.value)
            elif record.type == Record.DEL_STATE:
                self._delete(record.collection, record.key)
            elif record.type == Record.PURGE_PRIVATE_DATA:
                self._purge(record.collection, record.key)
            elif record.type == Record.PUT_STATE_METADATA:
                self._write_metadata(record.collection, record.key, record.metadata)
            else:
                raise PeerError("unknown operation type")
        return b""

    def _get_state_metadata(self, payload: bytes) -> bytes:
        request = chaincode_shim_pb2.GetStateMetadata.FromString(payload)
        state_key = StateKey(self.namespace, request.collection, request.key)
        committed = self._store.get_state(state_key)
        self.rwset.record_read(state_key, None if committed is None else committed.version)
        if committed is None or committed.metadata is None:
            return chaincode_shim_pb2.StateMetadataResult().SerializeToString()
        return committed.metadata

    def _put_state_metadata(self, payload: bytes) -> bytes:
        request = chaincode_shim_pb2.PutStateMetadata.FromString(payload)
        self._write_metadata(request.collection, request.key, request.metadata)
        return b""

    def _write_metadata(self, collection: str, key: str, metadata: chaincode_shim_pb2.StateMetadata) -> None:
        self._before_write(key)
        state_key = StateKey(self.namespace, collection, key)
        self.rwset.record_metadata_write(state_key, metadata.metakey, metadata.value)

    # -- queries ----------------------------------------------------------------------------------

    def _get_state_by_range(self, payload: bytes) -> bytes:
        request = chaincode_shim_pb2.GetStateByRange.FromString(payload)
        metadata = chaincode_shim_pb2.QueryMetadata.FromString(request.metadata)
        # The peer paginates public ranges only; a private range ignores the page metadata except
        # that the page size still caps the total number of results.
        paginated = not request.collection and (metadata.pageSize > 0 or bool(metadata.bookmark))
        total_limit = TOTAL_QUERY_LIMIT
        if 0 < metadata.pageSize < total_limit:
            total_limit = metadata.pageSize
        start_key = request.startKey
        record: RangeQueryRead | None = None
        if request.collection:
            self._before_private_query()
        elif paginated:
            self._before_paginated_query()
            start_key = metadata.bookmark or start_key
        if not request.collection:
            record = RangeQueryRead(self.namespace, "", start_key, request.endKey)
            self.rwset.range_queries.append(record)
        scan = self._store.scan(self.namespace, request.collection, start_key, request.endKey)
        limit = metadata.pageSize if paginated else 0
        results = RangeResults(self.namespace, scan, record, requested_end_key=request.endKey, limit=limit)
        return self._open_query(results, paginated, total_limit)

    def _get_history_for_key(self, payload: bytes) -> bytes:
        request = chaincode_shim_pb2.GetHistoryForKey.FromString(payload)
        results = HistoryResults(self._store.history(self.namespace, request.key))
        return self._open_query(results, paginated=False, total_limit=TOTAL_QUERY_LIMIT)

    def _get_query_result(self, payload: bytes) -> bytes:
        raise PeerError(RICH_QUERY_UNSUPPORTED)

    def _open_query(self, results: RangeResults | HistoryResults, paginated: bool, total_limit: int) -> bytes:
        query = OpenQuery(str(uuid.uuid4()), results, paginated, total_limit)
        response = query.next_response()
        if not query.closed:
            self._tx.queries[query.query_id] = query
        return response.SerializeToString()

    def _query_state_next(self, payload: bytes) -> bytes:
        request = chaincode_shim_pb2.QueryStateNext.FromString(payload)
        query = self._tx.queries.get(request.id)
        if query is None:
            raise PeerError(f"query iterator not found: {request.id}")
        response = query.next_response()
        if query.closed:
            del self._tx.queries[request.id]
        return response.SerializeToString()

    def _query_state_close(self, payload: bytes) -> bytes:
        request = chaincode_shim_pb2.QueryStateClose.FromString(payload)
        self._tx.queries.pop(request.id, None)
        return chaincode_shim_pb2.QueryResponse(has_more=False, id=request.id).SerializeToString()

    def _before_paginated_query(self) -> None:
        if self._tx.write_performed:
            raise PeerError(
                f"txid [{self.tx_id}]: unsupported transaction. Paginated queries are supported only in a"
                " read-only transaction"
            )
        self._tx.paginated_query_performed = True

    def _before_private_query(self) -> None:
        if self._tx.write_performed:
            raise PeerError(
                f"txid [{self.tx_id}]: unsupported transaction. Queries on private data are supported only in"
                " a read-only transaction"
            )
        self._tx.private_query_performed = True

    # -- chaincode to chaincode -------------------------------------------------------------------

    def _invoke(self, payload: bytes) -> bytes:
        spec = chaincode_pb2.ChaincodeSpec.FromString(payload)
        name, _, channel = spec.chaincode_id.name.partition("/")
        if channel and channel != self.channel_id:
            raise PeerError(f"channel {channel} not found: the embedded ledger has only {self.channel_id}")
        if self._invoke_chaincode is None:
            raise PeerError("chaincode-to-chaincode invocation is not available here")
        response = self._invoke_chaincode(name, spec.input, self.for_chaincode(name))
        completed = Msg(
            type=Msg.COMPLETED,
            payload=response_pb2.Response(
                status=response.status, message=response.message, payload=response.payload
            ).SerializeToString(),
            txid=self.tx_id,
            channel_id=self.channel_id,
        )
        return completed.SerializeToString()


def _require_collection(collection: str) -> None:
    if not collection:
        raise PeerError("collection must not be an empty string")


def _type_name(msg_type: int) -> str:
    try:
        return Msg.Type.Name(msg_type)
    except ValueError:
        return str(msg_type)
