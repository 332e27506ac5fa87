"""Per-step deadlines of the Gateway calls."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Timeouts:
    """Seconds each gateway call may take before it fails with DEADLINE_EXCEEDED (None: no deadline).

    Attributes:
        evaluate: Running a query on a peer.
        endorse: Collecting endorsements (the chaincode runs on every endorsing peer).
        submit: Handing the endorsed transaction to the orderer.
        commit_status: Waiting for the transaction to be committed, which includes block cutting.
    """

    evaluate: float | None = 5.0
    endorse: float | None = 15.0
    submit: float | None = 5.0
    commit_status: float | None = 60.0
