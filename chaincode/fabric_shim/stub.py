"""`ChaincodeStub`: what a chaincode sees of its transaction and the ledger (Go's ChaincodeStubInterface).

The stub holds the invocation (arguments, transaction id, creator, transient data, timestamp) parsed
from the signed proposal, and turns every ledger operation into one request through `PeerCalls`.
It never talks gRPC itself, so the same stub serves a chaincode on a peer and in an embedded ledger.

When the peer offers batched calls (`fabric_shim.batching.PeerFeatures`, Fabric v3.1), multi-key
reads go in GET_STATE_MULTIPLE and writes wait in a `WriteBatch` until `finish_writes` (called by
whoever runs the chaincode, after it returned a successful response) sends them in WRITE_BATCH_STATE.
The batch also leaves early, before a call whose answer depends on the writes made so far (a
paginated query, a query on private data, a chaincode-to-chaincode call), so that call succeeds or
fails exactly as it does without batching.
"""

from __future__ import annotations

import hashlib
import logging
import struct
from collections.abc import Sequence
from datetime import UTC, datetime

from fabric_protos.common import common_pb2
from fabric_protos.peer import (
    chaincode_event_pb2,
    chaincode_pb2,
    chaincode_shim_pb2,
    proposal_pb2,
    proposal_response_pb2,
)

from fabric_shim import keys
from fabric_shim.batching import NO_BATCHING, PeerFeatures, WriteBatch, chunks
from fabric_shim.calls import PeerCalls, PeerError, StreamClosedError
from fabric_shim.chaincode import INTERNAL_ERROR, Response
from fabric_shim.iterators import HistoryQueryIterator, QueryPage, StateQueryIterator

logger = logging.getLogger(__name__)

_Msg = chaincode_shim_pb2.ChaincodeMessage
VALIDATION_PARAMETER = "VALIDATION_PARAMETER"
_EPOCH = datetime.fromtimestamp(0, tz=UTC)
_PROPOSAL_HEADER_TYPES = frozenset({common_pb2.HeaderType.ENDORSER_TRANSACTION, common_pb2.HeaderType.CONFIG})


class ChaincodeStub:
    """The chaincode's view of one INIT or TRANSACTION.

    `signed_proposal` may be None for unit use: the creator, nonce, binding and transient map are
    then empty and `tx_timestamp` is the Unix epoch.
    """

    def __init__(
        self,
        calls: PeerCalls,
        channel_id: str,
        tx_id: str,
        chaincode_input: chaincode_pb2.ChaincodeInput,
        signed_proposal: proposal_pb2.SignedProposal | None,
        *,
        features: PeerFeatures = NO_BATCHING,
    ) -> None:
        self._calls = calls
        self.features = features
        self._batch: WriteBatch | None = WriteBatch() if features.write_batch else None
        self.channel_id = channel_id
        self.tx_id = tx_id
        self.args: list[bytes] = list(chaincode_input.args)
        self.decorations: dict[str, bytes] = dict(chaincode_input.decorations)
        self.signed_proposal = signed_proposal
        self.tx_timestamp: datetime = _EPOCH
        self.creator: bytes = b""
        self.nonce: bytes = b""
        self.binding: bytes = b""
        self.transient: dict[str, bytes] = {}
        self.event: chaincode_event_pb2.ChaincodeEvent | None = None
        if signed_proposal is not None:
            self._read_proposal(signed_proposal)

    def _read_proposal(self, signed_proposal: proposal_pb2.SignedProposal) -> None:
        """Parse Proposal -> Header{ChannelHeader, SignatureHeader} and the ChaincodeProposalPayload.

        Raises `ValueError` when any layer does not parse.
        """
        try:
            proposal = proposal_pb2.Proposal.FromString(signed_proposal.proposal_bytes)
            header = common_pb2.Header.FromString(proposal.header)
            channel_header = common_pb2.ChannelHeader.FromString(header.channel_header)
            signature_header = common_pb2.SignatureHeader.FromString(header.signature_header)
            payload = proposal_pb2.ChaincodeProposalPayload.FromString(proposal.payload)
        except Exception as exc:  # protobuf raises DecodeError, a bare Exception subclass
            raise ValueError(f"the signed proposal does not parse: {type(exc).__name__}") from None
        # The Go shim refuses the same two cases before running the chaincode.
        if not proposal.header:
            raise ValueError("the proposal has no header")
        if channel_header.type not in _PROPOSAL_HEADER_TYPES:
            raise ValueError(
                f"invalid channel header type {channel_header.type}: expected ENDORSER_TRANSACTION or CONFIG"
            )
        self.tx_timestamp = channel_header.timestamp.ToDatetime(tzinfo=UTC)
        self.creator = signature_header.creator
        self.nonce = signature_header.nonce
        self.transient = dict(payload.TransientMap)
        # Go's computeBinding: SHA-256(nonce || creator || epoch as 8-byte little endian).
        epoch = struct.pack("<Q", channel_header.epoch)
        self.binding = hashlib.sha256(self.nonce + self.creator + epoch).digest()

    # ---- invocation -------------------------------------------------------------------------------

    @property
    def string_args(self) -> list[str]:
        """The arguments decoded as UTF-8 (raises `UnicodeDecodeError` for binary arguments)."""
        return [arg.decode("utf-8") for arg in self.args]

    @property
    def function(self) -> str:
        """The first argument, by convention the function name; "" when there are no arguments."""
        return self.args[0].decode("utf-8") if self.args else ""

    @property
    def parameters(self) -> list[str]:
        """The arguments after the function name, as strings."""
        return self.string_args[1:]

    def get_function_and_parameters(self) -> tuple[str, list[str]]:
        return self.function, self.parameters

    # ---- public state -----------------------------------------------------------------------------

    def _call(self, msg_type: int, request: bytes) -> bytes:
        return self._calls.call(msg_type, request, self.channel_id, self.tx_id)

    def get_state(self, key: str) -> bytes | None:
        """The committed value of `key`, or None when absent."""
        return self._get_state("", key)

    def get_multiple_states(self, keys: Sequence[str]) -> list[bytes | None]:
        """The committed values of `keys` (None where absent), in order: GetState for each key.

        One GET_STATE_MULTIPLE round trip per `max_get_multiple_keys` keys when the peer offers it,
        else one GET_STATE per key; the read set is the same either way.
        """
        return self._get_multiple("", keys)

    def put_state(self, key: str, value: bytes) -> None:
        """Write `key`; an empty key or value is rejected (delete with `del_state`).

        The Go shim rejects only the empty key: a peer records an empty value as a delete. We refuse
        it so that an accidental empty value cannot silently delete state.
        """
        self._put_state("", key, value)

    def del_state(self, key: str) -> None:
        self._del_state("", key)

    def set_state_validation_parameter(self, key: str, ep: bytes) -> None:
        """Set the key-level endorsement policy (a serialized SignaturePolicyEnvelope)."""
        self._put_metadata("", key, ep)

    def get_state_validation_parameter(self, key: str) -> bytes | None:
        return self._get_metadata("", key)

    def get_state_by_range(self, start_key: str, end_key: str) -> StateQueryIterator:
        """Iterate plain keys in [start_key, end_key); "" means unbounded. Composite keys are excluded."""
        start_key = start_key or keys.EMPTY_KEY_SUBSTITUTE
        keys.validate_simple_keys(start_key, end_key)
        return self._range("", start_key, end_key, b"")[0]

    def get_state_by_range_with_pagination(
        self, start_key: str, end_key: str, page_size: int, bookmark: str = ""
    ) -> tuple[StateQueryIterator, QueryPage]:
        start_key = start_key or keys.EMPTY_KEY_SUBSTITUTE
        keys.validate_simple_keys(start_key, end_key)
        metadata = _query_metadata(page_size, bookmark)
        self.finish_writes()  # the peer refuses a paginated query after a write
        return self._range("", start_key, end_key, metadata)

    def get_state_by_partial_composite_key(
        self, object_type: str, attributes: Sequence[str]
    ) -> StateQueryIterator:
        start_key, end_key = keys.partial_composite_key_range(object_type, attributes)
        return self._range("", start_key, end_key, b"")[0]

    def get_state_by_partial_composite_key_with_pagination(
        self, object_type: str, attributes: Sequence[str], page_size: int, bookmark: str = ""
    ) -> tuple[StateQueryIterator, QueryPage]:
        start_key, end_key = keys.partial_composite_key_range(object_type, attributes)
        metadata = _query_metadata(page_size, bookmark)
        self.finish_writes()
        return self._range("", start_key, end_key, metadata)

    def create_composite_key(self, object_type: str, attributes: Sequence[str]) -> str:
        return keys.create_composite_key(object_type, attributes)

    def split_composite_key(self, key: str) -> tuple[str, list[str]]:
        return keys.split_composite_key(key)

    def get_query_result(self, query: str) -> StateQueryIterator:
        """Run a rich (CouchDB) query; the query string is passed through unchanged."""
        return self._rich_query("", query, b"")[0]

    def get_query_result_with_pagination(
        self, query: str, page_size: int, bookmark: str = ""
    ) -> tuple[StateQueryIterator, QueryPage]:
        metadata = _query_metadata(page_size, bookmark)
        self.finish_writes()
        return self._rich_query("", query, metadata)

    def get_history_for_key(self, key: str) -> HistoryQueryIterator:
        request = chaincode_shim_pb2.GetHistoryForKey(key=key).SerializeToString()
        response = _query_response(self._call(_Msg.GET_HISTORY_FOR_KEY, request))
        return HistoryQueryIterator(self._calls, self.channel_id, self.tx_id, response)

    # ---- private data -----------------------------------------------------------------------------

    def get_private_data(self, collection: str, key: str) -> bytes | None:
        _require_collection(collection)
        return self._get_state(collection, key)

    def get_multiple_private_data(self, collection: str, keys: Sequence[str]) -> list[bytes | None]:
        """`get_multiple_states` in a private data collection."""
        _require_collection(collection)
        return self._get_multiple(collection, keys)

    def get_private_data_hash(self, collection: str, key: str) -> bytes | None:
        """The hash of a private value; readable by peers outside the collection too."""
        _require_collection(collection)
        request = chaincode_shim_pb2.GetState(key=key, collection=collection).SerializeToString()
        return self._call(_Msg.GET_PRIVATE_DATA_HASH, request) or None

    def put_private_data(self, collection: str, key: str, value: bytes) -> None:
        _require_collection(collection)
        self._put_state(collection, key, value)

    def del_private_data(self, collection: str, key: str) -> None:
        _require_collection(collection)
        self._del_state(collection, key)

    def purge_private_data(self, collection: str, key: str) -> None:
        """Delete the private value and purge its history from the private data store."""
        _require_collection(collection)
        if self._batch is not None:
            self._batch.purge(collection, key)
            return
        request = chaincode_shim_pb2.PurgePrivateState(key=key, collection=collection).SerializeToString()
        self._call(_Msg.PURGE_PRIVATE_DATA, request)

    def get_private_data_by_range(self, collection: str, start_key: str, end_key: str) -> StateQueryIterator:
        _require_collection(collection)
        start_key = start_key or keys.EMPTY_KEY_SUBSTITUTE
        keys.validate_simple_keys(start_key, end_key)
        self.finish_writes()  # the peer refuses a query on private data after a write
        return self._range(collection, start_key, end_key, b"")[0]

    def get_private_data_by_partial_composite_key(
        self, collection: str, object_type: str, attributes: Sequence[str]
    ) -> StateQueryIterator:
        _require_collection(collection)
        start_key, end_key = keys.partial_composite_key_range(object_type, attributes)
        self.finish_writes()
        return self._range(collection, start_key, end_key, b"")[0]

    def get_private_data_query_result(self, collection: str, query: str) -> StateQueryIterator:
        _require_collection(collection)
        self.finish_writes()
        return self._rich_query(collection, query, b"")[0]

    def set_private_data_validation_parameter(self, collection: str, key: str, ep: bytes) -> None:
        _require_collection(collection)
        self._put_metadata(collection, key, ep)

    def get_private_data_validation_parameter(self, collection: str, key: str) -> bytes | None:
        _require_collection(collection)
        return self._get_metadata(collection, key)

    # ---- events and chaincode-to-chaincode --------------------------------------------------------

    def set_event(self, name: str, payload: bytes) -> None:
        """Attach the transaction's chaincode event; a later call replaces an earlier one."""
        if not name:
            raise ValueError("event name must not be empty")
        self.event = chaincode_event_pb2.ChaincodeEvent(event_name=name, payload=payload)

    def invoke_chaincode(self, chaincode_name: str, args: Sequence[bytes], channel: str = "") -> Response:
        """Call another chaincode in this transaction; its answer comes back as a `Response`.

        A peer ERROR becomes a status-500 `Response` (as in Go); a lost stream still raises.
        """
        if not chaincode_name:
            raise ValueError("chaincode name must not be empty")
        target = f"{chaincode_name}/{channel}" if channel else chaincode_name
        spec = chaincode_pb2.ChaincodeSpec(
            chaincode_id=chaincode_pb2.ChaincodeID(name=target),
            input=chaincode_pb2.ChaincodeInput(args=list(args)),
        )
        try:
            self.finish_writes()  # the called chaincode shares this simulation and its rules
            reply_bytes = self._call(_Msg.INVOKE_CHAINCODE, spec.SerializeToString())
        except StreamClosedError:
            raise
        except PeerError as exc:
            return Response(status=INTERNAL_ERROR, message=str(exc))
        reply = _Msg.FromString(reply_bytes)
        if reply.type != _Msg.COMPLETED:
            return Response(status=INTERNAL_ERROR, message=reply.payload.decode("utf-8", "replace"))
        response = proposal_response_pb2.Response.FromString(reply.payload)
        return Response(status=response.status, message=response.message, payload=response.payload)

    # ---- the write batch ---------------------------------------------------------------------------

    def finish_writes(self) -> None:
        """Send the writes still batched (WRITE_BATCH_STATE, split at the peer's maximum); else nothing.

        Raises `PeerError` when the peer refuses one of them: the transaction must then fail.
        """
        batch = self._batch
        if batch is None or not len(batch):
            return
        for message in batch.take_messages(self.features.max_write_batch):
            self._call(_Msg.WRITE_BATCH_STATE, message.SerializeToString())

    # ---- requests shared by public and private variants -------------------------------------------

    def _get_state(self, collection: str, key: str) -> bytes | None:
        request = chaincode_shim_pb2.GetState(key=key, collection=collection).SerializeToString()
        # The peer answers an empty payload for an absent key; an empty value cannot be written.
        return self._call(_Msg.GET_STATE, request) or None

    def _get_multiple(self, collection: str, keys: Sequence[str]) -> list[bytes | None]:
        wanted = list(keys)
        if not self.features.get_multiple_keys:
            return [self._get_state(collection, key) for key in wanted]
        values: list[bytes | None] = []
        for part in chunks(wanted, self.features.max_get_multiple_keys):
            request = chaincode_shim_pb2.GetStateMultiple(keys=part, collection=collection)
            reply = self._call(_Msg.GET_STATE_MULTIPLE, request.SerializeToString())
            found = chaincode_shim_pb2.GetStateMultipleResult.FromString(reply).values
            if len(found) != len(part):
                # A v3.1 peer answers an empty list when its state database fails mid-read.
                raise PeerError(f"the peer returned {len(found)} values for {len(part)} keys")
            values.extend(value or None for value in found)
        return values

    def _put_state(self, collection: str, key: str, value: bytes) -> None:
        if not key:
            raise ValueError("key must not be empty")
        if not value:
            raise ValueError("value must not be empty; use a delete to remove a key")
        if self._batch is not None:
            self._batch.put(collection, key, value)
            return
        request = chaincode_shim_pb2.PutState(key=key, value=value, collection=collection)
        self._call(_Msg.PUT_STATE, request.SerializeToString())

    def _del_state(self, collection: str, key: str) -> None:
        if self._batch is not None:
            self._batch.delete(collection, key)
            return
        request = chaincode_shim_pb2.DelState(key=key, collection=collection).SerializeToString()
        self._call(_Msg.DEL_STATE, request)

    def _put_metadata(self, collection: str, key: str, ep: bytes) -> None:
        if self._batch is not None:
            self._batch.put_metadata(collection, key, VALIDATION_PARAMETER, ep)
            return
        request = chaincode_shim_pb2.PutStateMetadata(
            key=key,
            collection=collection,
            metadata=chaincode_shim_pb2.StateMetadata(metakey=VALIDATION_PARAMETER, value=ep),
        )
        self._call(_Msg.PUT_STATE_METADATA, request.SerializeToString())

    def _get_metadata(self, collection: str, key: str) -> bytes | None:
        request = chaincode_shim_pb2.GetStateMetadata(key=key, collection=collection).SerializeToString()
        reply = self._call(_Msg.GET_STATE_METADATA, request)
        result = chaincode_shim_pb2.StateMetadataResult.FromString(reply)
        for entry in result.entries:
            if entry.metakey == VALIDATION_PARAMETER:
                return bytes(entry.value) or None
        return None

    def _range(
        self, collection: str, start_key: str, end_key: str, metadata: bytes
    ) -> tuple[StateQueryIterator, QueryPage]:
        request = chaincode_shim_pb2.GetStateByRange(
            startKey=start_key, endKey=end_key, collection=collection, metadata=metadata
        )
        response = _query_response(self._call(_Msg.GET_STATE_BY_RANGE, request.SerializeToString()))
        return self._iterator_and_page(response)

    def _rich_query(
        self, collection: str, query: str, metadata: bytes
    ) -> tuple[StateQueryIterator, QueryPage]:
        request = chaincode_shim_pb2.GetQueryResult(query=query, collection=collection, metadata=metadata)
        response = _query_response(self._call(_Msg.GET_QUERY_RESULT, request.SerializeToString()))
        return self._iterator_and_page(response)

    def _iterator_and_page(
        self, response: chaincode_shim_pb2.QueryResponse
    ) -> tuple[StateQueryIterator, QueryPage]:
        page_metadata = chaincode_shim_pb2.QueryResponseMetadata.FromString(response.metadata)
        page = QueryPage(
            fetched_records_count=page_metadata.fetched_records_count, bookmark=page_metadata.bookmark
        )
        return StateQueryIterator(self._calls, self.channel_id, self.tx_id, response), page


def _require_collection(collection: str) -> None:
    if not collection:
        raise ValueError("collection must not be empty")


def _query_metadata(page_size: int, bookmark: str) -> bytes:
    if isinstance(page_size, bool) or not isinstance(page_size, int) or page_size <= 0:
        raise ValueError(f"page size must be a positive integer, got {page_size!r}")
    return chaincode_shim_pb2.QueryMetadata(pageSize=page_size, bookmark=bookmark).SerializeToString()


def _query_response(payload: bytes) -> chaincode_shim_pb2.QueryResponse:
    return chaincode_shim_pb2.QueryResponse.FromString(payload)
