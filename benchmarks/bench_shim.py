"""The chaincode shim over real gRPC (127.0.0.1, plaintext) against the same chaincode in-process.

The chaincode server runs in a child process (`shim_server`), as chaincode does in production; the
driver plays the peer from this process.

Every transaction makes one GET_STATE and one PUT_STATE round trip to the peer, so over gRPC it
costs three stream round trips (TRANSACTION/GET/PUT ... COMPLETED) where in-process it costs two
function calls. Ratios:

- `grpc_1_vs_inprocess`: gRPC tx/s with one transaction in flight / in-process tx/s (below 1: the
  price of the transport per transaction).
- `grpc_8_vs_inprocess`: the same with 8 transactions in flight.
- `grpc_8_vs_grpc_1`: what interleaving 8 transactions on one stream buys over strict request/reply.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.shim_driver import CounterChaincode, InProcessPeer, PeerDriver
from benchmarks.timing import Rate, Ratio, Report, Sample, interleaved, paired_ratios

IN_FLIGHT = 8
REPOSITORY = Path(__file__).resolve().parent.parent


def start_chaincode_process() -> tuple[subprocess.Popen[str], int]:
    """Start `benchmarks.shim_server` in a child process; returns it and the port it listens on."""
    child = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.shim_server"],
        cwd=REPOSITORY,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    line = child.stdout.readline()
    if not line.strip().isdigit():
        child.kill()
        raise RuntimeError(f"the chaincode process did not report its port (got {line!r})")
    return child, int(line)


def process_cpu_seconds(pid: int) -> float | None:
    """User+system CPU time of process `pid` from /proc (None where /proc is not available)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def stop_chaincode_process(child: subprocess.Popen[str]) -> None:
    assert child.stdin is not None
    child.stdin.close()  # the server stops when its stdin closes
    try:
        child.wait(timeout=10)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


def run(quick: bool) -> Report:
    transactions, rounds = (300, 7) if quick else (1000, 15)
    chaincode = CounterChaincode()
    child, port = start_chaincode_process()
    driver = PeerDriver(f"127.0.0.1:{port}")
    in_process = InProcessPeer()
    labels = iter(range(1_000_000))

    def grpc_serial() -> Sample:
        return driver.run(transactions, 1, f"s{next(labels)}")

    def grpc_interleaved() -> Sample:
        return driver.run(transactions, IN_FLIGHT, f"i{next(labels)}")

    def direct() -> Sample:
        return in_process.run(chaincode, transactions, f"d{next(labels)}")

    try:
        # Warm up connections, thread pools and imports before anything is timed.
        grpc_serial(), grpc_interleaved(), direct()
        chaincode_cpu_before = process_cpu_seconds(child.pid)
        driver_cpu_before = time.process_time()
        samples = interleaved(
            [
                ("in-process", direct),
                ("grpc, 1 in flight", grpc_serial),
                (f"grpc, {IN_FLIGHT} in flight", grpc_interleaved),
            ],
            rounds,
        )
        chaincode_cpu_after = process_cpu_seconds(child.pid)
        driver_cpu = time.process_time() - driver_cpu_before
    finally:
        driver.close()
        stop_chaincode_process(child)

    report = Report("shim")
    report.rates = [Rate(name, "tx/s", tuple(s)) for name, s in samples.items()]
    many = f"grpc, {IN_FLIGHT} in flight"
    report.ratios = [
        Ratio(
            "grpc_1_vs_inprocess", "grpc, 1 in flight", "in-process",
            paired_ratios(samples, "grpc, 1 in flight", "in-process"),
            "gRPC tx/s (1 in flight) / in-process tx/s",
        ),
        Ratio(
            f"grpc_{IN_FLIGHT}_vs_inprocess", many, "in-process",
            paired_ratios(samples, many, "in-process"),
            f"gRPC tx/s ({IN_FLIGHT} in flight) / in-process tx/s",
        ),
        Ratio(
            f"grpc_{IN_FLIGHT}_vs_grpc_1", many, "grpc, 1 in flight",
            paired_ratios(samples, many, "grpc, 1 in flight"),
            f"gRPC tx/s with {IN_FLIGHT} interleaved / with 1 at a time",
        ),
    ]  # fmt: skip
    grpc_transactions = 2 * transactions * rounds
    if chaincode_cpu_before is not None and chaincode_cpu_after is not None:
        chaincode_cpu = chaincode_cpu_after - chaincode_cpu_before
        report.notes.append(
            f"CPU per gRPC transaction: chaincode process {chaincode_cpu / grpc_transactions * 1e6:.0f} us, "
            f"driver process {driver_cpu / grpc_transactions * 1e6:.0f} us (including its in-process rounds)"
        )
    report.notes.append(
        f"{transactions} transactions per round, {rounds} rounds; each tx = 1 GET_STATE + 1 PUT_STATE"
    )
    return report
