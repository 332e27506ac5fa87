"""A chaincode request waiting for the peer's reply, as `fabric_shim.handler.Handler.call` tracks it."""

from __future__ import annotations

import threading

from fabric_protos.peer import chaincode_shim_pb2


class PendingCall:
    """A request waiting for its reply, or for its turn to read the stream (see `Handler.call`).

    The caller sleeps on `_wake`, a bare lock (the cheapest thing a thread can block on). It is
    released only by whoever takes the call off `Handler._sleepers` under the handler's lock, so
    every sleep gets exactly one wake-up.
    """

    __slots__ = ("_wake", "reply", "sleeping")

    def __init__(self) -> None:
        self._wake = threading.Lock()
        self._wake.acquire()
        self.reply: chaincode_shim_pb2.ChaincodeMessage | None = None
        self.sleeping = False

    def wake(self) -> None:
        self.sleeping = False
        self._wake.release()

    def sleep(self, timeout: float | None) -> bool:
        return self._wake.acquire(timeout=-1 if timeout is None else timeout)
