"""Exceptions raised by the shim.

`PeerError` and `StreamClosedError` live in `fabric_shim.calls` (the seam every stub talks through)
and are re-exported here so callers can import every shim error from one module.
"""

from __future__ import annotations

from fabric_shim.calls import PeerError, StreamClosedError

__all__ = [
    "AttributeMismatchError",
    "ConfigError",
    "IdentityError",
    "PeerError",
    "StreamClosedError",
]


class ConfigError(ValueError):
    """A chaincode server setting is missing or invalid; the message names the setting."""


class IdentityError(ValueError):
    """The transaction creator is not a parseable `msp.SerializedIdentity` with an X.509 certificate."""


class AttributeMismatchError(PermissionError):
    """The client's certificate does not carry the required attribute value."""

    def __init__(self, name: str, expected: str, actual: str | None) -> None:
        self.name = name
        self.expected = expected
        self.actual = actual
        detail = "is not present" if actual is None else f"has value {actual!r}"
        super().__init__(f"attribute {name!r} {detail}; {expected!r} required")
