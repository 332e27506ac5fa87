"""Claiming a port offset for a network on a machine that runs several (test sessions, benchmarks).

Each claimant takes the first offset whose lock file it can lock and whose ports are all free, and holds
the lock until it is done; two claimants never bring up networks on the same ports.
"""

from __future__ import annotations

import contextlib
import fcntl
import socket
from collections.abc import Iterable, Iterator

from .topology import LOOPBACK, load_topology


class NoFreePortOffset(RuntimeError):
    """Every offset offered is locked by another claimant or has a port in use."""


def ports_taken(ports: Iterable[int]) -> list[int]:
    """The ports of `ports` that something on 127.0.0.1 listens on."""
    taken = []
    for port in ports:
        with socket.socket() as probe:
            if probe.connect_ex((LOOPBACK, port)) == 0:
                taken.append(port)
    return taken


@contextlib.contextmanager
def claimed_port_offset(offsets: Iterable[int]) -> Iterator[int]:
    """The first of `offsets` no one else holds and whose topology ports are free, held until exit."""
    tried = list(offsets)
    for offset in tried:
        lock = open(f"/tmp/seocho-test-network-{offset}.lock", "w")  # noqa: SIM115 - held until exit
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            continue
        if ports_taken(load_topology(port_offset=offset).ports()):
            lock.close()
            continue
        try:
            yield offset
        finally:
            lock.close()
        return
    raise NoFreePortOffset(f"every port offset in {tried} is taken by other networks")
