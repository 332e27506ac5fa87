"""Errors of the Gateway client.

A `GatewayError` is a failed gRPC call to the gateway: it carries the gRPC status code and, when
the gateway attached them, one `ErrorDetail` per peer or orderer that failed. The subclasses say
which step failed and for which transaction. A `CommitError` is different: the call worked, but the
transaction was committed as invalid (its validation code says why).
"""

from __future__ import annotations

from dataclasses import dataclass

import grpc
from fabric_protos.common.common_pb2 import Status
from fabric_protos.gateway import gateway_pb2
from fabric_protos.peer.transaction_pb2 import TxValidationCode

from fabric_gateway._rpc_status import status_details


@dataclass(frozen=True)
class ErrorDetail:
    """What one peer or orderer said when the gateway asked it.

    Attributes:
        address: The node's endpoint.
        msp_id: The node's organisation.
        message: The node's error message.
    """

    address: str
    msp_id: str
    message: str


class GatewayError(Exception):
    """A gRPC call to the gateway failed.

    Attributes:
        code: The gRPC status code.
        details: What each failing peer or orderer reported, when the gateway says.
    """

    def __init__(self, code: grpc.StatusCode, message: str, details: list[ErrorDetail] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = list(details or [])

    def __str__(self) -> str:
        text = f"{self.code.name}: {self.message}"
        for detail in self.details:
            text += f"\n  {detail.address} ({detail.msp_id}): {detail.message}"
        return text

    @classmethod
    def from_rpc_error(cls, error: grpc.RpcError, **extra: str) -> GatewayError:
        """The error for a failed call; `extra` are the subclass's own attributes (e.g. `transaction_id`)."""
        code, message, details = _parse_rpc_error(error)
        return cls(code, message, details, **extra)


class _TransactionGatewayError(GatewayError):
    def __init__(
        self,
        code: grpc.StatusCode,
        message: str,
        details: list[ErrorDetail] | None = None,
        transaction_id: str = "",
    ) -> None:
        super().__init__(code, message, details)
        self.transaction_id = transaction_id


class EvaluateError(_TransactionGatewayError):
    """Evaluating a transaction failed (e.g. the chaincode answered with an error)."""


class EndorseError(_TransactionGatewayError):
    """Endorsing a transaction failed; it was not sent to the orderer."""


class SubmitError(_TransactionGatewayError):
    """Sending an endorsed transaction to the orderer failed; it may or may not be committed."""


class CommitStatusError(_TransactionGatewayError):
    """Asking for a transaction's commit status failed; the transaction may still commit."""


class ChaincodeEventsError(GatewayError):
    """The chaincode events stream failed."""


class BlockEventsError(GatewayError):
    """The block events stream failed: the gRPC call failed, or the peer ended it with a status.

    Attributes:
        deliver_status: The `common.Status` the peer's Deliver service answered with (e.g. 404 for
            an unknown channel, 403 for a refused signature); None when the gRPC call itself failed.
    """

    def __init__(
        self,
        code: grpc.StatusCode,
        message: str,
        details: list[ErrorDetail] | None = None,
        deliver_status: int | None = None,
    ) -> None:
        super().__init__(code, message, details)
        self.deliver_status = deliver_status

    @classmethod
    def from_deliver_status(cls, status: int) -> BlockEventsError:
        """The error for a `DeliverResponse` that carries a failure status instead of a block."""
        name = _deliver_status_name(status)
        code = _GRPC_CODE_OF_DELIVER_STATUS.get(status, grpc.StatusCode.UNKNOWN)
        message = f"the peer ended the block stream with status {name} ({status})"
        return cls(code, message, deliver_status=status)


# The Deliver service answers in HTTP-like `common.Status` values; map them onto gRPC's vocabulary so
# callers can treat every GatewayError alike.
_GRPC_CODE_OF_DELIVER_STATUS: dict[int, grpc.StatusCode] = {
    Status.BAD_REQUEST: grpc.StatusCode.INVALID_ARGUMENT,
    Status.FORBIDDEN: grpc.StatusCode.PERMISSION_DENIED,
    Status.NOT_FOUND: grpc.StatusCode.NOT_FOUND,
    Status.REQUEST_ENTITY_TOO_LARGE: grpc.StatusCode.RESOURCE_EXHAUSTED,
    Status.INTERNAL_SERVER_ERROR: grpc.StatusCode.INTERNAL,
    Status.NOT_IMPLEMENTED: grpc.StatusCode.UNIMPLEMENTED,
    Status.SERVICE_UNAVAILABLE: grpc.StatusCode.UNAVAILABLE,
}


def _deliver_status_name(status: int) -> str:
    try:
        return str(Status.Name(status))
    except ValueError:
        return "UNKNOWN"


class CommitError(Exception):
    """The transaction was committed but invalidated, so its writes did not apply.

    Attributes:
        transaction_id: The transaction.
        code: Its `TxValidationCode` value.
        code_name: The code's name, e.g. ``"MVCC_READ_CONFLICT"``.
    """

    def __init__(self, transaction_id: str, code: int) -> None:
        self.transaction_id = transaction_id
        self.code = code
        self.code_name = validation_code_name(code)
        super().__init__(f"transaction {transaction_id} failed to commit: {self.code_name} ({code})")

    @property
    def tx_id(self) -> str:
        return self.transaction_id


def validation_code_name(code: int) -> str:
    """The enum name of a validation code (``"UNKNOWN(<n>)"`` for values the protos do not know)."""
    try:
        return str(TxValidationCode.Name(code))
    except ValueError:
        return f"UNKNOWN({code})"


def _parse_rpc_error(error: grpc.RpcError) -> tuple[grpc.StatusCode, str, list[ErrorDetail]]:
    # Errors raised by a call are also grpc.Call objects; anything else is reported as UNKNOWN.
    code = error.code() if isinstance(error, grpc.Call) else grpc.StatusCode.UNKNOWN
    message = (error.details() if isinstance(error, grpc.Call) else None) or str(error)
    trailers = error.trailing_metadata() if isinstance(error, grpc.Call) else None
    details = []
    for any_detail in status_details(trailers):
        detail = gateway_pb2.ErrorDetail()
        if any_detail.Unpack(detail):
            details.append(ErrorDetail(detail.address, detail.msp_id, detail.message))
    return code, message, details
