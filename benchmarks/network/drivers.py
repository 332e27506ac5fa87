"""Running one case: a load driver process (Node or Python), and the CPU every process spent meanwhile.

CPU comes from /proc/<pid>/stat (utime + stime, clock ticks) sampled when the driver prints
"MEASURING" and again when its measured window ends, for the driver itself and for each node of the
network (peers, orderers, the chaincode servers of the case's chaincode), so CPU per committed
transaction is measured over the same window as the throughput.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.network.bring_up import Client

HERE = Path(__file__).resolve().parent
NODE_DIR = HERE / "node"
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime (fields 14, 15 of stat)


def ensure_node_client() -> None:
    """`npm ci` of the pinned official client, once (the lock file is tests/interop/node's)."""
    if (NODE_DIR / "node_modules" / "@hyperledger" / "fabric-gateway").is_dir():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit("npm is needed for the Node client cases (Node.js 20+)")
    subprocess.run(
        [npm, "ci", "--ignore-scripts", "--omit=optional", "--no-audit", "--no-fund", "--engine-strict"],
        cwd=NODE_DIR, check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip


@dataclass
class RunResult:
    tps: float
    p50_ms: float
    p99_ms: float
    codes: dict[str, int]
    errors: dict[str, int]
    cpu_ms_per_tx: dict[str, float] = field(default_factory=dict)
    error_messages: dict[str, list[str]] = field(default_factory=dict)
    retries: dict[str, int] = field(default_factory=dict)

    @property
    def non_valid(self) -> dict[str, int]:
        found = {k: v for k, v in self.codes.items() if k != "VALID"}
        return found | self.errors


def run_driver(
    client_kind: str,
    client: Client,
    chaincode: str,
    mode: str,
    workload: dict[str, Any],
    settings: dict[str, Any],
    watched: dict[str, list[int]],
    identities: list[Client] | None = None,
) -> RunResult:
    """One timed run; `watched` maps a component (peer, orderer, chaincode) to its process ids."""
    cert, key = client.files()
    request = {
        "address": client.address,
        "tlsRootCertPath": str(client.tls_root),
        "serverName": client.server_name,
        "mspId": client.msp_id,
        "certPath": str(cert),
        "keyPath": str(key),
        "identities": [[c.msp_id, str(c.msp_dir)] for c in (identities or [client])],
        "channel": client.channel,
        "chaincode": chaincode,
        "mode": mode,
        "workload": workload,
        "inflight": settings["inflight"],
        "warmupSeconds": settings["warmup"],
        "seconds": settings["seconds"],
    }
    if client_kind == "node":
        command = ["node", str(NODE_DIR / "load.mjs")]
    else:
        command = [sys.executable, "-m", "benchmarks.network.pyload"]
    process = subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        cwd=HERE.parent.parent,
    )  # fmt: skip
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write(json.dumps(request))
    process.stdin.close()
    pids = watched | {"client": [process.pid]}
    before: dict[str, float] = {}
    after: dict[str, float] = {}

    def sample() -> dict[str, float]:
        return {name: sum(cpu_seconds(p) for p in ids) for name, ids in pids.items()}

    line = process.stdout.readline()
    if line.strip() != "MEASURING":
        process.wait(timeout=30)
        raise RuntimeError(
            f"{client_kind} driver failed: {line}{process.stderr.read() if process.stderr else ''}"
        )
    before = sample()
    timer = threading.Timer(settings["seconds"], lambda: after.update(sample()))
    timer.start()
    profilers = _start_profilers(settings, pids) if settings.get("profile") else []
    output = process.stdout.readline()
    for profiler in profilers:
        profiler.wait(timeout=60)
    stderr = process.stderr.read() if process.stderr else ""
    process.wait(timeout=120)
    timer.join()
    if process.returncode != 0 or not output.strip():
        raise RuntimeError(f"{client_kind} driver failed (exit {process.returncode}): {stderr[-2000:]}")
    result = json.loads(output)
    latencies = sorted(result["latenciesMs"])
    valid = result["codes"].get("VALID", 0)
    seconds = float(result["seconds"])
    cpu = {name: (after.get(name, 0.0) - before[name]) * 1000 / max(valid, 1) for name in before}
    return RunResult(
        tps=valid / seconds,
        p50_ms=_percentile(latencies, 0.50),
        p99_ms=_percentile(latencies, 0.99),
        codes=result["codes"],
        errors=result["errors"],
        cpu_ms_per_tx=cpu,
        error_messages=result.get("errorMessages", {}),
        retries=result.get("retries", {}),
    )


def _start_profilers(settings: dict[str, Any], pids: dict[str, list[int]]) -> list[subprocess.Popen[bytes]]:
    """py-spy (sampling, from PyPI) on the first Python chaincode server and a Python client, for the
    measured window; collapsed stacks go to PROFILE/<case>-<component>.txt (see `profile_report.py`)."""
    started = []
    py_spy = Path(sys.executable).with_name("py-spy")
    for component in ("chaincode", "client"):
        for pid in pids[component][:1]:
            try:
                command_line = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if b"python" not in command_line:
                continue  # Go or Node: not ours to profile
            out = Path(settings["profile"]) / f"{settings['case'].replace(' ', '_')}-{component}.txt"
            out.parent.mkdir(parents=True, exist_ok=True)
            seconds = str(int(settings["seconds"]))
            command = [str(py_spy), "record", "-p", str(pid), "-d", seconds, "-r", "200", "-f", "raw",
                       "-o", str(out), "--nonblocking", "--threads"]  # fmt: skip
            started.append(subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    return started


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    return values[min(len(values) - 1, int(q * len(values)))]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def wait_a_moment() -> None:
    """Let the last blocks of a run commit before the next run starts measuring."""
    time.sleep(1.0)
