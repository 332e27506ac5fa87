"""Budgets split into lanes, so that concurrent draws on one budget touch different keys.

Why: under Fabric's MVCC validation, two transactions in one block that read and write the same key
cannot both be valid. A staff allowance (or an institution's quota pool) kept on one key therefore
serialised every earning of that staff (and every allocation from that pool): 50 earnings entered at
once by one community-centre operator gave 1 VALID and 49 MVCC_READ_CONFLICT. Delta rows alone (as in
fabric-samples' high-throughput) would lose the overdraft check, which must read what was drawn.

So a budget is kept as `LANES` lane records, each with its own `limit` and `taken` (free = limit -
taken, never negative). A draw names a lane (or lets its request id's hash pick one) and, when that
lane has enough, reads and writes that lane only: draws in different lanes never conflict, and the
overdraft guarantee holds lane by lane, so for the whole budget (Σ taken ≤ Σ limit). When the lane is
short, the draw reads every lane and spreads the budget's free capacity evenly over them again, its
own lane getting what it draws on top; that transaction touches every lane and may conflict with
concurrent draws, but it is correct, and it happens only when a lane runs dry. A client that submits
many draws at once gives each in-flight draw its own lane (0..LANES-1) and sees no conflict at all.

A budget keeps the same totals as the single record it replaces; only where they are stored
changed. A record of the old single-key layout (`legacy`) is folded into lane 0 the first time the
budget's lanes are all read.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from fabric_shim.contract_errors import BadRequest

from seocho_coin.txn import Tx

LANES = 64
"""Lanes per budget: how many draws on one budget can be in flight (in one block) without conflict."""
AUTO = -1
"""The lane argument meaning 'pick by the hash of the request': spreads draws, not collision-free."""

L = TypeVar("L")


def lane_index(lane: int, seed: str) -> int:
    """The lane a draw uses: `lane` itself, or (AUTO) one chosen by the hash of `seed`."""
    if lane == AUTO:
        return int.from_bytes(hashlib.sha256(seed.encode("utf-8")).digest()[:4], "big") % LANES
    if not isinstance(lane, int) or isinstance(lane, bool) or not 0 <= lane < LANES:
        raise BadRequest(f"lane must be between 0 and {LANES - 1}, or {AUTO} to pick one by the request id")
    return lane


def share(total: int, lane: int) -> int:
    """Lane `lane`'s part of `total` spread evenly (the first lanes take the remainder)."""
    return total // LANES + (1 if lane < total % LANES else 0)


@dataclass
class Totals:
    limit: int
    taken: int
    reclaimed: int

    @property
    def free(self) -> int:
        return self.limit - self.taken


class Budget(Generic[L]):
    """One budget's lanes. `L` is a record with int fields `limit_field`, `taken_field`, `reclaimed`."""

    def __init__(
        self,
        tx: Tx,
        cls: type[L],
        key: Callable[[int], str],
        blank: Callable[[int], L],
        *,
        limit_field: str,
        taken_field: str,
        legacy_key: str = "",
        legacy: Callable[[bytes], tuple[int, int, int]] | None = None,
    ) -> None:
        self.tx = tx
        self.cls = cls
        self.key = key
        self.blank = blank
        self.limit_field = limit_field
        self.taken_field = taken_field
        self.legacy_key = legacy_key
        self.legacy = legacy

    # ---- one lane: the conflict-free path ------------------------------------------------------------

    def draw(self, lane: int, amount: int) -> bool:
        """Take `amount` in `lane`; False (nothing written) when the whole budget has less free."""
        record = self.tx.get(self.cls, self.key(lane))
        if record is None and not (self.legacy_key and self.tx.exists(self.legacy_key)):
            record = self.blank(lane)
        if record is not None and self._free(record) >= amount:
            self._add(record, self.taken_field, amount)
            self.tx.put(self.key(lane), record)
            return True
        return self._draw_rebalanced(lane, amount)

    def _draw_rebalanced(self, lane: int, amount: int) -> bool:
        """Take `amount` in `lane` after spreading the budget's free capacity evenly over every lane.

        Re-spreading (rather than draining the fullest lanes into this one) keeps every lane able to
        draw afterwards: draining would leave other lanes empty, and their next draws would have to
        read every lane too (and conflict with the draws in flight). It writes every lane whose limit
        changes, so it conflicts with concurrent draws: that is its price, paid when a lane runs dry.
        """
        lanes = self.load_all()
        free = sum(self._free(r) for r in lanes)
        if free < amount:
            return False
        left = free - amount
        changed = set()
        for i, record in enumerate(lanes):
            wanted = share(left, i) + (amount if i == lane else 0)
            if self._free(record) != wanted:
                self._set(record, self.limit_field, self._get(record, self.taken_field) + wanted)
                changed.add(i)
        self._add(lanes[lane], self.taken_field, amount)
        self._save(lanes, changed | {lane})
        return True

    # ---- every lane: allocation, reclaim, quota changes, views ---------------------------------------

    def load_all(self) -> list[L]:
        """Every lane (blank where never written), with an old single record folded into lane 0."""
        old: tuple[int, int, int] | None = None
        every = [self.key(i) for i in range(LANES)]
        self.tx.prefetch([self.legacy_key, *every] if self.legacy_key and self.legacy is not None else every)
        if self.legacy_key and self.legacy is not None:
            raw = self.tx.raw(self.legacy_key)
            if raw is not None:
                old = self.legacy(raw)
        lanes = []
        for i in range(LANES):
            record = self.tx.get(self.cls, self.key(i))
            if record is None:
                record = self.blank(i)
                if old is not None:  # the old record holds the whole budget: no default shares
                    self._set(record, self.limit_field, 0)
            lanes.append(record)
        if old is not None:
            limit, taken, reclaimed = old
            self._add(lanes[0], self.limit_field, limit)
            self._add(lanes[0], self.taken_field, taken)
            self._add(lanes[0], "reclaimed", reclaimed)
            self.tx.delete(self.legacy_key)
            self._save(lanes, set(range(LANES)))
        return lanes

    def totals(self, lanes: list[L] | None = None) -> Totals:
        lanes = self.load_all() if lanes is None else lanes
        return Totals(
            sum(self._get(r, self.limit_field) for r in lanes),
            sum(self._get(r, self.taken_field) for r in lanes),
            sum(self._get(r, "reclaimed") for r in lanes),
        )

    def grow(self, amount: int) -> Totals:
        """Raise the limit by `amount`, spread over every lane (so that every lane can draw)."""
        lanes = self.load_all()
        for i, record in enumerate(lanes):
            self._add(record, self.limit_field, share(amount, i))
        self._save(lanes, set(range(LANES)))
        return self.totals(lanes)

    def shrink_free(self, amount: int) -> Totals:
        """Lower the limit by `amount` of free capacity and count it reclaimed (caller checked it is free)."""
        lanes = self.load_all()
        left = amount
        for i in sorted(range(LANES), key=lambda i: (-self._free(lanes[i]), i)):
            moved = min(left, self._free(lanes[i]))
            self._add(lanes[i], self.limit_field, -moved)
            left -= moved
        self._add(lanes[0], "reclaimed", amount)
        self._save(lanes, set(range(LANES)))
        return self.totals(lanes)

    def release(self, amount: int) -> Totals:
        """Give back `amount` taken (coins reclaimed from a staff return to the pool) and count it."""
        lanes = self.load_all()
        left = amount
        for i in range(LANES):
            moved = min(left, self._get(lanes[i], self.taken_field))
            self._add(lanes[i], self.taken_field, -moved)
            left -= moved
        self._add(lanes[0], "reclaimed", amount)
        self._save(lanes, set(range(LANES)))
        return self.totals(lanes)

    def set_limit(self, limit: int) -> Totals:
        """Make the limit `limit` (caller checked ≥ taken): each lane keeps its taken, free spread evenly."""
        lanes = self.load_all()
        free = limit - sum(self._get(r, self.taken_field) for r in lanes)
        for i, record in enumerate(lanes):
            self._set(record, self.limit_field, self._get(record, self.taken_field) + share(free, i))
        self._save(lanes, set(range(LANES)))
        return self.totals(lanes)

    # ---- helpers --------------------------------------------------------------------------------------

    def _save(self, lanes: list[L], which: set[int]) -> None:
        for i in sorted(which):
            self.tx.put(self.key(i), lanes[i])

    def _free(self, record: L) -> int:
        return self._get(record, self.limit_field) - self._get(record, self.taken_field)

    @staticmethod
    def _get(record: Any, name: str) -> int:
        return int(getattr(record, name))

    @staticmethod
    def _set(record: Any, name: str, value: int) -> None:
        setattr(record, name, value)

    def _add(self, record: Any, name: str, delta: int) -> None:
        self._set(record, name, self._get(record, name) + delta)
