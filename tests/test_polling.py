"""The tests' one polling loop: it returns once the condition holds, and fails naming what it awaited."""

from __future__ import annotations

import time

import pytest
from polling import wait_for


def test_it_returns_as_soon_as_the_condition_holds() -> None:
    readings = iter([False, False, True])
    began = time.monotonic()
    wait_for(lambda: next(readings), "the third reading", timeout=5, interval=0.01)
    assert time.monotonic() - began < 1


def test_it_fails_naming_what_it_waited_for_after_the_timeout() -> None:
    began = time.monotonic()
    with pytest.raises(AssertionError, match=r"the leader: not within 0 s"):
        wait_for(lambda: False, "the leader", timeout=0.2, interval=0.05)
    assert time.monotonic() - began >= 0.2
