"""The service's own state in one SQLite file: terminals (keys stored hashed) and recorded outcomes.

Terminal keys are 32 random bytes, so a SHA-256 of the key is as strong as a slow hash and lets every
request be checked in microseconds; the key itself is shown once, when the terminal is added.
Outcomes are kept by (credential, request id): a retried POST gets the first outcome, never a second
movement of coins; a resident's submission is kept by transaction id, so a replay answers the same.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import sqlite3
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from seocho_http.enrolment import OneTimeSecrets

SCOPES = ("earn", "kiosk", "statement", "report")
KEY_PREFIX = "sct"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS terminals (
    terminal_id TEXT PRIMARY KEY, institution_id TEXT NOT NULL, identity TEXT NOT NULL,
    scopes TEXT NOT NULL, key_sha256 TEXT NOT NULL, created_at TEXT NOT NULL, revoked_at TEXT
);
CREATE TABLE IF NOT EXISTS outcomes (
    scope TEXT NOT NULL, key TEXT NOT NULL, body_sha256 TEXT NOT NULL,
    status INTEGER NOT NULL, document TEXT NOT NULL, PRIMARY KEY (scope, key)
);
"""


@dataclass(frozen=True)
class Terminal:
    terminal_id: str
    institution_id: str
    identity: str
    scopes: tuple[str, ...]
    revoked: bool


@dataclass(frozen=True)
class Recorded:
    body_sha256: str
    status: int
    document: Any


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class ServiceStore:
    """Thread-safe; every write is its own SQLite transaction (WAL, synchronous=FULL)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        path.chmod(0o600)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()
        self.enrolment_secrets = OneTimeSecrets(self._db)

    def close(self) -> None:
        self._db.close()

    # terminals

    def add_terminal(self, terminal_id: str, institution_id: str, identity: str, scopes: list[str]) -> str:
        """Issue a terminal; returns its key (shown once, stored only as a hash)."""
        unknown = sorted(set(scopes) - set(SCOPES))
        if unknown or not scopes:
            raise ValueError(
                f"scopes must be some of {', '.join(SCOPES)}; got {', '.join(unknown) or 'none'}"
            )
        if not terminal_id.replace("-", "").isalnum():
            raise ValueError("a terminal id is letters, digits and dashes")
        key = f"{KEY_PREFIX}_{terminal_id}_{secrets.token_urlsafe(32)}"
        with self._lock:
            try:
                self._db.execute(
                    "INSERT INTO terminals VALUES (?, ?, ?, ?, ?, ?, NULL)",
                    (terminal_id, institution_id, identity, ",".join(sorted(set(scopes))), _sha256(key),
                     datetime.now(UTC).isoformat()),
                )  # fmt: skip
            except sqlite3.IntegrityError:
                raise ValueError(f"terminal {terminal_id!r} exists already") from None
        return key

    def revoke_terminal(self, terminal_id: str) -> bool:
        with self._lock:
            cursor = self._db.execute(
                "UPDATE terminals SET revoked_at = ? WHERE terminal_id = ? AND revoked_at IS NULL",
                (datetime.now(UTC).isoformat(), terminal_id),
            )
        return cursor.rowcount == 1

    def terminals(self) -> list[Terminal]:
        rows = self._db.execute(
            "SELECT terminal_id, institution_id, identity, scopes, revoked_at FROM terminals ORDER BY 1"
        ).fetchall()
        return [Terminal(r[0], r[1], r[2], tuple(r[3].split(",")), r[4] is not None) for r in rows]

    def authenticate(self, key: str) -> Terminal | None:
        """The live terminal whose key this is, or None (also for a revoked one)."""
        parts = key.split("_", 2)
        if len(parts) != 3 or parts[0] != KEY_PREFIX:
            return None
        row = self._db.execute(
            "SELECT terminal_id, institution_id, identity, scopes, key_sha256, revoked_at FROM terminals "
            "WHERE terminal_id = ?",
            (parts[1],),
        ).fetchone()
        if row is None or row[5] is not None or not hmac.compare_digest(row[4], _sha256(key)):
            return None
        return Terminal(row[0], row[1], row[2], tuple(row[3].split(",")), False)

    # outcomes

    def recorded(self, scope: str, key: str) -> Recorded | None:
        row = self._db.execute(
            "SELECT body_sha256, status, document FROM outcomes WHERE scope = ? AND key = ?", (scope, key)
        ).fetchone()
        return None if row is None else Recorded(row[0], row[1], json.loads(row[2]))

    def record(self, scope: str, key: str, body_sha256: str, status: int, document: Any) -> Recorded:
        """Keep the first outcome for (scope, key); returns whichever was recorded first."""
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO outcomes VALUES (?, ?, ?, ?, ?)",
                (scope, key, body_sha256, status, json.dumps(document, sort_keys=True)),
            )
        found = self.recorded(scope, key)
        assert found is not None
        return found
