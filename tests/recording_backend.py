"""A coin Backend that records what `Coin` would send instead of sending it, for tests that hold a
command or a route to the transaction it must send."""

from __future__ import annotations

from collections.abc import Sequence


class Recorder:
    """Records each call as (kind, function, arguments) and answers `{}`."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, list[str]]] = []

    def submit(self, function: str, args: Sequence[str]) -> bytes:
        self.calls.append(("submit", function, list(args)))
        return self.answer(function)

    def evaluate(self, function: str, args: Sequence[str]) -> bytes:
        self.calls.append(("evaluate", function, list(args)))
        return self.answer(function)

    def answer(self, function: str) -> bytes:
        return b"{}"
