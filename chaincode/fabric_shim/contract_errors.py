"""Errors a transaction function raises to fail with a client-facing message and status."""

from __future__ import annotations


class ContractError(Exception):
    """Fails the transaction with `status` (4xx) and `message`, which the client sees."""

    status = 400

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status


class BadRequest(ContractError):
    status = 400


class Forbidden(ContractError):
    status = 403


class NotFound(ContractError):
    status = 404


class Conflict(ContractError):
    status = 409
