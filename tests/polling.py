"""Waiting in tests for something another process or thread does: one polling loop for every suite."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 60.0, interval: float = 0.1) -> None:
    """Polls `condition` every `interval` seconds until it holds; an AssertionError naming `what` after
    `timeout` seconds (an exception, so it fails the test on a helper thread and under Hypothesis too)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f} s")
        time.sleep(interval)
