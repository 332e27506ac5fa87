"""What a chaincode is: something that answers INIT and TRANSACTION with a Response."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from fabric_shim.stub import ChaincodeStub

OK = 200
ERROR_THRESHOLD = 400  # the peer treats status >= 400 as a failed endorsement
BAD_REQUEST = 400
FORBIDDEN = 403
NOT_FOUND = 404
CONFLICT = 409
INTERNAL_ERROR = 500


@dataclass(frozen=True)
class Response:
    """A chaincode's answer to one transaction; mirrors `protos.Response`."""

    status: int
    message: str = ""
    payload: bytes = b""

    @property
    def ok(self) -> bool:
        return self.status < ERROR_THRESHOLD


def success(payload: bytes = b"") -> Response:
    return Response(status=OK, payload=payload)


def error(message: str, status: int = INTERNAL_ERROR) -> Response:
    if status < ERROR_THRESHOLD:
        raise ValueError(f"an error response needs a status >= {ERROR_THRESHOLD}, got {status}")
    return Response(status=status, message=message)


class Chaincode(Protocol):
    """Implemented by a chaincode; called once per INIT or TRANSACTION message."""

    def init(self, stub: ChaincodeStub) -> Response: ...

    def invoke(self, stub: ChaincodeStub) -> Response: ...
