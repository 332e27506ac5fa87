"""The background helper (tests/background.py): a helper thread's failure fails the test."""

from __future__ import annotations

import threading

import pytest
from background import Background, BackgroundFailed


def test_the_result_comes_back() -> None:
    assert Background(lambda: 6 * 7).join() == 42


def test_an_exception_in_the_thread_is_raised_by_join() -> None:
    def fails() -> None:
        raise ValueError("inside the helper")

    work = Background(fails)
    with pytest.raises(ValueError, match="inside the helper"):
        work.join()


def test_an_assertion_in_the_thread_fails_the_with_block() -> None:
    def asserts() -> None:
        assert 1 == 2, "the helper's check"

    with pytest.raises(AssertionError, match="the helper's check"), Background(asserts):
        pass


def test_a_thread_still_running_is_a_failure() -> None:
    release = threading.Event()
    work = Background(lambda: release.wait(30), name="stuck")
    with pytest.raises(BackgroundFailed, match="stuck still running"):
        work.join(timeout=0.05)
    release.set()
    assert work.join() is True
