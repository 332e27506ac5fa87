"""Work on another thread whose exception fails the test that started it.

A bare `threading.Thread` only prints its exception as a warning and `join(timeout)` returns whether or not
the thread ended, so a helper thread's failed assertion, or one that never finished, passes unnoticed.
`Background.join()` re-raises the thread's exception and fails when the thread is still running.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from types import TracebackType
from typing import Generic, TypeVar

T = TypeVar("T")


class BackgroundFailed(AssertionError):
    """The background work did not finish in time."""


class Background(Generic[T]):
    """`fn()` on a daemon thread, started at once; `join()` gives its result or raises its exception."""

    def __init__(self, fn: Callable[[], T], *, name: str | None = None) -> None:
        self._fn = fn
        self._result: T | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name or getattr(fn, "__name__", None))
        self._thread.daemon = True
        self._thread.start()

    def _run(self) -> None:
        try:
            self._result = self._fn()
        except BaseException as error:  # re-raised on the test's thread by join()
            self._error = error

    @property
    def done(self) -> bool:
        return not self._thread.is_alive()

    def join(self, timeout: float = 120.0) -> T:
        """Wait for the work; its exception is raised here, and still running after `timeout` is a failure."""
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise BackgroundFailed(f"{self._thread.name} still running after {timeout} s")
        if self._error is not None:
            raise self._error
        return self._result  # type: ignore[return-value]

    def __enter__(self) -> Background[T]:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if kind is None:
            self.join()


def repeat_until(
    done: threading.Event, action: Callable[[int], object], every: float = 0.5
) -> Background[int]:
    """`action(1)`, `action(2)`, ... on another thread, one each `every` seconds until `done` is set.

    For a listener that cannot say when its stream has started (events "from the next commit"): a single
    write right after subscribing may land before the stream starts, so the writer repeats until the
    listener has heard one, waiting on that event rather than a guessed sleep. Its result is the count.
    """

    def repeat() -> int:
        count = 0
        while not done.is_set():
            count += 1
            action(count)
            done.wait(every)
        return count

    return Background(repeat, name="repeat_until")
