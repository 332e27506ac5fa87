"""The one seam between a chaincode stub and whatever answers it.

A stub never talks gRPC. Every ledger operation it performs is one request/response exchange with
the peer, expressed exactly as the chaincode protocol does: a `ChaincodeMessage` type (GET_STATE,
PUT_STATE, GET_STATE_BY_RANGE, QUERY_STATE_NEXT, ...) and its serialized payload (`GetState`,
`PutState`, `GetStateByRange`, ...). The answer is the payload of the peer's RESPONSE message, or a
`PeerError` when the peer replied ERROR.

Two things implement `PeerCalls`:
- `fabric_shim.handler.Handler`, which sends the message over the peer's gRPC stream and waits for
  the reply matching channel+txid;
- `embedded_ledger`, which answers the same messages in-process from its own state database, so
  chaincode runs unchanged on a peer and on the embedded ledger.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from fabric_shim.batching import PeerFeatures


class PeerError(Exception):
    """The peer answered a chaincode request with ERROR; the message is the peer's text."""


class StreamClosedError(PeerError):
    """The stream to the peer ended while a request was pending."""


class PeerCalls(Protocol):
    """Send one chaincode request for a transaction and return the RESPONSE payload."""

    def call(self, msg_type: int, payload: bytes, channel_id: str, txid: str) -> bytes:
        """Send `msg_type` with `payload` for (channel_id, txid).

        Returns the payload of the peer's RESPONSE. Raises `PeerError` when the peer answered
        ERROR, `StreamClosedError` when the connection ended first.
        """
        ...


@runtime_checkable
class NegotiatedCalls(PeerCalls, Protocol):
    """`PeerCalls` that also say which batched calls they accept (what a peer's READY offers)."""

    features: PeerFeatures
