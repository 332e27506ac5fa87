"""A stand-in for a Fabric peer in chaincode-as-a-service mode, speaking the real protocol.

`PeerDouble` is a gRPC client that dials the chaincode server and opens `Chaincode/Connect`, as a
peer does; tests drive it message by message. `WorldState` answers the chaincode's ledger
requests the way the peer's handler does (batches of results with `has_more`, iterator ids,
pagination bookmarks, history, private data, metadata, chaincode-to-chaincode calls).
"""

from __future__ import annotations

import hashlib
import itertools
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import grpc
from fabric_protos.ledger.queryresult import kv_query_result_pb2
from fabric_protos.peer import (
    chaincode_pb2,
    chaincode_shim_pb2,
    chaincode_shim_pb2_grpc,
    proposal_response_pb2,
)

Message = chaincode_shim_pb2.ChaincodeMessage
CHAINCODE_ID = "testcc_1.0:0123456789abcdef"  # the package ID the test servers register with
MAX_MESSAGE_SIZE = 100 * 1024 * 1024
CHANNEL_OPTIONS = [
    ("grpc.max_send_message_length", MAX_MESSAGE_SIZE),
    ("grpc.max_receive_message_length", MAX_MESSAGE_SIZE),
]
_END = object()


class StreamEnded(Exception):
    """The chaincode closed the stream (or the connection failed); `error` holds the gRPC error."""

    def __init__(self, error: grpc.RpcError | None) -> None:
        super().__init__(repr(error))
        self.error = error


class PeerDouble:
    def __init__(self, channel: grpc.Channel) -> None:
        self._outbox: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._inbox: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._call = chaincode_shim_pb2_grpc.ChaincodeStub(channel).Connect(self._requests())
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _requests(self) -> Iterator[chaincode_shim_pb2.ChaincodeMessage]:
        while (item := self._outbox.get()) is not _END:
            yield item  # type: ignore[misc]

    def _read(self) -> None:
        try:
            for message in self._call:
                self._inbox.put(message)
            self._inbox.put(StreamEnded(None))
        except grpc.RpcError as exc:
            self._inbox.put(StreamEnded(exc))

    def send(self, message: chaincode_shim_pb2.ChaincodeMessage) -> None:
        self._outbox.put(message)

    def receive(self, timeout: float = 5.0) -> chaincode_shim_pb2.ChaincodeMessage:
        try:
            item = self._inbox.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"the chaincode sent nothing within {timeout} s") from None
        if isinstance(item, StreamEnded):
            raise item
        return item  # type: ignore[return-value]

    def assert_silent(self, seconds: float = 0.3) -> None:
        try:
            item = self._inbox.get(timeout=seconds)
        except queue.Empty:
            return
        raise AssertionError(f"expected no message, got {item}")

    def handshake(self, ready_payload: bytes = b"") -> str:
        """REGISTER -> REGISTERED -> READY; returns the chaincode ID the chaincode registered."""
        register = self.receive()
        assert register.type == Message.REGISTER, register
        self.send(Message(type=Message.REGISTERED))
        self.send(Message(type=Message.READY, payload=ready_payload))
        return chaincode_pb2.ChaincodeID.FromString(register.payload).name

    def start_transaction(
        self,
        args: list[bytes],
        txid: str,
        channel_id: str = "mychannel",
        msg_type: int = Message.TRANSACTION,
        proposal: object | None = None,
    ) -> None:
        message = Message(
            type=msg_type,
            payload=chaincode_pb2.ChaincodeInput(args=args).SerializeToString(),
            txid=txid,
            channel_id=channel_id,
        )
        if proposal is not None:
            message.proposal.CopyFrom(proposal)
        self.send(message)

    def serve_until_done(
        self, world: WorldState, txid: str, timeout: float = 5.0
    ) -> chaincode_shim_pb2.ChaincodeMessage:
        """Answer the chaincode's requests from `world` until it ends transaction `txid`."""
        while True:
            message = self.receive(timeout)
            if message.txid == txid and message.type in (Message.COMPLETED, Message.ERROR):
                return message
            self.send(world.answer(message))

    def transact(
        self, world: WorldState, args: list[bytes], txid: str, **kwargs: object
    ) -> chaincode_shim_pb2.ChaincodeMessage:
        self.start_transaction(args, txid, **kwargs)  # type: ignore[arg-type]
        return self.serve_until_done(world, txid)

    def close(self) -> None:
        """Half-close the stream, as a peer shutting down cleanly."""
        self._outbox.put(_END)

    def cancel(self) -> None:
        """Drop the connection abruptly."""
        self._call.cancel()


def response_of(completed: chaincode_shim_pb2.ChaincodeMessage) -> proposal_response_pb2.Response:
    assert completed.type == Message.COMPLETED, completed
    return proposal_response_pb2.Response.FromString(completed.payload)


@dataclass
class WorldState:
    """A peer-side ledger for one chaincode namespace, answering like the peer's handler."""

    namespace: str = "testcc"
    state: dict[str, bytes] = field(default_factory=dict)
    private: dict[tuple[str, str], bytes] = field(default_factory=dict)
    metadata: dict[tuple[str, str], dict[str, bytes]] = field(default_factory=dict)
    history: dict[str, list[kv_query_result_pb2.KeyModification]] = field(default_factory=dict)
    batch_size: int = 2  # small, so iterators must ask QUERY_STATE_NEXT
    requests: list[chaincode_shim_pb2.ChaincodeMessage] = field(default_factory=list)
    invoke_response: proposal_response_pb2.Response = field(
        default_factory=lambda: proposal_response_pb2.Response(status=200, payload=b"invoked")
    )
    _iterators: dict[str, list[bytes]] = field(default_factory=dict)
    _ids: Iterator[int] = field(default_factory=itertools.count)

    def answer(self, message: chaincode_shim_pb2.ChaincodeMessage) -> chaincode_shim_pb2.ChaincodeMessage:
        self.requests.append(message)
        try:
            payload = self._dispatch(message)
        except LookupError as exc:
            return self._reply(message, Message.ERROR, str(exc).encode())
        return self._reply(message, Message.RESPONSE, payload)

    def requests_of(self, msg_type: int) -> list[chaincode_shim_pb2.ChaincodeMessage]:
        return [m for m in self.requests if m.type == msg_type]

    @staticmethod
    def _reply(
        request: chaincode_shim_pb2.ChaincodeMessage, msg_type: int, payload: bytes
    ) -> chaincode_shim_pb2.ChaincodeMessage:
        return Message(type=msg_type, payload=payload, txid=request.txid, channel_id=request.channel_id)

    def _table(self, collection: str) -> dict[str, bytes]:
        if not collection:
            return self.state
        return {key: value for (coll, key), value in self.private.items() if coll == collection}

    def _dispatch(self, message: chaincode_shim_pb2.ChaincodeMessage) -> bytes:
        s = chaincode_shim_pb2
        if message.type == Message.GET_STATE:
            request = s.GetState.FromString(message.payload)
            return self._table(request.collection).get(request.key, b"")
        if message.type == Message.GET_STATE_MULTIPLE:
            multiple = s.GetStateMultiple.FromString(message.payload)
            table = self._table(multiple.collection)
            return s.GetStateMultipleResult(
                values=[table.get(k, b"") for k in multiple.keys]
            ).SerializeToString()
        if message.type == Message.WRITE_BATCH_STATE:
            for record in s.WriteBatchState.FromString(message.payload).rec:
                self._apply(record)
            return b""
        if message.type == Message.GET_PRIVATE_DATA_HASH:
            request = s.GetState.FromString(message.payload)
            value = self._table(request.collection).get(request.key)
            return hashlib.sha256(value).digest() if value is not None else b""
        if message.type == Message.PUT_STATE:
            put = s.PutState.FromString(message.payload)
            if put.collection:
                self.private[(put.collection, put.key)] = put.value
            else:
                self.state[put.key] = put.value
            return b""
        if message.type in (Message.DEL_STATE, Message.PURGE_PRIVATE_DATA):
            delete = s.DelState.FromString(message.payload)
            if delete.collection:
                self.private.pop((delete.collection, delete.key), None)
            else:
                self.state.pop(delete.key, None)
            return b""
        if message.type == Message.GET_STATE_METADATA:
            request = s.GetStateMetadata.FromString(message.payload)
            entries = self.metadata.get((request.collection, request.key), {})
            result = s.StateMetadataResult(
                entries=[s.StateMetadata(metakey=k, value=v) for k, v in entries.items()]
            )
            return result.SerializeToString()
        if message.type == Message.PUT_STATE_METADATA:
            put_md = s.PutStateMetadata.FromString(message.payload)
            self.metadata.setdefault((put_md.collection, put_md.key), {})[put_md.metadata.metakey] = (
                put_md.metadata.value
            )
            return b""
        if message.type == Message.GET_STATE_BY_RANGE:
            by_range = s.GetStateByRange.FromString(message.payload)
            table = self._table(by_range.collection)
            keys = sorted(
                k for k in table if k >= by_range.startKey and (not by_range.endKey or k < by_range.endKey)
            )
            return self._start_query(keys, table, by_range.metadata)
        if message.type == Message.GET_QUERY_RESULT:
            query = s.GetQueryResult.FromString(message.payload)
            # "Rich query" of this double: the query string is a key prefix.
            table = self._table(query.collection)
            return self._start_query(
                sorted(k for k in table if k.startswith(query.query)), table, query.metadata
            )
        if message.type == Message.GET_HISTORY_FOR_KEY:
            key = s.GetHistoryForKey.FromString(message.payload).key
            results = [m.SerializeToString() for m in self.history.get(key, [])]
            return self._first_batch(results, b"")
        if message.type == Message.QUERY_STATE_NEXT:
            iterator_id = s.QueryStateNext.FromString(message.payload).id
            if iterator_id not in self._iterators:
                raise LookupError(f"query iterator {iterator_id} not found")
            return self._next_batch(iterator_id, b"")
        if message.type == Message.QUERY_STATE_CLOSE:
            iterator_id = s.QueryStateClose.FromString(message.payload).id
            self._iterators.pop(iterator_id, None)
            return s.QueryResponse(has_more=False, id=iterator_id).SerializeToString()
        if message.type == Message.INVOKE_CHAINCODE:
            completed = Message(type=Message.COMPLETED, payload=self.invoke_response.SerializeToString())
            return completed.SerializeToString()
        raise LookupError(f"the double does not answer {Message.Type.Name(message.type)}")

    def _apply(self, record: chaincode_shim_pb2.WriteRecord) -> None:
        """One record of a WRITE_BATCH_STATE, as its single message would be applied."""
        s = chaincode_shim_pb2
        kind = record.type
        if kind == s.WriteRecord.PUT_STATE:
            put = s.PutState(key=record.key, value=record.value, collection=record.collection)
            self._dispatch(Message(type=Message.PUT_STATE, payload=put.SerializeToString()))
        elif kind in (s.WriteRecord.DEL_STATE, s.WriteRecord.PURGE_PRIVATE_DATA):
            delete = s.DelState(key=record.key, collection=record.collection)
            self._dispatch(Message(type=Message.DEL_STATE, payload=delete.SerializeToString()))
        elif kind == s.WriteRecord.PUT_STATE_METADATA:
            put_md = s.PutStateMetadata(
                key=record.key, collection=record.collection, metadata=record.metadata
            )
            self._dispatch(Message(type=Message.PUT_STATE_METADATA, payload=put_md.SerializeToString()))
        else:
            raise LookupError("unknown operation type")

    def _start_query(self, keys: list[str], table: dict[str, bytes], raw_metadata: bytes) -> bytes:
        response_metadata = b""
        if raw_metadata:
            paging = chaincode_shim_pb2.QueryMetadata.FromString(raw_metadata)
            if paging.bookmark:
                keys = [k for k in keys if k >= paging.bookmark]
            page, rest = keys[: paging.pageSize], keys[paging.pageSize :]
            keys = page
            response_metadata = chaincode_shim_pb2.QueryResponseMetadata(
                fetched_records_count=len(page), bookmark=rest[0] if rest else ""
            ).SerializeToString()
        results = [
            kv_query_result_pb2.KV(namespace=self.namespace, key=k, value=table[k]).SerializeToString()
            for k in keys
        ]
        return self._first_batch(results, response_metadata)

    def _first_batch(self, results: list[bytes], response_metadata: bytes) -> bytes:
        iterator_id = f"iter-{next(self._ids)}"
        self._iterators[iterator_id] = results
        return self._next_batch(iterator_id, response_metadata)

    def _next_batch(self, iterator_id: str, response_metadata: bytes) -> bytes:
        remaining = self._iterators[iterator_id]
        batch, rest = remaining[: self.batch_size], remaining[self.batch_size :]
        if rest:
            self._iterators[iterator_id] = rest
        else:
            del self._iterators[iterator_id]  # the peer releases a finished query by itself
        return chaincode_shim_pb2.QueryResponse(
            results=[chaincode_shim_pb2.QueryResultBytes(resultBytes=r) for r in batch],
            has_more=bool(rest),
            id=iterator_id,
            metadata=response_metadata,
        ).SerializeToString()

    @property
    def open_iterators(self) -> set[str]:
        return set(self._iterators)
