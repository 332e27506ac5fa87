"""Unpack a client's `SignedProposal` and check its headers as a Fabric endorser does.

Mirrors Fabric's `core/endorser/msgvalidation.go` (`UnpackProposal`, `UnpackedProposal.Validate`):
every nested message must parse, the chaincode must be named in the header extension, the header
type must be ENDORSER_TRANSACTION, the epoch 0, nonce and creator present, and the tx id must be
hex(SHA-256(nonce ‖ creator)). Who the creator is and whether it signed is `membership`'s concern.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from fabric_protos.common import common_pb2
from fabric_protos.peer import chaincode_pb2, proposal_pb2
from google.protobuf.message import DecodeError, Message

from embedded_ledger.proposal import transaction_id

_M = TypeVar("_M", bound=Message)


class ProposalError(Exception):
    """The ledger refuses a proposal before running it; the message says which check failed."""


@dataclass(frozen=True)
class UnpackedProposal:
    """The parts of a `SignedProposal` the ledger checks and runs."""

    signed_proposal: proposal_pb2.SignedProposal
    header_bytes: bytes
    channel_header: common_pb2.ChannelHeader
    signature_header: common_pb2.SignatureHeader
    payload: proposal_pb2.ChaincodeProposalPayload
    chaincode_name: str
    chaincode_input: chaincode_pb2.ChaincodeInput
    proposal_hash: bytes
    """SHA-256(channel header ‖ signature header ‖ payload without transient data), as Fabric's."""

    @property
    def tx_id(self) -> str:
        return str(self.channel_header.tx_id)

    @property
    def channel_id(self) -> str:
        return str(self.channel_header.channel_id)

    @property
    def creator(self) -> bytes:
        return bytes(self.signature_header.creator)

    @property
    def timestamp(self) -> datetime:
        return self.channel_header.timestamp.ToDatetime(tzinfo=UTC)

    @property
    def transient(self) -> dict[str, bytes]:
        return dict(self.payload.TransientMap)

    @property
    def function(self) -> str:
        """The first argument, by convention the function name ("" when there are no arguments)."""
        args = self.chaincode_input.args
        return args[0].decode(errors="replace") if args else ""

    def validate_headers(self, channel_id: str) -> None:
        """Raise `ProposalError` unless the headers are those of a transaction for `channel_id`."""
        header_type = self.channel_header.type
        if header_type != common_pb2.HeaderType.ENDORSER_TRANSACTION:
            known = header_type in common_pb2.HeaderType.values()
            name = common_pb2.HeaderType.Name(header_type) if known else str(header_type)
            raise ProposalError(f"invalid header type {name}")
        if self.channel_id != channel_id:
            raise ProposalError(f"channel {self.channel_id!r} not found (this ledger is {channel_id!r})")
        if self.channel_header.epoch != 0:
            raise ProposalError("epoch is non-zero")
        if not self.signature_header.nonce:
            raise ProposalError("nonce is empty")
        if not self.signature_header.creator:
            raise ProposalError("creator is empty")
        expected = transaction_id(self.signature_header.nonce, self.signature_header.creator)
        if self.tx_id != expected:
            raise ProposalError(f"incorrectly computed txid {self.tx_id!r} -- expected {expected!r}")
        if not self.signed_proposal.signature:
            raise ProposalError("empty signature bytes")


def unpack_proposal(signed: proposal_pb2.SignedProposal) -> UnpackedProposal:
    """Parse every layer of `signed`; `ProposalError` names the first one that is malformed."""
    if not signed.proposal_bytes:
        raise ProposalError("empty proposal bytes")
    proposal = _parse(proposal_pb2.Proposal, signed.proposal_bytes, "proposal")
    header = _parse(common_pb2.Header, proposal.header, "header")
    channel_header = _parse(common_pb2.ChannelHeader, header.channel_header, "channel header")
    signature_header = _parse(common_pb2.SignatureHeader, header.signature_header, "signature header")
    extension = _parse(
        proposal_pb2.ChaincodeHeaderExtension, channel_header.extension, "chaincode header extension"
    )
    if not extension.chaincode_id.name:
        raise ProposalError("ChaincodeHeaderExtension.ChaincodeId.Name is empty")
    payload = _parse(proposal_pb2.ChaincodeProposalPayload, proposal.payload, "chaincode proposal payload")
    invocation = _parse(chaincode_pb2.ChaincodeInvocationSpec, payload.input, "chaincode invocation spec")
    if not invocation.HasField("chaincode_spec"):
        raise ProposalError("chaincode invocation spec did not contain chaincode spec")
    if not invocation.chaincode_spec.HasField("input"):
        raise ProposalError("chaincode input did not contain any input")
    without_transient = proposal_pb2.ChaincodeProposalPayload(input=payload.input).SerializeToString()
    proposal_hash = hashlib.sha256(
        header.channel_header + header.signature_header + without_transient
    ).digest()
    return UnpackedProposal(
        signed_proposal=signed,
        header_bytes=proposal.header,
        channel_header=channel_header,
        signature_header=signature_header,
        payload=payload,
        chaincode_name=extension.chaincode_id.name,
        chaincode_input=invocation.chaincode_spec.input,
        proposal_hash=proposal_hash,
    )


def _parse(message_type: type[_M], data: bytes, what: str) -> _M:
    try:
        return message_type.FromString(data)
    except DecodeError:
        raise ProposalError(f"malformed {what}") from None
