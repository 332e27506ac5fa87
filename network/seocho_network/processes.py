"""Node processes: started detached with their output in a log file, tracked by PID file, stopped by PID.

A PID file records the PID and the process's start time (from /proc), so a PID that the system has since
given to another program is never signalled.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


class ProcessError(RuntimeError):
    """A node would not start, or would not stop."""


@dataclass(frozen=True)
class ProcessSpec:
    """How to run one node."""

    node_id: str
    command: Sequence[str]
    environment: Mapping[str, str]
    working_directory: Path
    log_file: Path
    pid_file: Path


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot, or None when no live process has that PID."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    state, start_time = _state_and_start(stat)
    # A process whose main thread has exited shows as a zombie while its other threads still run (and
    # hold its sockets): it is gone only when every thread is.
    if state in ("Z", "X") and not _any_thread_alive(pid):
        _reap(pid)
        return None
    return start_time


def _state_and_start(stat: str) -> tuple[str, str]:
    # The command name (field 2) may contain spaces and parentheses; the fields after it are plain.
    fields = stat[stat.rindex(")") + 2 :].split()
    return fields[0], fields[19]


def _any_thread_alive(pid: int) -> bool:
    try:
        threads = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return False
    for thread in threads:
        try:
            state, _ = _state_and_start((thread / "stat").read_text())
        except (OSError, ValueError):
            continue
        if state not in ("Z", "X"):
            return True
    return False


def _reap(pid: int) -> None:
    # Only our own children can be reaped; for any other process this is a harmless ECHILD.
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def running_pid(pid_file: Path) -> int | None:
    """The PID recorded in `pid_file` when that very process still runs, else None."""
    try:
        pid_text, start_time = pid_file.read_text().split()
        pid = int(pid_text)
    except (OSError, ValueError):
        return None
    return pid if _start_time(pid) == start_time else None


def start(spec: ProcessSpec) -> int:
    """Starts the node unless it already runs; returns its PID."""
    pid = running_pid(spec.pid_file)
    if pid is not None:
        return pid
    spec.log_file.parent.mkdir(parents=True, exist_ok=True)
    spec.pid_file.parent.mkdir(parents=True, exist_ok=True)
    with spec.log_file.open("ab") as log:
        log.write(f"--- {time.strftime('%Y-%m-%dT%H:%M:%S%z')} starting {spec.node_id}\n".encode())
        log.flush()
        try:
            process = subprocess.Popen(
                list(spec.command),
                cwd=spec.working_directory,
                env=dict(spec.environment),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                # Its own session: the node outlives the command that started it and its terminal.
                start_new_session=True,
            )
        except OSError as exc:
            raise ProcessError(f"cannot start {spec.node_id}: {exc}") from None
    start_time = _start_time(process.pid)
    if start_time is None:
        raise ProcessError(f"{spec.node_id} exited at once; see {spec.log_file}")
    temporary = spec.pid_file.with_suffix(".tmp")
    temporary.write_text(f"{process.pid} {start_time}\n")
    temporary.replace(spec.pid_file)
    return process.pid


def signal_node(pid_file: Path, signum: int) -> bool:
    """Sends `signum` to the node's process group; False when it was not running."""
    pid = running_pid(pid_file)
    if pid is None:
        return False
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signum)
    return True


def stop(pid_file: Path, timeout: float = 20.0) -> bool:
    """Stops the node (SIGTERM, then SIGKILL after `timeout`); False when it was not running."""
    pid = running_pid(pid_file)
    if pid is None:
        pid_file.unlink(missing_ok=True)
        return False
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while running_pid(pid_file) is not None:
        if time.monotonic() > deadline:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
            deadline = time.monotonic() + 5
            if running_pid(pid_file) is None:
                break
        time.sleep(0.05)
    pid_file.unlink(missing_ok=True)
    return True


def tail(log_file: Path, lines: int = 40) -> str:
    """The last `lines` lines of a log, for error messages."""
    try:
        text = log_file.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])
