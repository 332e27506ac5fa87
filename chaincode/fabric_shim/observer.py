"""What the handler and server tell an observer (metrics, tracing) about streams and transactions.

The shim calls these from its stream and worker threads, so an observer must be thread-safe and quick;
it must not raise (an exception would fail the transaction it was told about).
"""

from __future__ import annotations

from typing import Protocol

from fabric_protos.peer import chaincode_shim_pb2


class ShimObserver(Protocol):
    def stream_opened(self) -> None:
        """A peer opened a stream (a first connection or a reconnection)."""

    def stream_closed(self) -> None:
        """A peer's stream ended."""

    def transaction_started(self, message: chaincode_shim_pb2.ChaincodeMessage) -> None:
        """An INIT or TRANSACTION message is about to run."""

    def ledger_call(self, channel_id: str, txid: str, msg_type: int) -> None:
        """The running transaction (channel_id, txid) sent the peer a request of `msg_type`."""

    def transaction_finished(
        self,
        message: chaincode_shim_pb2.ChaincodeMessage,
        reply: chaincode_shim_pb2.ChaincodeMessage | None,
    ) -> None:
        """The transaction `message` ended with `reply` (None: the shim failed before replying)."""
