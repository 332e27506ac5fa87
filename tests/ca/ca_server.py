"""A real fabric-ca-server on 127.0.0.1 for tests: started, waited for, stopped."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fabric_ca import CAClient, CAConnectionError
from loopback_ports import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = REPO_ROOT / "scripts" / "build-fabric.sh"
BOOTSTRAP_ID, BOOTSTRAP_SECRET = "admin", "adminpw"
STARTUP_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class RunningCA:
    """A fabric-ca-server started for the test session."""

    url: str
    tls_root_pem: bytes
    home: Path


def _ca_bin_dir() -> Path:
    printed = subprocess.run(
        ["bash", str(BUILD_SCRIPT), "--print-path", "ca"], check=True, capture_output=True, text=True
    )
    return Path(printed.stdout.strip())


def _wait_until_ready(process: subprocess.Popen[bytes], ca: RunningCA, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if ca.home.joinpath("ca-cert.pem").exists():
            try:
                with CAClient(ca.url, ca.home / "ca-cert.pem", timeout=2) as client:
                    client.ca_info()
                return
            except (CAConnectionError, OSError):
                pass
        try:
            # Waiting on the process (not sleeping) also notices a server that exits during startup.
            process.wait(timeout=0.1)
        except subprocess.TimeoutExpired:
            continue
        break
    tail = log.read_text(errors="replace")[-3000:]
    pytest.fail(f"fabric-ca-server did not become ready (exit code {process.returncode}):\n{tail}")


def start_fabric_ca(home: Path) -> Iterator[RunningCA]:
    """Run a fabric-ca-server in `home` until the generator is closed (for fixtures that need their own)."""
    server = _ca_bin_dir() / "fabric-ca-server"
    if not os.access(server, os.X_OK):
        pytest.skip(f"fabric-ca-server is not built at {server}; run scripts/build-fabric.sh --ca-only")
    port, operations_port = free_port(), free_port()
    environment = dict(os.environ)
    # The operations (metrics, health) listener has no command-line flag; its default port 9443 may be taken.
    environment["FABRIC_CA_SERVER_OPERATIONS_LISTENADDRESS"] = f"127.0.0.1:{operations_port}"
    command = [
        str(server), "start",
        "--boot", f"{BOOTSTRAP_ID}:{BOOTSTRAP_SECRET}",
        "--address", "127.0.0.1", "--port", str(port),
        "--tls.enabled", "--csr.hosts", "127.0.0.1,localhost",
        "--home", str(home),
    ]  # fmt: skip
    log = home / "server.log"
    with log.open("wb") as log_stream:
        process = subprocess.Popen(command, stdout=log_stream, stderr=subprocess.STDOUT, env=environment)
    ca = RunningCA(f"https://127.0.0.1:{port}", b"", home)
    try:
        _wait_until_ready(process, ca, log)
        yield RunningCA(ca.url, (home / "ca-cert.pem").read_bytes(), home)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
