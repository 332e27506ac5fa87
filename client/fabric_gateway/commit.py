"""Waiting for a submitted transaction's commit: the signed CommitStatus request and its answer."""

from __future__ import annotations

import builtins
from dataclasses import dataclass

import grpc
from fabric_protos.gateway import gateway_pb2
from fabric_protos.peer.transaction_pb2 import TxValidationCode

from fabric_gateway._client import GatewayClient
from fabric_gateway.errors import CommitStatusError, validation_code_name


@dataclass(frozen=True)
class Status:
    """How a transaction was committed.

    Attributes:
        transaction_id: The transaction.
        code: Its `TxValidationCode` value (0 = VALID).
        block_number: The block it was committed in.
    """

    transaction_id: str
    code: int
    block_number: int

    @property
    def successful(self) -> bool:
        """Whether the transaction is valid, i.e. its writes were applied."""
        return self.code == TxValidationCode.VALID

    @property
    def code_name(self) -> str:
        return validation_code_name(self.code)


class Commit:
    """A submitted transaction whose commit status can be asked for (blocking until it commits)."""

    def __init__(self, client: GatewayClient, signed_request: gateway_pb2.SignedCommitStatusRequest):
        self._client = client
        self._signed = signed_request
        self._request = gateway_pb2.CommitStatusRequest.FromString(signed_request.request)

    @classmethod
    def for_transaction(cls, client: GatewayClient, channel_id: str, transaction_id: str) -> Commit:
        request = gateway_pb2.CommitStatusRequest(
            transaction_id=transaction_id, channel_id=channel_id, identity=client.creator()
        )
        return cls(client, gateway_pb2.SignedCommitStatusRequest(request=request.SerializeToString()))

    @property
    def transaction_id(self) -> str:
        return str(self._request.transaction_id)

    def bytes(self) -> builtins.bytes:
        """The serialized signed commit status request (signed or not)."""
        return bytes(self._signed.SerializeToString())

    def digest(self) -> builtins.bytes:
        """What the signer signs: the hash of the serialized `CommitStatusRequest`."""
        return self._client.hash(self._signed.request)

    def status(self, *, timeout: float | None = None) -> Status:
        """Wait until the transaction is committed and say how (valid or which validation failure)."""
        if not self._signed.signature:
            self._signed.signature = self._client.sign(self._signed.request)
        try:
            response = self._client.stub.CommitStatus(
                self._signed, timeout=self._client.timeouts.commit_status if timeout is None else timeout
            )
        except grpc.RpcError as error:
            raise CommitStatusError.from_rpc_error(error, transaction_id=self.transaction_id) from None
        return Status(self.transaction_id, int(response.result), int(response.block_number))


class SubmittedTransaction(Commit):
    """What `Contract.submit_async` returns: the endorsed result now, the commit status on demand."""

    def __init__(
        self, client: GatewayClient, signed_request: gateway_pb2.SignedCommitStatusRequest, result: bytes
    ):
        super().__init__(client, signed_request)
        self.result = result

    @property
    def tx_id(self) -> str:
        return self.transaction_id

    def get_status(self, *, timeout: float | None = None) -> Status:
        """Same as `status()`."""
        return self.status(timeout=timeout)

    @classmethod
    def from_commit(cls, commit: Commit, result: bytes) -> SubmittedTransaction:
        return cls(commit._client, commit._signed, result)
