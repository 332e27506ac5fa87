"""The real `seocho-chaincode` console script as a subprocess, serving mutual TLS on 127.0.0.1."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import grpc
from embedded_ledger.remote import RemoteTLS
from loopback_ports import free_port
from remote_pki import ChaincodePKI

REPO = Path(__file__).resolve().parents[2]
PACKAGE_ID = "seocho_1.0:" + "0f" * 32  # what the peer would compute from the package bytes


def chaincode_script() -> Path:
    for candidate in (
        REPO / ".venv" / "bin" / "seocho-chaincode",
        Path(sys.executable).parent / "seocho-chaincode",
    ):
        if candidate.exists():
            return candidate
    raise FileNotFoundError("seocho-chaincode is not installed (pip install -e '.[dev]')")


def client_tls(pki: ChaincodePKI) -> RemoteTLS:
    return RemoteTLS.from_files(pki.ca_cert_file, pki.client.key_file, pki.client.cert_file)


class ChaincodeProcess:
    """Starts, stops and restarts one chaincode server on a fixed address."""

    def __init__(self, package_id: str, pki: ChaincodePKI, log_file: Path) -> None:
        self.package_id = package_id
        self.address = f"127.0.0.1:{free_port()}"
        self._pki = pki
        self._log_file = log_file
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 15.0) -> None:
        env = {
            **os.environ,
            "CHAINCODE_SERVER_ADDRESS": self.address,
            "CHAINCODE_ID": self.package_id,
            "CHAINCODE_TLS_DISABLED": "false",
            "CHAINCODE_TLS_KEY": str(self._pki.server.key_file),
            "CHAINCODE_TLS_CERT": str(self._pki.server.cert_file),
            "CHAINCODE_CLIENT_CA_CERT": str(self._pki.ca_cert_file),
            "SEOCHO_LOG_LEVEL": "INFO",
        }
        with self._log_file.open("ab") as log:
            self._process = subprocess.Popen(
                [str(chaincode_script())], env=env, stdout=log, stderr=subprocess.STDOUT
            )
        self._wait_until_serving(timeout)

    def terminate(self, timeout: float = 15.0) -> int:
        """SIGTERM and wait for the exit (the server gives open streams a grace period first)."""
        process = self._process
        if process is None:
            return 0
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            return process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            return process.wait()
        finally:
            self._process = None

    def log(self) -> str:
        return self._log_file.read_text(errors="replace")

    def _wait_until_serving(self, timeout: float) -> None:
        """Poll a TLS connection with a fast reconnect backoff until it is up, the deadline passes or
        the process dies; no fixed sleep."""
        assert self._process is not None
        tls = client_tls(self._pki)
        credentials = grpc.ssl_channel_credentials(tls.root_cert, tls.client_key, tls.client_cert)
        options = [
            ("grpc.initial_reconnect_backoff_ms", 50),
            ("grpc.min_reconnect_backoff_ms", 50),
            ("grpc.max_reconnect_backoff_ms", 200),
        ]
        deadline = time.monotonic() + timeout
        with grpc.secure_channel(self.address, credentials, options=options) as channel:
            ready = grpc.channel_ready_future(channel)
            while True:
                if self._process.poll() is not None:
                    raise RuntimeError(f"seocho-chaincode exited early:\n{self.log()}")
                try:
                    ready.result(timeout=min(0.25, max(deadline - time.monotonic(), 0.01)))
                    return
                except grpc.FutureTimeoutError:
                    if time.monotonic() > deadline:
                        ready.cancel()
                        raise TimeoutError(
                            f"seocho-chaincode not serving after {timeout} s:\n{self.log()}"
                        ) from None
