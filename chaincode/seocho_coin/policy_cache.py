"""Decoded policy versions, kept by the contract instance across transactions.

Every transaction reads the policy version in force, and decoding and validating it
(`Policy.from_dict`) used to be a seventh of an earning's work. A stored version is immutable
(`set_policy` only appends), but the cache does not rely on that alone: it is keyed by the channel,
the version number AND the SHA-256 of the bytes the transaction actually read, so whatever the ledger
holds, a transaction always gets exactly the policy its own read returned (one chaincode process may
serve several channels, each with its own version 1). Policy reads still go through the
stub, so they stay in the read set and endorsements stay deterministic.
"""

from __future__ import annotations

import hashlib
import json
import threading

from seocho_coin.policy import Policy

DEFAULT_MAX_ENTRIES = 64
"""Versions kept; a district adds a few a year, so this only bounds memory against surprises."""


class PolicyCache:
    """`Policy` objects by (channel, version, digest of the stored bytes); the oldest entry leaves first."""

    def __init__(self, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        self.max_entries = max_entries
        self._entries: dict[tuple[str, int, str], Policy] = {}
        self._lock = threading.Lock()  # the chaincode server may run transactions on several threads

    def decode(self, version: int, raw: bytes, channel: str = "") -> Policy:
        """The policy stored as `raw` under `version` on `channel`, decoded once per distinct content.

        Raises what `Policy.from_dict` raises for invalid data; failures are not cached.
        """
        key = (channel, version, hashlib.sha256(raw).hexdigest())
        with self._lock:
            found = self._entries.get(key)
        if found is not None:
            return found
        policy = Policy.from_dict(json.loads(raw))
        with self._lock:
            if len(self._entries) >= self.max_entries:
                del self._entries[next(iter(self._entries))]
            self._entries[key] = policy
        return policy

    def remembered(self, version: int, channel: str = "") -> Policy | None:
        """The one content decoded for `version` on `channel` so far, or None (none, or more than one)."""
        with self._lock:
            found = [p for (on, number, _), p in self._entries.items() if (on, number) == (channel, version)]
        return found[0] if len(found) == 1 else None

    def __len__(self) -> int:
        return len(self._entries)
