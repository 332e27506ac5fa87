"""Prometheus metrics of a chaincode server: transactions, their duration and ledger calls, streams.

`ShimMetrics` is a `ShimObserver`: pass it to `ChaincodeServer(..., observer=metrics)`. It knows no
chaincode: functions are whatever the proposals' first argument names, capped so that a client
inventing names cannot grow the label set without bound (the excess counts as "other").

| metric                                        | labels           |
|-----------------------------------------------|------------------|
| chaincode_transactions_total                  | function, status |
| chaincode_transaction_duration_seconds        | function         |
| chaincode_ledger_calls_per_transaction        | function         |
| chaincode_ledger_calls_total                  | type             |
| chaincode_streams_opened_total                |                  |
| chaincode_streams_open                        |                  |

`status` is the response's status code ("200", "400", ...) or "error" when the shim answered with
an ERROR message (an Init that failed, a payload it could not parse, a crash before replying).

`serve_metrics` exposes a registry over HTTP(S). From the environment (`metrics_config_from_env`):
CHAINCODE_METRICS_ADDRESS (host:port, unset: no endpoint) and the server's own TLS settings:
CHAINCODE_TLS_CERT/_KEY when TLS is on, and CHAINCODE_CLIENT_CA_CERT, when set, makes the scraper
present a certificate of that CA (the organisation's operations client, not only the peers').
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from wsgiref.simple_server import WSGIServer

from fabric_protos.peer import chaincode_pb2, chaincode_shim_pb2, proposal_response_pb2
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from fabric_shim.errors import ConfigError

Message = chaincode_shim_pb2.ChaincodeMessage
OTHER = "other"
MAX_FUNCTION_NAME = 64
# Ledger calls of one transaction: a payment reads and writes a dozen keys, a report pages through many.
_CALL_BUCKETS = (0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 1024)
_DURATION_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@dataclass
class _Running:
    function: str
    began: float
    ledger_calls: int = 0


class ShimMetrics:
    """Counts what the shim reports into `registry` (a fresh one by default: see `.registry`)."""

    def __init__(self, registry: CollectorRegistry | None = None, max_functions: int = 64) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self._max_functions = max_functions
        self._lock = threading.Lock()
        self._functions: set[str] = set()
        self._running: dict[tuple[str, str], _Running] = {}
        self.transactions = Counter(
            "chaincode_transactions",
            "Transactions run, by function and response status.",
            ["function", "status"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "chaincode_transaction_duration_seconds",
            "Time from receiving a transaction to sending its reply.",
            ["function"],
            buckets=_DURATION_BUCKETS,
            registry=self.registry,
        )
        self.calls_per_transaction = Histogram(
            "chaincode_ledger_calls_per_transaction",
            "Requests (GET_STATE, PUT_STATE, ...) a transaction sent the peer; a v3.1 batch counts once.",
            ["function"],
            buckets=_CALL_BUCKETS,
            registry=self.registry,
        )
        self.ledger_calls = Counter(
            "chaincode_ledger_calls",
            "Requests sent to the peer, by message type.",
            ["type"],
            registry=self.registry,
        )
        self.streams_opened = Counter(
            "chaincode_streams_opened",
            "Peer streams opened (connections and reconnections).",
            registry=self.registry,
        )
        self.streams_open = Gauge("chaincode_streams_open", "Peer streams open now.", registry=self.registry)

    # ---- ShimObserver -----------------------------------------------------------------------------

    def stream_opened(self) -> None:
        self.streams_opened.inc()
        self.streams_open.inc()

    def stream_closed(self) -> None:
        self.streams_open.dec()

    def transaction_started(self, message: chaincode_shim_pb2.ChaincodeMessage) -> None:
        function = self._function_of(message)
        with self._lock:
            self._running[(message.channel_id, message.txid)] = _Running(function, time.perf_counter())

    def ledger_call(self, channel_id: str, txid: str, msg_type: int) -> None:
        with self._lock:
            running = self._running.get((channel_id, txid))
            if running is not None:
                running.ledger_calls += 1
        self.ledger_calls.labels(_type_name(msg_type)).inc()

    def transaction_finished(
        self,
        message: chaincode_shim_pb2.ChaincodeMessage,
        reply: chaincode_shim_pb2.ChaincodeMessage | None,
    ) -> None:
        with self._lock:
            running = self._running.pop((message.channel_id, message.txid), None)
        if running is None:
            return
        self.transactions.labels(running.function, _status_of(reply)).inc()
        self.duration.labels(running.function).observe(time.perf_counter() - running.began)
        self.calls_per_transaction.labels(running.function).observe(running.ledger_calls)

    # ---- labels -----------------------------------------------------------------------------------

    def _function_of(self, message: chaincode_shim_pb2.ChaincodeMessage) -> str:
        if message.type == Message.INIT:
            return "init"
        try:
            args = chaincode_pb2.ChaincodeInput.FromString(message.payload).args
            name = args[0].decode("utf-8") if args else ""
        except (ValueError, UnicodeDecodeError):  # protobuf's DecodeError is a ValueError
            return OTHER
        if not name or len(name) > MAX_FUNCTION_NAME or not name.isprintable():
            return OTHER
        with self._lock:
            if name in self._functions:
                return name
            if len(self._functions) >= self._max_functions:
                return OTHER
            self._functions.add(name)
        return name


def _type_name(msg_type: int) -> str:
    try:
        return str(Message.Type.Name(msg_type))
    except ValueError:
        return OTHER


def _status_of(reply: chaincode_shim_pb2.ChaincodeMessage | None) -> str:
    if reply is None or reply.type != Message.COMPLETED:
        return "error"
    try:
        status = proposal_response_pb2.Response.FromString(reply.payload).status
    except ValueError:
        return "error"
    return str(status) if 100 <= status <= 599 else OTHER


# ---- the endpoint ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class MetricsConfig:
    """Where to serve /metrics; `cert_file`/`key_file` turn on TLS, `client_ca_file` client auth."""

    address: str
    cert_file: str | None = None
    key_file: str | None = None
    client_ca_file: str | None = None

    def __post_init__(self) -> None:
        host, separator, port = self.address.rpartition(":")
        if not separator or not host or not port.isdigit() or int(port) > 65535:
            raise ConfigError(
                f"the metrics address (CHAINCODE_METRICS_ADDRESS) must be host:port, got {self.address!r}"
            )
        if (self.cert_file is None) != (self.key_file is None):
            raise ConfigError("metrics over TLS need both a certificate and a key")
        if self.client_ca_file is not None and self.cert_file is None:
            raise ConfigError("a client CA for the metrics endpoint needs TLS")
        for path in (self.cert_file, self.key_file, self.client_ca_file):
            if path is not None and not Path(path).is_file():
                raise ConfigError(f"cannot read {path!r} for the metrics endpoint")

    @property
    def host(self) -> str:
        return self.address.rpartition(":")[0].strip("[]")

    @property
    def port(self) -> int:
        return int(self.address.rpartition(":")[2])


def metrics_config_from_env(environ: Mapping[str, str] | None = None) -> MetricsConfig | None:
    """The metrics endpoint the environment asks for (None when CHAINCODE_METRICS_ADDRESS is unset)."""
    env = os.environ if environ is None else environ
    address = env.get("CHAINCODE_METRICS_ADDRESS", "").strip()
    if not address:
        return None
    if env.get("CHAINCODE_TLS_DISABLED", "").strip().lower() in {"1", "t", "true", "yes", "on"}:
        return MetricsConfig(address)
    client_ca = env.get("CHAINCODE_CLIENT_CA_CERT", "").strip() or None
    return MetricsConfig(
        address,
        cert_file=env.get("CHAINCODE_TLS_CERT", "").strip() or None,
        key_file=env.get("CHAINCODE_TLS_KEY", "").strip() or None,
        client_ca_file=client_ca,
    )


class MetricsEndpoint:
    """/metrics of `registry` served on a daemon thread; `close()` (or `with`) stops it."""

    def __init__(self, server: WSGIServer, thread: threading.Thread) -> None:
        self._server = server
        self._thread = thread

    @property
    def port(self) -> int:
        return int(self._server.server_port)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def __enter__(self) -> MetricsEndpoint:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def serve_metrics(config: MetricsConfig, registry: CollectorRegistry) -> MetricsEndpoint:
    """Start serving `registry` as `config` says; raises OSError when the address is taken."""
    server, thread = start_http_server(
        config.port,
        addr=config.host,
        registry=registry,
        certfile=config.cert_file,
        keyfile=config.key_file,
        client_cafile=config.client_ca_file,
        client_auth_required=config.client_ca_file is not None,
    )
    return MetricsEndpoint(server, thread)
