"""Transaction proposals: built as Fabric clients build them, then evaluated or endorsed.

A proposal is ``Proposal{header = Header{ChannelHeader, SignatureHeader}, payload =
ChaincodeProposalPayload{ChaincodeInvocationSpec, transient map}}``; its transaction id is
hex(SHA-256(nonce ‖ creator)), which the peer recomputes. The signature covers the serialized
proposal, so `bytes()`/`digest()` let a caller sign it elsewhere (offline signing).
"""

from __future__ import annotations

import builtins
import hashlib
import os
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime

import grpc
from fabric_protos.common import common_pb2
from fabric_protos.gateway import gateway_pb2
from fabric_protos.peer import chaincode_pb2, proposal_pb2

from fabric_gateway._client import GatewayClient
from fabric_gateway.errors import EndorseError, EvaluateError
from fabric_gateway.transaction import Transaction

NONCE_LENGTH = 24

Argument = str | bytes


def transaction_id(nonce: bytes, creator: bytes) -> str:
    """Fabric's transaction id: hex(SHA-256(nonce ‖ creator))."""
    return hashlib.sha256(nonce + creator).hexdigest()


def build_proposal(
    creator: bytes,
    channel_id: str,
    chaincode_name: str,
    transaction_name: str,
    args: Sequence[Argument] = (),
    transient: Mapping[str, bytes] | None = None,
    *,
    nonce: bytes | None = None,
    timestamp: datetime | None = None,
) -> tuple[proposal_pb2.Proposal, str]:
    """An unsigned proposal invoking ``transaction_name(*args)`` and its transaction id."""
    nonce = os.urandom(NONCE_LENGTH) if nonce is None else nonce
    tx_id = transaction_id(nonce, creator)
    chaincode_id = chaincode_pb2.ChaincodeID(name=chaincode_name)
    channel_header = common_pb2.ChannelHeader(
        type=common_pb2.HeaderType.ENDORSER_TRANSACTION,
        channel_id=channel_id,
        tx_id=tx_id,
        epoch=0,
        extension=proposal_pb2.ChaincodeHeaderExtension(chaincode_id=chaincode_id).SerializeToString(),
    )
    channel_header.timestamp.FromDatetime(timestamp or datetime.now(UTC))
    header = common_pb2.Header(
        channel_header=channel_header.SerializeToString(),
        signature_header=common_pb2.SignatureHeader(creator=creator, nonce=nonce).SerializeToString(),
    )
    invocation = chaincode_pb2.ChaincodeInvocationSpec(
        chaincode_spec=chaincode_pb2.ChaincodeSpec(
            chaincode_id=chaincode_id,
            input=chaincode_pb2.ChaincodeInput(args=[transaction_name.encode(), *map(_as_bytes, args)]),
        )
    )
    payload = proposal_pb2.ChaincodeProposalPayload(
        input=invocation.SerializeToString(), TransientMap=dict(transient or {})
    )
    proposal = proposal_pb2.Proposal(header=header.SerializeToString(), payload=payload.SerializeToString())
    return proposal, tx_id


class Proposal:
    """A proposal ready to be evaluated (a query) or endorsed (the first step of a submit).

    Made by `Contract.new_proposal` (signed at once when the gateway has a signer) or rebuilt from
    `bytes()` plus an offline signature with `Network.new_signed_proposal`.
    """

    def __init__(self, client: GatewayClient, channel_id: str, proposed: gateway_pb2.ProposedTransaction):
        self._client = client
        self._channel_id = channel_id
        self._proposed = proposed

    @property
    def transaction_id(self) -> str:
        return str(self._proposed.transaction_id)

    @property
    def endorsing_organizations(self) -> list[str]:
        return list(self._proposed.endorsing_organizations)

    @property
    def signed(self) -> bool:
        return bool(self._proposed.proposal.signature)

    def bytes(self) -> builtins.bytes:
        """The serialized proposal (signed or not), to store, send elsewhere or sign offline."""
        return bytes(self._proposed.SerializeToString())

    def digest(self) -> builtins.bytes:
        """What the signer signs: the hash of the serialized `Proposal`."""
        return self._client.hash(self._proposed.proposal.proposal_bytes)

    def evaluate(self, *, timeout: float | None = None) -> builtins.bytes:
        """Run the transaction on one peer without ordering it and return its result."""
        self._sign_if_needed()
        request = gateway_pb2.EvaluateRequest(
            transaction_id=self.transaction_id,
            channel_id=self._channel_id,
            proposed_transaction=self._proposed.proposal,
            target_organizations=self._proposed.endorsing_organizations,
        )
        try:
            response = self._client.stub.Evaluate(
                request, timeout=_timeout(timeout, self._client.timeouts.evaluate)
            )
        except grpc.RpcError as error:
            raise EvaluateError.from_rpc_error(error, transaction_id=self.transaction_id) from None
        return bytes(response.result.payload)

    def endorse(self, *, timeout: float | None = None) -> Transaction:
        """Collect endorsements; returns the transaction to submit (not yet ordered)."""
        self._sign_if_needed()
        request = gateway_pb2.EndorseRequest(
            transaction_id=self.transaction_id,
            channel_id=self._channel_id,
            proposed_transaction=self._proposed.proposal,
            endorsing_organizations=self._proposed.endorsing_organizations,
        )
        try:
            response = self._client.stub.Endorse(
                request, timeout=_timeout(timeout, self._client.timeouts.endorse)
            )
        except grpc.RpcError as error:
            raise EndorseError.from_rpc_error(error, transaction_id=self.transaction_id) from None
        prepared = gateway_pb2.PreparedTransaction(
            transaction_id=self.transaction_id, envelope=response.prepared_transaction
        )
        return Transaction(self._client, self._channel_id, prepared)

    def _sign_if_needed(self) -> None:
        if not self.signed:
            self._proposed.proposal.signature = self._client.sign(self._proposed.proposal.proposal_bytes)


def new_proposed_transaction(
    proposal: proposal_pb2.Proposal, tx_id: str, endorsing_organizations: Iterable[str] = ()
) -> gateway_pb2.ProposedTransaction:
    return gateway_pb2.ProposedTransaction(
        transaction_id=tx_id,
        proposal=proposal_pb2.SignedProposal(proposal_bytes=proposal.SerializeToString()),
        endorsing_organizations=list(endorsing_organizations),
    )


def channel_of(proposed: gateway_pb2.ProposedTransaction) -> str:
    """The channel a serialized proposal was built for."""
    proposal = proposal_pb2.Proposal.FromString(proposed.proposal.proposal_bytes)
    header = common_pb2.Header.FromString(proposal.header)
    return str(common_pb2.ChannelHeader.FromString(header.channel_header).channel_id)


def _as_bytes(arg: Argument) -> bytes:
    return arg if isinstance(arg, bytes) else arg.encode()


def _timeout(override: float | None, default: float | None) -> float | None:
    return default if override is None else override
