"""Build and sign a transaction proposal exactly as a Fabric client (Gateway SDK) does.

The embedded ledger hands chaincode the same `SignedProposal` a peer would, so everything the stub
derives from it (tx id, timestamp, creator, binding, transient data) behaves as on a network.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from fabric_protos.common import common_pb2
from fabric_protos.peer import chaincode_pb2, proposal_pb2

from embedded_ledger.identities import Identity

NONCE_LENGTH = 24


@dataclass(frozen=True)
class BuiltProposal:
    """A signed proposal and the parts of it the ledger needs again."""

    signed_proposal: proposal_pb2.SignedProposal
    tx_id: str
    timestamp: datetime
    chaincode_input: chaincode_pb2.ChaincodeInput


def transaction_id(nonce: bytes, creator: bytes) -> str:
    """Fabric's tx id: hex(SHA-256(nonce ‖ creator)); peers recompute and compare it."""
    return hashlib.sha256(nonce + creator).hexdigest()


def as_bytes(arg: str | bytes) -> bytes:
    return arg if isinstance(arg, bytes) else arg.encode()


def build_proposal(
    identity: Identity,
    channel_id: str,
    chaincode_name: str,
    function: str,
    args: Sequence[str | bytes],
    transient: Mapping[str, bytes] | None = None,
    *,
    nonce: bytes | None = None,
    timestamp: datetime | None = None,
) -> BuiltProposal:
    """A `SignedProposal` invoking `function(*args)` of `chaincode_name`, signed by `identity`."""
    nonce = os.urandom(NONCE_LENGTH) if nonce is None else nonce
    timestamp = datetime.now(UTC) if timestamp is None else timestamp
    creator = identity.serialized()
    tx_id = transaction_id(nonce, creator)
    chaincode_id = chaincode_pb2.ChaincodeID(name=chaincode_name)

    channel_header = common_pb2.ChannelHeader(
        type=common_pb2.HeaderType.ENDORSER_TRANSACTION,
        channel_id=channel_id,
        tx_id=tx_id,
        epoch=0,
        extension=proposal_pb2.ChaincodeHeaderExtension(chaincode_id=chaincode_id).SerializeToString(),
    )
    channel_header.timestamp.FromDatetime(timestamp)
    signature_header = common_pb2.SignatureHeader(creator=creator, nonce=nonce)
    header = common_pb2.Header(
        channel_header=channel_header.SerializeToString(),
        signature_header=signature_header.SerializeToString(),
    )

    chaincode_input = chaincode_pb2.ChaincodeInput(args=[function.encode(), *(as_bytes(a) for a in args)])
    invocation = chaincode_pb2.ChaincodeInvocationSpec(
        chaincode_spec=chaincode_pb2.ChaincodeSpec(
            # No enum value names Python; peers ignore the type for chaincode-as-a-service.
            type=chaincode_pb2.ChaincodeSpec.Type.UNDEFINED,
            chaincode_id=chaincode_id,
            input=chaincode_input,
        )
    )
    payload = proposal_pb2.ChaincodeProposalPayload(
        input=invocation.SerializeToString(), TransientMap=dict(transient or {})
    )
    proposal = proposal_pb2.Proposal(header=header.SerializeToString(), payload=payload.SerializeToString())
    proposal_bytes = proposal.SerializeToString()
    signed = proposal_pb2.SignedProposal(
        proposal_bytes=proposal_bytes, signature=identity.sign(proposal_bytes)
    )
    return BuiltProposal(signed, tx_id, _timezone_aware(timestamp), chaincode_input)


def _timezone_aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
