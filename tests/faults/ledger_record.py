"""What the ledger itself says a load committed: every VALID transaction of the block stream whose
arguments carry a run's request-id prefix, counted per request id (read from the district's peer)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from fabric_network_support import RunningNetwork
from fabric_protos.common import common_pb2
from fabric_protos.peer import chaincode_pb2, proposal_pb2, transaction_pb2
from fabric_protos.peer.transaction_pb2 import TxValidationCode


def _arguments(envelope: Any) -> list[bytes]:
    payload = common_pb2.Payload.FromString(envelope.payload)
    found: list[bytes] = []
    for action in transaction_pb2.Transaction.FromString(payload.data).actions:
        action_payload = transaction_pb2.ChaincodeActionPayload.FromString(action.payload)
        proposal = proposal_pb2.ChaincodeProposalPayload.FromString(action_payload.chaincode_proposal_payload)
        spec = chaincode_pb2.ChaincodeInvocationSpec.FromString(proposal.input)
        found += list(spec.chaincode_spec.input.args)
    return found


def committed_requests(network: RunningNetwork, first_block: int, prefix: str) -> Counter[str]:
    """VALID commits per request id starting with `prefix`, from block `first_block` to the peer's tip."""
    admin = network.network.peer_admin(network.district.peers[0])
    height = admin.height(network.topology.channel)
    counted: Counter[str] = Counter()
    with network.gateway("district-auditor") as gateway:
        channel = gateway.get_network(network.topology.channel)
        with channel.block_events(start_block=first_block, timeout=30) as blocks:
            for block in blocks:
                codes = bytes(block.metadata.metadata[common_pb2.BlockMetadataIndex.TRANSACTIONS_FILTER])
                for index, raw in enumerate(block.data.data):
                    envelope = common_pb2.Envelope.FromString(raw)
                    header = common_pb2.ChannelHeader.FromString(
                        common_pb2.Payload.FromString(envelope.payload).header.channel_header
                    )
                    if header.type != common_pb2.HeaderType.ENDORSER_TRANSACTION:
                        continue
                    if index >= len(codes) or codes[index] != TxValidationCode.VALID:
                        continue
                    for argument in _arguments(envelope):
                        text = argument.decode(errors="replace")
                        if text.startswith(prefix):
                            counted[text] += 1
                if block.header.number + 1 >= height:
                    break
    return counted
