"""How the ledger runs a chaincode: in this process, or on a chaincode server it dials.

The ledger only needs one operation from an installed chaincode — execute one transaction against a
simulator and return the chaincode's `Response` and event — so both kinds implement the small
`ChaincodeRuntime` protocol: `LocalChaincode` wraps a Python `Chaincode` object, and
`embedded_ledger.remote.RemoteChaincode` speaks the chaincode protocol to a chaincode-as-a-service
server as a peer does.
"""

from __future__ import annotations

import logging
from typing import Protocol, runtime_checkable

from fabric_protos.peer import chaincode_event_pb2, chaincode_pb2, proposal_pb2
from fabric_shim.batching import NO_BATCHING
from fabric_shim.calls import NegotiatedCalls, PeerCalls, PeerError
from fabric_shim.chaincode import INTERNAL_ERROR, Chaincode, Response
from fabric_shim.handler import GENERIC_FAILURE_MESSAGE
from fabric_shim.stub import ChaincodeStub

logger = logging.getLogger(__name__)

ExecutionResult = tuple[Response, chaincode_event_pb2.ChaincodeEvent | None]


@runtime_checkable
class ChaincodeRuntime(Protocol):
    """Executes transactions of one installed chaincode."""

    def execute(
        self,
        simulator: PeerCalls,
        channel_id: str,
        tx_id: str,
        chaincode_input: chaincode_pb2.ChaincodeInput,
        signed_proposal: proposal_pb2.SignedProposal | None,
    ) -> ExecutionResult:
        """Run one transaction; every ledger request of the chaincode goes to `simulator.call`.

        Returns the chaincode's response (status >= 400 when it, or running it, failed) and its
        event, if it set one. Never raises for a chaincode failure.
        """
        ...


class LocalChaincode:
    """A Python `Chaincode` run in-process through the ordinary `ChaincodeStub`."""

    def __init__(self, chaincode: Chaincode) -> None:
        self.chaincode = chaincode

    def execute(
        self,
        simulator: PeerCalls,
        channel_id: str,
        tx_id: str,
        chaincode_input: chaincode_pb2.ChaincodeInput,
        signed_proposal: proposal_pb2.SignedProposal | None,
    ) -> ExecutionResult:
        """Invoke the chaincode as the shim's handler does: an exception becomes a generic 500, and
        the batched writes of a successful response are sent before it counts as complete."""
        features = simulator.features if isinstance(simulator, NegotiatedCalls) else NO_BATCHING
        stub = ChaincodeStub(
            simulator, channel_id, tx_id, chaincode_input, signed_proposal, features=features
        )
        try:
            response = self.chaincode.invoke(stub)
            if not isinstance(response, Response):
                raise TypeError(f"chaincode returned {type(response).__name__}, not a Response")
        except Exception as exc:
            logger.warning("tx %s: chaincode raised %s", tx_id, type(exc).__name__)
            logger.debug("tx %s: chaincode exception", tx_id, exc_info=True)
            return Response(status=INTERNAL_ERROR, message=GENERIC_FAILURE_MESSAGE), None
        if response.ok:
            try:
                stub.finish_writes()
            except PeerError as exc:
                refused = f"the peer refused the transaction's writes: {exc}"
                return Response(status=INTERNAL_ERROR, message=refused), None
        return response, stub.event


def as_runtime(chaincode: Chaincode | ChaincodeRuntime) -> ChaincodeRuntime:
    """`chaincode` itself when it already is a runtime, else it wrapped in `LocalChaincode`."""
    if isinstance(chaincode, ChaincodeRuntime):
        return chaincode
    return LocalChaincode(chaincode)
