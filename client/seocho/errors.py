"""Errors of the coin SDK. Each carries what a script needs to decide: a status and a one-line message.

Exit codes of the `seocho` command line (2 is click's usage error): 1 other failure, 3 bad request,
4 permission denied, 5 not found, 6 conflict, 7 invalidated at commit (resubmit), 8 ledger unreachable,
9 outcome unknown (the transaction reached the orderers; whether it committed is not known yet).
"""

from __future__ import annotations

from seocho.i18n import _


class SeochoError(Exception):
    """Base class: `message` is one line, safe to show to a user; `exit_code` is what the CLI exits with."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class RejectedError(SeochoError):
    """The chaincode refused the transaction (bad input, unknown id, a rule); nothing was written."""

    exit_code = 3

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class BadRequestError(RejectedError):
    exit_code = 3


class PermissionDeniedError(RejectedError):
    exit_code = 4


class NotFoundError(RejectedError):
    exit_code = 5


class ConflictError(RejectedError):
    exit_code = 6


class CommitConflictError(SeochoError):
    """The transaction was ordered but invalidated at commit (e.g. MVCC_READ_CONFLICT); safe to resubmit."""

    exit_code = 7

    def __init__(self, tx_id: str, validation_code: str) -> None:
        super().__init__(
            _("transaction {tx_id} was invalidated at commit ({code}); submit it again").format(
                tx_id=tx_id, code=validation_code
            )
        )
        self.tx_id = tx_id
        self.validation_code = validation_code


class ConnectionFailedError(SeochoError):
    """The ledger could not be reached or opened."""

    exit_code = 8


def rejected(status: int, message: str) -> RejectedError:
    """The SDK error for a chaincode response with `status` >= 400."""
    by_status: dict[int, type[RejectedError]] = {
        400: BadRequestError,
        403: PermissionDeniedError,
        404: NotFoundError,
        409: ConflictError,
    }
    return by_status.get(status, RejectedError)(status, message)


class OutcomeUnknownError(SeochoError):
    """A transaction reached the orderers, but whether it committed is not known (yet)."""

    exit_code = 9

    def __init__(self, tx_id: str, reason: str) -> None:
        super().__init__(
            _(
                "transaction {tx_id}: outcome unknown, {reason}; check it with `seocho tx status {tx_id}` "
                "(submitting again with the same request id is safe)"
            ).format(tx_id=tx_id, reason=reason)
        )
        self.tx_id = tx_id
