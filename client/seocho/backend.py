"""Where coin transactions go: the embedded ledger today, a Fabric network through the Gateway next.

A backend takes a transaction name and string arguments, submits or evaluates it as one identity, and
returns the chaincode's payload; a refusal becomes a `RejectedError`, a commit failure a
`CommitConflictError`. The coin API above it is the same whichever backend it runs on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Protocol

from embedded_ledger import EmbeddedLedger, Identity
from embedded_ledger.ledger import CommitError, EndorsementError
from fabric_shim.contract import ContractChaincode
from seocho_coin.contract import SeochoCoinContract

from seocho.errors import CommitConflictError, rejected

CHAINCODE_NAME = "seocho"
Clock = Callable[[], datetime]


class Backend(Protocol):
    """Submits and evaluates coin transactions as one identity."""

    def submit(self, function: str, args: Sequence[str]) -> bytes: ...

    def evaluate(self, function: str, args: Sequence[str]) -> bytes: ...


def open_embedded_ledger(path: str | Path | None, clock: Clock | None = None) -> EmbeddedLedger:
    """Open (or create) an embedded ledger at `path` (None: in memory) with the coin chaincode installed.

    `clock` (default: the wall clock) both stamps the proposals signed here and is the endorsing peer's
    clock the chaincode checks them against, so a story can run on its own dates (`seocho demo`).
    """
    ledger = EmbeddedLedger.open(path, clock=clock)
    contract = SeochoCoinContract() if clock is None else SeochoCoinContract(clock=clock)
    ledger.install(CHAINCODE_NAME, ContractChaincode(contract))
    return ledger


class EmbeddedBackend:
    """Runs the coin chaincode in-process on an `EmbeddedLedger`, signing as `identity`."""

    def __init__(
        self, ledger: EmbeddedLedger, identity: Identity, chaincode_name: str = CHAINCODE_NAME
    ) -> None:
        self.ledger = ledger
        self.identity = identity
        self.chaincode_name = chaincode_name

    def submit(self, function: str, args: Sequence[str]) -> bytes:
        try:
            response = self.ledger.submit(self.identity, self.chaincode_name, function, list(args))
        except EndorsementError as exc:
            raise rejected(exc.response.status, exc.response.message) from None
        except CommitError as exc:
            raise CommitConflictError(exc.tx_id, exc.code_name) from None
        return response.payload

    def evaluate(self, function: str, args: Sequence[str]) -> bytes:
        response = self.ledger.evaluate(self.identity, self.chaincode_name, function, list(args))
        if not response.ok:
            raise rejected(response.status, response.message)
        return response.payload


# The Gateway backend lives in its own module; importing it from here keeps older imports working.
from seocho.gateway_backend import GatewayBackend, connect_gateway  # noqa: E402

__all__ = [
    "CHAINCODE_NAME",
    "Backend",
    "EmbeddedBackend",
    "GatewayBackend",
    "connect_gateway",
    "open_embedded_ledger",
]
