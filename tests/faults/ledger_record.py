"""What the ledger itself says a load committed: every VALID transaction of the block stream whose
arguments carry a run's request-id prefix, counted per request id (read from the district's peer); and
that record against what the load's clients were told (`accounting`)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from fabric_network_support import RunningNetwork
from fabric_protos.common import common_pb2
from fabric_protos.peer import chaincode_pb2, proposal_pb2, transaction_pb2
from fabric_protos.peer.transaction_pb2 import TxValidationCode
from load import Outcome


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


def accounting(
    network: RunningNetwork, first_block: int, prefix: str, outcomes: Sequence[Outcome]
) -> tuple[int, int, int]:
    """Lost (told VALID, absent), duplicated (committed twice) and phantom (told not, present): the
    load's `outcomes` against the ledger's block stream from `first_block`."""
    on_ledger = committed_requests(network, first_block, prefix)
    told_valid = {o.request_id for o in outcomes if o.result == "valid"}
    return (
        sum(1 for r in told_valid if on_ledger[r] == 0),
        sum(1 for o in outcomes if on_ledger[o.request_id] > 1),
        sum(1 for o in outcomes if o.result != "valid" and on_ledger[o.request_id] > 0),
    )


@dataclass(frozen=True)
class LoadTally:
    """What the load's clients were told, held against the ledger's block stream (`accounting`)."""

    outcomes: Sequence[Outcome]
    lost: int
    duplicated: int
    phantom: int

    @property
    def valid(self) -> int:
        return sum(1 for o in self.outcomes if o.result == "valid")

    def valid_started_after(self, moment: float) -> int:
        return sum(1 for o in self.outcomes if o.result == "valid" and o.started_at > moment)

    def summary(self) -> str:
        """For the test's printed line: the calls, their outcomes, the commonest refusals and the tally."""
        results = dict(Counter(o.result for o in self.outcomes))
        refusals = dict(Counter(o.detail[:70] for o in self.outcomes if o.result != "valid").most_common(3))
        return (
            f"{len(self.outcomes)} calls, {self.valid} valid, {results}; not valid: {refusals}; "
            f"lost {self.lost}, duplicated {self.duplicated}, phantom {self.phantom}"
        )

    def assert_nothing_lost(self) -> None:
        """Some movement committed, and none was lost, doubled or committed after a refusal."""
        assert self.valid > 0, self.summary()
        assert (self.lost, self.duplicated, self.phantom) == (0, 0, 0), self.summary()


def tally(network: RunningNetwork, first_block: int, prefix: str, outcomes: Sequence[Outcome]) -> LoadTally:
    return LoadTally(outcomes, *accounting(network, first_block, prefix, outcomes))
