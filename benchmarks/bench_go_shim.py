"""`python -m benchmarks.bench_go_shim`: our shim against Fabric's Go shim, the peer held constant.

Fabric's reference `kvexecutor` (`referencecc`, the official Go shim, from `scripts/build-fabric.sh`) and
ours (`benchmarks.network.pychaincode kvexecutor`, the same ledger work on our shim) each serve
plaintext on 127.0.0.1 in a process of their own; one peer driver (`shim_driver.PeerDriver`) keeps
`--inflight` transactions on each one's stream, answering GET_STATE and PUT_STATE itself. Each
transaction reads one seed key (`--writes 0`: an evaluate, TRANSACTION, GET_STATE, COMPLETED) and writes
`--writes` fresh keys (one PUT_STATE each: READY offers no batching). Rounds alternate the two servers.

Printed per server: tx/s (median of the rounds), its CPU per transaction, and its context switches per
transaction (every thread's, from /proc): the count of thread hand-offs, which a shared machine's load
barely changes, unlike the rates. Then python/go tx/s, the median of the per-round ratios.

This is `benchmarks.network`'s `py_kv_eval_vs_go_kv_eval` without the network, the peer and TLS: what
is left of the gap there is the shims' own cost per message.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

from fabric_protos.peer import chaincode_pb2, chaincode_shim_pb2

from benchmarks.bench_shim import REPOSITORY, process_cpu_seconds
from benchmarks.network.bring_up import reference_cc
from benchmarks.shim_driver import CHANNEL, PeerDriver

Message = chaincode_shim_pb2.ChaincodeMessage
SEED_KEYS = 100


def context_switches(pid: int) -> int:
    """Voluntary and involuntary context switches of every thread of `pid` so far."""
    total = 0
    for status in Path(f"/proc/{pid}/task").glob("*/status"):
        try:
            text = status.read_text()
        except OSError:  # the thread ended meanwhile
            continue
        total += sum(int(line.split()[1]) for line in text.splitlines() if "ctxt_switches" in line)
    return total


class KVDriver(PeerDriver):
    """Drives `readWriteKVs`: one read of a seed key, `writes` fresh keys written."""

    def __init__(self, address: str, writes: int) -> None:
        self.writes = writes
        super().__init__(address)

    def _start(self, number: int, label: str) -> None:
        reads = [{"key": f"seed-{number % SEED_KEYS}"}]
        writes = [{"key": f"{label}-{number}-{i}", "value": "v" * 32} for i in range(self.writes)]
        args = [b"readWriteKVs", *(base64.b64encode(json.dumps(kvs).encode()) for kvs in (reads, writes))]
        payload = chaincode_pb2.ChaincodeInput(args=args).SerializeToString()
        self._outbox.put(
            Message(type=Message.TRANSACTION, payload=payload, txid=f"{label}-{number}", channel_id=CHANNEL)
        )

    def _answer(self, request: chaincode_shim_pb2.ChaincodeMessage) -> None:
        if request.type == Message.GET_STATE:
            payload = b"s" * 32
        elif request.type == Message.PUT_STATE:
            payload = b""
        else:
            raise RuntimeError(f"unexpected {Message.Type.Name(request.type)} from the chaincode")
        self._outbox.put(
            Message(type=Message.RESPONSE, payload=payload, txid=request.txid, channel_id=request.channel_id)
        )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _start_servers(fabric_version: str) -> dict[str, tuple[subprocess.Popen[bytes], int]]:
    referencecc = reference_cc(fabric_version)
    if not referencecc.exists():
        raise SystemExit(f"{referencecc} is missing: run scripts/build-fabric.sh")
    ports = {"go": _free_port(), "python": _free_port()}
    base = {**os.environ, "CHAINCODE_ID": "kv:1"}
    commands = {
        "go": ([str(referencecc), "kvexecutor"], {}),
        "python": (
            [sys.executable, "-m", "benchmarks.network.pychaincode", "kvexecutor"],
            {"CHAINCODE_TLS_DISABLED": "true"},
        ),
    }
    servers = {}
    for name, (command, extra) in commands.items():
        env = base | extra | {"CHAINCODE_SERVER_ADDRESS": f"127.0.0.1:{ports[name]}"}
        child = subprocess.Popen(
            command, cwd=REPOSITORY, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        servers[name] = (child, ports[name])
    return servers


def _connect(port: int, writes: int, child: subprocess.Popen[bytes]) -> KVDriver:
    deadline = time.monotonic() + 15
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            if child.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the chaincode server on port {port} did not start") from None
            time.sleep(0.1)
    return KVDriver(f"127.0.0.1:{port}", writes)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_go_shim", description=__doc__)
    parser.add_argument("--transactions", type=int, default=2000, help="per server per round")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--inflight", type=int, default=64)
    parser.add_argument("--writes", type=int, default=0, help="fresh keys written per transaction")
    parser.add_argument("--fabric", default="3.1.5", help="the build whose referencecc to run")
    args = parser.parse_args()
    servers = _start_servers(args.fabric)
    try:
        drivers = {name: _connect(port, args.writes, child) for name, (child, port) in servers.items()}
        for driver in drivers.values():
            driver.run(300, args.inflight, "warm")
        runs: dict[str, list[tuple[float, float, float]]] = {name: [] for name in servers}
        for round_index in range(args.rounds):
            order = ["go", "python"] if round_index % 2 == 0 else ["python", "go"]
            for name in order:
                pid = servers[name][0].pid
                cpu, switches = process_cpu_seconds(pid) or 0.0, context_switches(pid)
                sample = drivers[name].run(args.transactions, args.inflight, f"r{round_index}")
                cpu_us = ((process_cpu_seconds(pid) or 0.0) - cpu) / args.transactions * 1e6
                per_tx = (context_switches(pid) - switches) / args.transactions
                runs[name].append((sample.rate, cpu_us, per_tx))
        for driver in drivers.values():
            driver.close()
    finally:
        for child, _ in servers.values():
            child.terminate()
            child.wait(10)
    print(
        f"{args.inflight} in flight, {args.transactions} transactions a round, {args.rounds} rounds; "
        f"each reads 1 key and writes {args.writes}"
    )
    for name, values in runs.items():
        rate, cpu_us, per_tx = (statistics.median(v[i] for v in values) for i in range(3))
        print(
            f"  {name:<6} {rate:8.0f} tx/s   CPU {cpu_us:5.0f} us/tx   "
            f"context switches {per_tx:5.1f}/tx   (median of the rounds)"
        )
    ratios = sorted(p[0] / g[0] for p, g in zip(runs["python"], runs["go"], strict=True))
    print(f"  python/go tx/s {statistics.median(ratios):.3f} [{ratios[0]:.3f} .. {ratios[-1]:.3f}]")


if __name__ == "__main__":
    main()
