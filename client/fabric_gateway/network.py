"""A channel seen through the gateway: contracts, chaincode and block events, offline-signed requests."""

from __future__ import annotations

from typing import Any

from fabric_protos.common import common_pb2
from fabric_protos.gateway import gateway_pb2

from fabric_gateway._client import GatewayClient
from fabric_gateway.block_events import (
    BlockAndPrivateDataEventsRequest,
    BlockEvents,
    BlockEventsRequest,
    FilteredBlockEventsRequest,
    build_seek_envelope,
    channel_of_envelope,
    start_position,
)
from fabric_gateway.checkpointers import Checkpoint
from fabric_gateway.commit import Commit
from fabric_gateway.contract import Contract
from fabric_gateway.events import ChaincodeEvents, ChaincodeEventsRequest, new_events_request
from fabric_gateway.proposal import Proposal, channel_of
from fabric_gateway.transaction import Transaction


class Network:
    """One channel. Get contracts with `get_contract`; listen with `chaincode_events` or `block_events`."""

    def __init__(self, client: GatewayClient, channel_id: str) -> None:
        self._client = client
        self.channel_id = channel_id

    def get_contract(self, chaincode_name: str, contract_name: str | None = None) -> Contract:
        """The contract `contract_name` of chaincode `chaincode_name` (its default contract if None)."""
        return Contract(self._client, self.channel_id, chaincode_name, contract_name)

    def new_chaincode_events_request(
        self, chaincode_name: str, *, start_block: int | None = None, checkpoint: Checkpoint | None = None
    ) -> ChaincodeEventsRequest:
        """An events request (signed when the stream opens, or offline via `digest()`)."""
        signed = new_events_request(
            self._client, self.channel_id, chaincode_name, start_block=start_block, checkpoint=checkpoint
        )
        return ChaincodeEventsRequest(self._client, signed)

    def chaincode_events(
        self,
        chaincode_name: str,
        *,
        start_block: int | None = None,
        checkpoint: Checkpoint | None = None,
        timeout: float | None = None,
    ) -> ChaincodeEvents:
        """Events of `chaincode_name` from the next commit, `start_block`, or after `checkpoint`.

        Use it as a context manager, or `close()` it, to end the stream::

            with network.chaincode_events("cc", checkpoint=checkpointer) as events:
                for event in events:
                    handle(event)
                    checkpointer.checkpoint_chaincode_event(event)
        """
        request = self.new_chaincode_events_request(
            chaincode_name, start_block=start_block, checkpoint=checkpoint
        )
        return request.events(timeout=timeout)

    # -- block events: full, filtered, or with private data ------------------------------------------

    def new_block_events_request(
        self, *, start_block: int | None = None, checkpoint: Checkpoint | None = None
    ) -> BlockEventsRequest:
        """A request for full blocks (signed when the stream opens, or offline via `digest()`)."""
        return BlockEventsRequest(self._client, self._seek_envelope(start_block, checkpoint))

    def new_filtered_block_events_request(
        self, *, start_block: int | None = None, checkpoint: Checkpoint | None = None
    ) -> FilteredBlockEventsRequest:
        """A request for filtered blocks (signed when the stream opens, or offline via `digest()`)."""
        return FilteredBlockEventsRequest(self._client, self._seek_envelope(start_block, checkpoint))

    def new_block_and_private_data_events_request(
        self, *, start_block: int | None = None, checkpoint: Checkpoint | None = None
    ) -> BlockAndPrivateDataEventsRequest:
        """A request for blocks with private data (signed when the stream opens, or offline)."""
        return BlockAndPrivateDataEventsRequest(self._client, self._seek_envelope(start_block, checkpoint))

    def block_events(
        self,
        *,
        start_block: int | None = None,
        checkpoint: Checkpoint | None = None,
        timeout: float | None = None,
    ) -> BlockEvents[Any]:
        """Full `common.Block`s from the next commit, `start_block`, or the checkpoint's next block.

        Use it as a context manager, or `close()` it, to end the stream::

            with network.block_events(checkpoint=checkpointer) as blocks:
                for block in blocks:
                    handle(block)
                    checkpointer.checkpoint_block(block.header.number)
        """
        request = self.new_block_events_request(start_block=start_block, checkpoint=checkpoint)
        return request.events(timeout=timeout)

    def filtered_block_events(
        self,
        *,
        start_block: int | None = None,
        checkpoint: Checkpoint | None = None,
        timeout: float | None = None,
    ) -> BlockEvents[Any]:
        """`peer.FilteredBlock`s (transaction ids and validation codes), starting as `block_events`."""
        request = self.new_filtered_block_events_request(start_block=start_block, checkpoint=checkpoint)
        return request.events(timeout=timeout)

    def block_and_private_data_events(
        self,
        *,
        start_block: int | None = None,
        checkpoint: Checkpoint | None = None,
        timeout: float | None = None,
    ) -> BlockEvents[Any]:
        """`peer.BlockAndPrivateData`, starting as `block_events`; needs rights to the private data."""
        request = self.new_block_and_private_data_events_request(
            start_block=start_block, checkpoint=checkpoint
        )
        return request.events(timeout=timeout)

    # -- offline signing: rebuild a request from its bytes plus a signature made elsewhere ---------

    def new_signed_proposal(self, proposal_bytes: bytes, signature: bytes) -> Proposal:
        """The proposal serialized by `Proposal.bytes()`, with the signature of its `digest()`."""
        proposed = gateway_pb2.ProposedTransaction.FromString(proposal_bytes)
        proposed.proposal.signature = signature
        return Proposal(self._client, self._checked_channel(channel_of(proposed)), proposed)

    def new_signed_transaction(self, transaction_bytes: bytes, signature: bytes) -> Transaction:
        """The transaction serialized by `Transaction.bytes()`, with the signature of its `digest()`."""
        prepared = gateway_pb2.PreparedTransaction.FromString(transaction_bytes)
        prepared.envelope.signature = signature
        return Transaction(self._client, self.channel_id, prepared)

    def new_signed_commit(self, commit_bytes: bytes, signature: bytes) -> Commit:
        """The commit status request serialized by `Commit.bytes()`, with its signature."""
        signed = gateway_pb2.SignedCommitStatusRequest.FromString(commit_bytes)
        signed.signature = signature
        return Commit(self._client, signed)

    def new_signed_chaincode_events_request(
        self, request_bytes: bytes, signature: bytes
    ) -> ChaincodeEventsRequest:
        """The events request serialized by `ChaincodeEventsRequest.bytes()`, with its signature."""
        signed = gateway_pb2.SignedChaincodeEventsRequest.FromString(request_bytes)
        signed.signature = signature
        return ChaincodeEventsRequest(self._client, signed)

    def new_signed_block_events_request(self, request_bytes: bytes, signature: bytes) -> BlockEventsRequest:
        """The block events request serialized by `BlockEventsRequest.bytes()`, with its signature."""
        return BlockEventsRequest(self._client, self._signed_envelope(request_bytes, signature))

    def new_signed_filtered_block_events_request(
        self, request_bytes: bytes, signature: bytes
    ) -> FilteredBlockEventsRequest:
        """The request serialized by `FilteredBlockEventsRequest.bytes()`, with its signature."""
        return FilteredBlockEventsRequest(self._client, self._signed_envelope(request_bytes, signature))

    def new_signed_block_and_private_data_events_request(
        self, request_bytes: bytes, signature: bytes
    ) -> BlockAndPrivateDataEventsRequest:
        """The request serialized by `BlockAndPrivateDataEventsRequest.bytes()`, with its signature."""
        return BlockAndPrivateDataEventsRequest(self._client, self._signed_envelope(request_bytes, signature))

    def _seek_envelope(self, start_block: int | None, checkpoint: Checkpoint | None) -> Any:
        start = start_position(start_block, checkpoint)
        return build_seek_envelope(self._client.creator(), self.channel_id, start)

    def _signed_envelope(self, request_bytes: bytes, signature: bytes) -> Any:
        envelope = common_pb2.Envelope.FromString(request_bytes)
        self._checked_channel(channel_of_envelope(envelope))
        envelope.signature = signature
        return envelope

    def _checked_channel(self, channel_id: str) -> str:
        if channel_id != self.channel_id:
            raise ValueError(f"the request is for channel {channel_id!r}, not {self.channel_id!r}")
        return channel_id
