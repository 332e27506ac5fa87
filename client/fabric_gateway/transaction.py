"""An endorsed transaction: the prepared `Envelope` the gateway returned, to sign and submit."""

from __future__ import annotations

import builtins

import grpc
from fabric_protos.common import common_pb2
from fabric_protos.gateway import gateway_pb2
from fabric_protos.peer import proposal_pb2, proposal_response_pb2, transaction_pb2

from fabric_gateway._client import GatewayClient
from fabric_gateway.commit import Commit
from fabric_gateway.errors import SubmitError


class Transaction:
    """An endorsed transaction. `submit()` sends it to the orderer; `result` is the chaincode's answer.

    Its signature covers the envelope's payload; `bytes()`/`digest()` allow signing it offline
    (then `Network.new_signed_transaction`).
    """

    def __init__(self, client: GatewayClient, channel_id: str, prepared: gateway_pb2.PreparedTransaction):
        self._client = client
        self._channel_id = channel_id
        self._prepared = prepared

    @property
    def transaction_id(self) -> str:
        return str(self._prepared.transaction_id)

    @property
    def result(self) -> builtins.bytes:
        """The chaincode's response payload, as endorsed."""
        return chaincode_result(self._prepared.envelope)

    @property
    def signed(self) -> bool:
        return bool(self._prepared.envelope.signature)

    def bytes(self) -> builtins.bytes:
        """The serialized prepared transaction (signed or not)."""
        return bytes(self._prepared.SerializeToString())

    def digest(self) -> builtins.bytes:
        """What the signer signs: the hash of the envelope's payload."""
        return self._client.hash(self._prepared.envelope.payload)

    def submit(self, *, timeout: float | None = None) -> Commit:
        """Send the transaction to the orderer; returns without waiting for the commit."""
        if not self.signed:
            self._prepared.envelope.signature = self._client.sign(self._prepared.envelope.payload)
        request = gateway_pb2.SubmitRequest(
            transaction_id=self.transaction_id,
            channel_id=self._channel_id,
            prepared_transaction=self._prepared.envelope,
        )
        try:
            self._client.stub.Submit(
                request, timeout=self._client.timeouts.submit if timeout is None else timeout
            )
        except grpc.RpcError as error:
            raise SubmitError.from_rpc_error(error, transaction_id=self.transaction_id) from None
        return Commit.for_transaction(self._client, self._channel_id, self.transaction_id)


def chaincode_result(envelope: common_pb2.Envelope) -> bytes:
    """The chaincode response payload inside an endorsed transaction envelope."""
    payload = common_pb2.Payload.FromString(envelope.payload)
    transaction = transaction_pb2.Transaction.FromString(payload.data)
    for action in transaction.actions:
        action_payload = transaction_pb2.ChaincodeActionPayload.FromString(action.payload)
        response_payload = proposal_response_pb2.ProposalResponsePayload.FromString(
            action_payload.action.proposal_response_payload
        )
        chaincode_action = proposal_pb2.ChaincodeAction.FromString(response_payload.extension)
        return bytes(chaincode_action.response.payload)
    raise ValueError("the transaction envelope holds no chaincode action")
