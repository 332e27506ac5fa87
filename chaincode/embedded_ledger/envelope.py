"""The prepared transaction of an endorsement on the embedded ledger, shaped as Fabric's gateway shapes it.

A client signs the envelope's payload on a network; on the embedded ledger it signs the same structure:
the proposal's header, the proposal payload without transient data, and the endorsed response
(read/write set, event, chaincode response, as a peer builds its ChaincodeAction) with the endorser's
signature. The HTTP service's offline signing and the tests' Gateway double both hand this out.
"""

from __future__ import annotations

from fabric_protos.common import common_pb2
from fabric_protos.peer import chaincode_pb2, proposal_pb2, proposal_response_pb2, transaction_pb2

from embedded_ledger import Identity, UnpackedProposal
from embedded_ledger.ledger import EndorsedTransaction
from embedded_ledger.rwset_proto import tx_read_write_set


def prepared_envelope(
    proposal: UnpackedProposal, endorsed: EndorsedTransaction, endorser: Identity
) -> common_pb2.Envelope:
    """The unsigned envelope of `endorsed`, endorsed (signed) by `endorser`."""
    response = proposal_response_pb2.Response(
        status=endorsed.response.status, message=endorsed.response.message, payload=endorsed.response.payload
    )
    action = proposal_pb2.ChaincodeAction(
        results=tx_read_write_set(endorsed.rwset).SerializeToString(),
        events=endorsed.event.SerializeToString() if endorsed.event is not None else b"",
        response=response,
        chaincode_id=chaincode_pb2.ChaincodeID(name=proposal.chaincode_name),
    )
    response_payload = proposal_response_pb2.ProposalResponsePayload(
        proposal_hash=proposal.proposal_hash, extension=action.SerializeToString()
    ).SerializeToString()
    endorser_bytes = endorser.serialized()
    endorsement = proposal_response_pb2.Endorsement(
        endorser=endorser_bytes, signature=endorser.sign(response_payload + endorser_bytes)
    )
    action_payload = transaction_pb2.ChaincodeActionPayload(
        chaincode_proposal_payload=proposal_pb2.ChaincodeProposalPayload(
            input=proposal.payload.input
        ).SerializeToString(),
        action=transaction_pb2.ChaincodeEndorsedAction(
            proposal_response_payload=response_payload, endorsements=[endorsement]
        ),
    )
    transaction = transaction_pb2.Transaction(
        actions=[
            transaction_pb2.TransactionAction(
                header=proposal.signature_header.SerializeToString(),
                payload=action_payload.SerializeToString(),
            )
        ]
    )
    header = common_pb2.Header.FromString(proposal.header_bytes)
    payload = common_pb2.Payload(header=header, data=transaction.SerializeToString())
    return common_pb2.Envelope(payload=payload.SerializeToString())
