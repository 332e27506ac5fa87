"""Errors raised by the Fabric CA client."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CAErrorDetail:
    """One entry of the ``errors`` list in a Fabric CA response.

    Attributes:
        code: Fabric CA's numeric error code (for example 20 for an authentication failure).
        message: The server's human-readable explanation.
    """

    code: int
    message: str

    def __str__(self) -> str:
        return f"[code {self.code}] {self.message}"


class CAError(Exception):
    """The Fabric CA server refused a request or answered with something that is not a success.

    Attributes:
        status: The HTTP status code of the response (0 when the response could not be read as one).
        errors: The error entries the server sent, in order; empty when it sent none.
    """

    def __init__(self, status: int, errors: list[CAErrorDetail] | tuple[CAErrorDetail, ...] = ()) -> None:
        self.status = status
        self.errors: tuple[CAErrorDetail, ...] = tuple(errors)
        detail = "; ".join(str(error) for error in self.errors) or "no error details in the response"
        super().__init__(f"Fabric CA request failed (HTTP {status}): {detail}")

    @property
    def messages(self) -> list[str]:
        """The server's error messages, without their codes."""
        return [error.message for error in self.errors]


class CAConnectionError(ConnectionError):
    """The Fabric CA server could not be reached (refused, unreachable, timed out).

    TLS verification failures are not wrapped: they surface as :class:`ssl.SSLError` so that a
    wrong trust root is never mistaken for a server that is merely down.
    """
