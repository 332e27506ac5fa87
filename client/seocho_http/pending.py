"""Proposals and endorsed transactions waiting for a resident's signature, forgotten after a while."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from seocho_http.problems import Problem
from seocho_http.upstream import Endorsed, Proposed

MAX_PENDING = 50_000


@dataclass
class Pending:
    creator: bytes
    kind: str  # "query" | "transaction"
    proposed: Proposed
    endorsed: Endorsed | None = None
    created: float = field(default_factory=time.monotonic)
    lock: threading.Lock = field(default_factory=threading.Lock)


class PendingTransactions:
    def __init__(self, ttl_seconds: float) -> None:
        self.ttl = ttl_seconds
        self._items: dict[str, Pending] = {}
        self._lock = threading.Lock()

    def add(self, item: Pending) -> None:
        with self._lock:
            self._add(item)

    def _add(self, item: Pending) -> None:  # with the lock held
        now = time.monotonic()
        if len(self._items) >= MAX_PENDING:
            for tx_id in [k for k, v in self._items.items() if now - v.created > self.ttl]:
                del self._items[tx_id]
        if len(self._items) >= MAX_PENDING:
            raise Problem("rate_limited", "too many transactions wait for signatures", retry_after=5)
        self._items[item.proposed.transaction_id] = item

    def add_or_get(self, item: Pending) -> Pending:
        """`item`, added; or the live one of its transaction id already waiting (a retried request)."""
        with self._lock:
            waiting = self._items.get(item.proposed.transaction_id)
            if waiting is not None and time.monotonic() - waiting.created <= self.ttl:
                return waiting
            self._add(item)
        return item

    def get(self, tx_id: str, kind: str) -> Pending:
        with self._lock:
            item = self._items.get(tx_id)
        if item is None or time.monotonic() - item.created > self.ttl:
            raise Problem("not_found", "no proposal of that id waits for a signature (expired or unknown)")
        if item.kind != kind:
            raise Problem("wrong_step", f"this proposal is a {item.kind}")
        return item

    def drop(self, tx_id: str) -> Any:
        with self._lock:
            return self._items.pop(tx_id, None)
