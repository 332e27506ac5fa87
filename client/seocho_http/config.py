"""What an operator sets for `seocho serve`: limits, CORS allow-list, where its state lives."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class ServiceConfig:
    """Settings of one service instance (the defaults suit a district's resident app)."""

    state_dir: Path
    """Terminals (hashed keys) and recorded outcomes live in `state_dir/http.sqlite`."""
    max_body_bytes: int = 64 * 1024
    """A request body above this is refused with 413 before it is read."""
    request_timeout_seconds: float = 90.0
    """Past this a request answers 504 (a submission's outcome is still recorded for a retry)."""
    rate_per_credential: float = 20.0
    """Requests per second allowed to one terminal or one resident certificate (burst: 2 s worth)."""
    rate_per_address: float = 50.0
    """Requests per second allowed from one client address."""
    cors_origins: tuple[str, ...] = field(default_factory=tuple)
    """Origins allowed to call the API from a browser (the app's origin); none by default."""
    pending_seconds: float = 300.0
    """How long a proposal waits for its signatures before it is forgotten."""
