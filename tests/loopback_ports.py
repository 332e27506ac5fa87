"""Free loopback ports for servers a test starts, taken outside Linux's ephemeral port range.

A port the kernel hands out for `bind(0)` comes from the ephemeral range; once the probe socket closes, an
outgoing connection may take it before the server under test binds it ("address already in use": seen in CI
with fabric-ca-server). Ports below the ephemeral range are never chosen for outgoing connections, so a port
found free there stays free unless another test server takes it, which the process-wide set prevents.
"""

from __future__ import annotations

import random
import socket
import threading
from pathlib import Path

# Above a default network's ports (7050-9460), below the test and benchmark networks' (the same plus
# offsets of 30000 and more: TEST_PORT_OFFSETS, bring_up.PORT_OFFSETS) and below the ephemeral range.
PORTS = range(15_000, 20_000)
_EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")

_handed_out: set[int] = set()
_lock = threading.Lock()


def _ephemeral() -> range:
    try:
        low, high = (int(part) for part in _EPHEMERAL_RANGE.read_text().split())
    except (OSError, ValueError):
        return range(32_768, 61_000)  # Linux's default
    return range(low, high + 1)


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A loopback port nothing listens on now, not handed out before in this process."""
    ephemeral = _ephemeral()
    candidates = [port for port in PORTS if port not in ephemeral]
    random.shuffle(candidates)  # two test sessions on one machine rarely try the same ports in turn
    with _lock:
        for port in candidates:
            if port not in _handed_out and _bindable(port):
                _handed_out.add(port)
                return port
    raise RuntimeError(f"no free loopback port in {PORTS.start}-{PORTS.stop - 1} outside the ephemeral range")
