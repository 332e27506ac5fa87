"""A Deliver servicer over the gateway double's embedded ledger, answering as a peer's Deliver does.

It checks the seek envelope as a peer does (well-formed DELIVER_SEEK_INFO payload, recent timestamp,
known channel, a channel member's valid signature over the payload), answering a failure with a
`DeliverResponse` status and no gRPC error, then streams blocks from the start position, waiting for
new ones, until the stop position (a SUCCESS status) or until the client goes away.

The embedded ledger keeps its own block records, so blocks are reshaped into Fabric's: the header
keeps the ledger's number and hashes, the data holds each transaction's submitted envelope (a bare
header for transactions committed around the gateway), the TRANSACTIONS_FILTER metadata holds the
validation codes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
from embedded_ledger import Block, ChaincodeEventRecord, TransactionRecord
from fabric_protos.common import common_pb2
from fabric_protos.orderer import ab_pb2
from fabric_protos.peer import chaincode_event_pb2, events_pb2, events_pb2_grpc
from gateway_double import GatewayDouble
from google.protobuf.message import DecodeError
from peer_checks import Refused

# A peer refuses seek requests whose timestamp is further than this from its clock.
TIMESTAMP_WINDOW = timedelta(minutes=15)
_POLL_SECONDS = 0.05


class DeliverRefusal(Exception):
    """A seek request the peer answers with `status` (a `common.Status`) instead of blocks."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


class DeliverDouble(events_pb2_grpc.DeliverServicer):
    """Streams the ledger of `double` as full, filtered or private-data blocks."""

    def __init__(self, double: GatewayDouble) -> None:
        self.double = double
        self.ledger = double.ledger

    def Deliver(self, requests: Iterator[Any], context: grpc.ServicerContext) -> Iterator[Any]:
        return self._stream(requests, context, lambda n: events_pb2.DeliverResponse(block=self.block(n)))

    def DeliverFiltered(self, requests: Iterator[Any], context: grpc.ServicerContext) -> Iterator[Any]:
        return self._stream(
            requests, context, lambda n: events_pb2.DeliverResponse(filtered_block=self.filtered_block(n))
        )

    def DeliverWithPrivateData(self, requests: Iterator[Any], context: grpc.ServicerContext) -> Iterator[Any]:
        # The embedded ledger keeps private data apart from blocks; none is attached here.
        def response(number: int) -> Any:
            data = events_pb2.BlockAndPrivateData(block=self.block(number))
            return events_pb2.DeliverResponse(block_and_private_data=data)

        return self._stream(requests, context, response)

    # the stream

    def _stream(
        self, requests: Iterator[Any], context: grpc.ServicerContext, response_for: Callable[[int], Any]
    ) -> Iterator[Any]:
        envelope = next(requests, None)
        if envelope is None:
            return
        try:
            seek = self.checked_seek_info(envelope)
        except DeliverRefusal as refusal:
            yield events_pb2.DeliverResponse(status=refusal.status)
            return
        number = self._block_number(seek.start)
        stop = self._block_number(seek.stop)
        while context.is_active():
            if number > stop:
                yield events_pb2.DeliverResponse(status=common_pb2.Status.SUCCESS)
                return
            if number < self.ledger.height:
                yield response_for(number)
                number += 1
            elif seek.behavior == ab_pb2.SeekInfo.SeekBehavior.FAIL_IF_NOT_READY:
                yield events_pb2.DeliverResponse(status=common_pb2.Status.NOT_FOUND)
                return
            else:
                # Transactions committed around the gateway do not notify: poll as well.
                self.double.wait_for_commit(_POLL_SECONDS)

    def _block_number(self, position: Any) -> int:
        kind = position.WhichOneof("Type")
        if kind == "specified":
            return int(position.specified.number)
        if kind == "oldest":
            return 0
        if kind == "next_commit":
            return self.ledger.height
        return self.ledger.height - 1  # newest, also what an empty position means

    def checked_seek_info(self, envelope: Any) -> Any:
        """The `SeekInfo` of a seek envelope the peer accepts; `DeliverRefusal` otherwise."""
        try:
            payload = common_pb2.Payload.FromString(envelope.payload)
            channel_header = common_pb2.ChannelHeader.FromString(payload.header.channel_header)
            signature_header = common_pb2.SignatureHeader.FromString(payload.header.signature_header)
            seek = ab_pb2.SeekInfo.FromString(payload.data)
        except DecodeError:
            raise DeliverRefusal(common_pb2.Status.BAD_REQUEST, "malformed envelope") from None
        if channel_header.type != common_pb2.HeaderType.DELIVER_SEEK_INFO:
            raise DeliverRefusal(common_pb2.Status.BAD_REQUEST, "not a seek request")
        sent_at = channel_header.timestamp.ToDatetime(tzinfo=UTC)
        if abs(datetime.now(UTC) - sent_at) > TIMESTAMP_WINDOW:
            raise DeliverRefusal(common_pb2.Status.BAD_REQUEST, "timestamp out of the time window")
        if channel_header.channel_id != self.ledger.channel_id:
            raise DeliverRefusal(common_pb2.Status.NOT_FOUND, "channel not found")
        try:
            self.double.verify_member(signature_header.creator, envelope.payload, envelope.signature)
        except Refused as refused:
            raise DeliverRefusal(common_pb2.Status.FORBIDDEN, str(refused)) from None
        return seek

    # blocks, reshaped as Fabric's

    def block(self, number: int) -> Any:
        """Block `number` as a `common.Block`."""
        record = self.ledger.get_block(number)
        metadata: list[bytes] = [b""] * len(common_pb2.BlockMetadataIndex.keys())
        metadata[common_pb2.BlockMetadataIndex.TRANSACTIONS_FILTER] = bytes(record.validation_codes)
        return common_pb2.Block(
            header=common_pb2.BlockHeader(
                number=record.number, previous_hash=record.previous_hash, data_hash=record.data_hash
            ),
            data=common_pb2.BlockData(
                data=[self._envelope(tx).SerializeToString() for tx in record.transactions]
            ),
            metadata=common_pb2.BlockMetadata(metadata=metadata),
        )

    def filtered_block(self, number: int) -> Any:
        """Block `number` as a `peer.FilteredBlock`: ids, types, codes, and events without payloads."""
        record = self.ledger.get_block(number)
        events = self._events_by_transaction(record)
        transactions = []
        for tx in record.transactions:
            actions = None
            event = events.get(tx.tx_id)
            if event is not None:
                stripped = chaincode_event_pb2.ChaincodeEvent(
                    chaincode_id=event.chaincode_name,
                    tx_id=tx.tx_id,
                    event_name=event.name,
                )
                actions = events_pb2.FilteredTransactionActions(
                    chaincode_actions=[events_pb2.FilteredChaincodeAction(chaincode_event=stripped)]
                )
            transactions.append(
                events_pb2.FilteredTransaction(
                    txid=tx.tx_id,
                    type=common_pb2.HeaderType.ENDORSER_TRANSACTION,
                    tx_validation_code=tx.validation_code,
                    transaction_actions=actions,
                )
            )
        return events_pb2.FilteredBlock(
            channel_id=self.ledger.channel_id, number=record.number, filtered_transactions=transactions
        )

    def _envelope(self, tx: TransactionRecord) -> Any:
        submitted = self.double.submitted_envelope(tx.tx_id)
        if submitted is not None:
            return submitted
        channel_header = common_pb2.ChannelHeader(
            type=common_pb2.HeaderType.ENDORSER_TRANSACTION, channel_id=self.ledger.channel_id, tx_id=tx.tx_id
        )
        channel_header.timestamp.FromDatetime(tx.timestamp)
        header = common_pb2.Header(channel_header=channel_header.SerializeToString())
        return common_pb2.Envelope(payload=common_pb2.Payload(header=header).SerializeToString())

    def _events_by_transaction(self, record: Block) -> dict[str, ChaincodeEventRecord]:
        events: dict[str, ChaincodeEventRecord] = {}
        for chaincode_name in {tx.chaincode_name for tx in record.transactions}:
            for event in self.ledger.chaincode_events(chaincode_name, record.number):
                if event.block_num != record.number:
                    break
                events[event.tx_id] = event
        return events
