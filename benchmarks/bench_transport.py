"""`python -m benchmarks.bench_transport`: the chaincode server's transport, grpcio's sync server against
a `grpc.aio` stream loop (`benchmarks.aio_server`), both serving the same chaincode through the same
`Handler` in a process of their own, driven over 127.0.0.1 by the same peer driver.

Each transaction is TRANSACTION, GET_STATE, PUT_STATE, COMPLETED. Rounds alternate between the two
servers; printed: tx/s (median of the rounds) with 1 and 8 transactions in flight, the ratio aio/sync
of each round, and the servers' CPU per transaction over all rounds.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys

from benchmarks.bench_shim import REPOSITORY, process_cpu_seconds, stop_chaincode_process
from benchmarks.shim_driver import PeerDriver


def _start(aio: bool) -> tuple[subprocess.Popen[str], int]:
    command = [sys.executable, "-m", "benchmarks.shim_server", *(["--aio"] if aio else [])]
    child = subprocess.Popen(
        command, cwd=REPOSITORY, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    return child, int(child.stdout.readline())


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_transport", description=__doc__)
    parser.add_argument("--transactions", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    servers = {name: _start(name == "aio") for name in ("sync", "aio")}
    drivers = {name: PeerDriver(f"127.0.0.1:{port}") for name, (_, port) in servers.items()}
    rates: dict[tuple[str, int], list[float]] = {}
    try:
        for driver in drivers.values():  # warm up
            driver.run(200, 8, "warm")
        cpu_before = {name: process_cpu_seconds(child.pid) or 0.0 for name, (child, _) in servers.items()}
        for round_index in range(args.rounds):
            for in_flight in (1, 8):
                order = ("sync", "aio") if round_index % 2 == 0 else ("aio", "sync")
                for name in order:
                    sample = drivers[name].run(args.transactions, in_flight, f"r{round_index}-{in_flight}")
                    rates.setdefault((name, in_flight), []).append(sample.rate)
        cpu = {
            name: (process_cpu_seconds(child.pid) or 0.0) - cpu_before[name]
            for name, (child, _) in servers.items()
        }
    finally:
        for driver in drivers.values():
            driver.close()
        for child, _ in servers.values():
            stop_chaincode_process(child)
    per_server = 2 * args.transactions * args.rounds
    for in_flight in (1, 8):
        sync, aio = rates[("sync", in_flight)], rates[("aio", in_flight)]
        ratios = sorted(a / s for a, s in zip(aio, sync, strict=True))
        print(
            f"{in_flight} in flight: sync {statistics.median(sync):7.0f} tx/s, "
            f"aio {statistics.median(aio):7.0f} tx/s, "
            f"aio/sync {statistics.median(ratios):.3f} [{ratios[0]:.3f} .. {ratios[-1]:.3f}]"
        )
    for name, seconds in cpu.items():
        print(f"{name}: chaincode server CPU {seconds / per_server * 1e6:.0f} us per transaction")


if __name__ == "__main__":
    main()
