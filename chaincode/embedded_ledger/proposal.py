"""Proposals for the ledger's local identities, built by the Gateway client's own builder.

The embedded ledger plays the client when it runs a transaction for a local identity, so it builds the
proposal exactly as `fabric_gateway` does and signs it with the identity's key; the chaincode then sees
the same tx id, timestamp, creator, binding and transient data as on a network.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from fabric_gateway.proposal import build_proposal as build_unsigned_proposal
from fabric_gateway.proposal import transaction_id
from fabric_protos.peer import proposal_pb2

from embedded_ledger.identities import Identity

__all__ = ["BuiltProposal", "build_proposal", "transaction_id"]


@dataclass(frozen=True)
class BuiltProposal:
    signed_proposal: proposal_pb2.SignedProposal
    tx_id: str


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
    proposal, tx_id = build_unsigned_proposal(
        identity.serialized(),
        channel_id,
        chaincode_name,
        function,
        args,
        transient,
        nonce=nonce,
        timestamp=timestamp or datetime.now(UTC),
    )
    proposal_bytes = proposal.SerializeToString()
    signed = proposal_pb2.SignedProposal(
        proposal_bytes=proposal_bytes, signature=identity.sign(proposal_bytes)
    )
    return BuiltProposal(signed, tx_id)
