"""Chaincode-as-a-service: a gRPC server the peer dials for `protos.Chaincode/Connect`.

Each peer connection is one bidirectional stream served by its own `Handler`: a server thread
feeds the peer's messages to the handler, and whichever thread has a message sends it directly.
Several peers (or a peer reconnecting) can be connected at once.

Stopping is prompt: new streams are refused at once, streams refuse new transactions with an
ERROR (the peer retries elsewhere or after a restart), running transactions get the grace period
to complete, and then the streams end. An idle server stops in milliseconds.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from types import FrameType, TracebackType

import grpc
from fabric_protos.peer import chaincode_shim_pb2

from fabric_shim.chaincode import Chaincode
from fabric_shim.config import ServerConfig
from fabric_shim.handler import Handler, SendFunction
from fabric_shim.metrics import ShimMetrics, metrics_config_from_env, serve_metrics
from fabric_shim.observer import ShimObserver

logger = logging.getLogger(__name__)

DEFAULT_STOP_GRACE_SECONDS = 5.0
Message = chaincode_shim_pb2.ChaincodeMessage
_SERVICE = "protos.Chaincode"


class _ConnectBehavior:
    """`protos.Chaincode/Connect` in gRPC's callback style (`experimental_non_blocking`).

    gRPC then hands us `send_response_callback` instead of pulling responses from a generator on
    its own thread, so a transaction sends its requests directly rather than through a queue and a
    thread switch per message. The call runs on a server pool thread, which reads the stream until
    it ends, so `max_connections` still bounds the streams served at once.
    """

    experimental_non_blocking = True

    def __init__(self, chaincode: Chaincode, config: ServerConfig, observer: ShimObserver | None) -> None:
        self._chaincode = chaincode
        self._config = config
        self._observer = observer
        self._lock = threading.Lock()
        self._handlers: set[Handler] = set()
        self._stopping = False

    def __call__(
        self,
        request_iterator: Iterator[chaincode_shim_pb2.ChaincodeMessage],
        context: grpc.ServicerContext,
        send_response_callback: SendFunction,
    ) -> None:
        peer = context.peer()
        refused = _refused_client(self._config, context)
        if refused:
            logger.warning("refused a client from %s: %s", peer, refused)
            context.abort(grpc.StatusCode.PERMISSION_DENIED, refused)
        handler = Handler(
            self._chaincode,
            self._config.chaincode_id,
            send_response_callback,
            max_concurrent_transactions=self._config.max_concurrent_transactions,
            observer=self._observer,
        )
        with self._lock:
            if self._stopping:
                context.abort(grpc.StatusCode.UNAVAILABLE, "the chaincode server is stopping")
            self._handlers.add(handler)
        logger.info("peer connected from %s", peer)
        context.add_callback(handler.close)
        if self._observer is not None:
            self._observer.stream_opened()
        try:
            handler.start()
            handler.serve(request_iterator)
        finally:
            handler.end_stream()
            if self._observer is not None:
                self._observer.stream_closed()
            with self._lock:
                self._handlers.discard(handler)
            logger.info("peer stream from %s closed", peer)

    def shut_down_streams(self, grace: float) -> None:
        """Refuse new transactions, give running ones up to `grace` seconds, then end every stream."""
        deadline = time.monotonic() + grace
        with self._lock:
            self._stopping = True
            handlers = list(self._handlers)
        for handler in handlers:
            handler.begin_shutdown()
        for handler in handlers:
            if not handler.wait_idle(max(0.0, deadline - time.monotonic())):
                logger.warning("transactions still running after %.1f s; ending the stream anyway", grace)
            handler.end_stream()


def _refused_client(config: ServerConfig, context: grpc.ServicerContext) -> str:
    """Why the stream's client may not connect ('' when it may): its certificate's common name."""
    names = config.tls.client_names if config.tls is not None else frozenset()
    if not names:
        return ""
    found = context.auth_context().get("x509_common_name") or ()
    common_names = [found] if isinstance(found, bytes) else list(found)
    presented = {value.decode("utf-8", "replace") for value in common_names}
    if presented & names:
        return ""
    shown = ", ".join(sorted(presented)) or "none"
    return f"the client certificate's common name ({shown}) is not one this chaincode server accepts"


class ChaincodeServer:
    """Serves `chaincode` to peers. Use `start()`/`stop()` or a `with` block.

    `observer` hears of every stream and transaction (e.g. `ShimMetrics`).
    """

    def __init__(
        self, chaincode: Chaincode, config: ServerConfig, observer: ShimObserver | None = None
    ) -> None:
        self.config = config
        self._observer = observer
        self._chaincode = chaincode
        self._server: grpc.Server | None = None
        self._connect: _ConnectBehavior | None = None
        self._port: int | None = None

    @property
    def port(self) -> int:
        """The bound port (useful when the address asked for port 0)."""
        if self._port is None:
            raise RuntimeError("the server is not started")
        return self._port

    def start(self) -> None:
        if self._server is not None:
            raise RuntimeError("the server is already started")
        config = self.config
        keepalive_ms = int(config.keepalive_time_seconds * 1000)
        options = [
            ("grpc.max_send_message_length", config.max_message_size),
            ("grpc.max_receive_message_length", config.max_message_size),
            ("grpc.keepalive_time_ms", keepalive_ms),
            ("grpc.keepalive_timeout_ms", int(config.keepalive_timeout_seconds * 1000)),
            ("grpc.keepalive_permit_without_calls", 1),
            # The peer pings every minute even when idle; do not answer that with GOAWAY.
            ("grpc.http2.min_recv_ping_interval_without_data_ms", min(keepalive_ms, 10_000)),
            ("grpc.http2.max_ping_strikes", 0),
        ]
        server = grpc.server(
            ThreadPoolExecutor(config.max_connections, thread_name_prefix="chaincode-grpc"),
            options=options,
            maximum_concurrent_rpcs=config.max_connections,
        )
        connect = _ConnectBehavior(self._chaincode, config, self._observer)
        method_handlers = {
            "Connect": grpc.stream_stream_rpc_method_handler(
                connect,
                request_deserializer=Message.FromString,
                response_serializer=Message.SerializeToString,
            )
        }
        server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(_SERVICE, method_handlers),))
        if config.tls is None:
            port = server.add_insecure_port(config.address)
        else:
            credentials = grpc.ssl_server_credentials(
                [(config.tls.key, config.tls.cert)],
                root_certificates=config.tls.client_ca_cert,
                require_client_auth=config.tls.mutual,
            )
            port = server.add_secure_port(config.address, credentials)
        if not port:
            raise OSError(f"cannot listen on {config.address}")
        server.start()
        self._server, self._port, self._connect = server, port, connect
        mode = "plaintext" if config.tls is None else ("mutual TLS" if config.tls.mutual else "TLS")
        logger.info(
            "chaincode %s serving on port %d of %s (%s)", config.chaincode_id, port, config.address, mode
        )

    def stop(self, grace: float | None = DEFAULT_STOP_GRACE_SECONDS) -> None:
        """Stop serving; returns once every stream has ended.

        New streams are refused at once and open streams refuse new transactions with an ERROR.
        Transactions already running get `grace` seconds to complete (None or 0: none), then the
        streams end and anything left is cancelled.
        """
        if self._server is None or self._connect is None:
            return
        stopped = self._server.stop(grace)  # refuses new streams; cancels what remains after grace
        self._connect.shut_down_streams(grace or 0.0)
        stopped.wait()
        logger.info("chaincode server stopped")

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the server stops; False when `timeout` passed first."""
        if self._server is None:
            raise RuntimeError("the server is not started")
        timed_out = self._server.wait_for_termination(timeout)  # grpc returns True on *timeout*
        return not timed_out

    def __enter__(self) -> ChaincodeServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def run(chaincode: Chaincode, environ: Mapping[str, str] | None = None) -> None:
    """Serve `chaincode` with settings from the environment until SIGTERM or SIGINT.

    With CHAINCODE_METRICS_ADDRESS set, also serves Prometheus metrics there (see `fabric_shim.metrics`).
    """
    metrics_config = metrics_config_from_env(environ)
    metrics = ShimMetrics() if metrics_config is not None else None
    server = ChaincodeServer(chaincode, ServerConfig.from_env(environ), observer=metrics)
    stop_requested = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        logger.info("received %s, stopping", signal.Signals(signum).name)
        stop_requested.set()

    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, request_stop)
    server.start()
    endpoint = None
    try:
        if metrics_config is not None and metrics is not None:
            endpoint = serve_metrics(metrics_config, metrics.registry)
            logger.info("metrics served on port %d of %s", endpoint.port, metrics_config.host)
        # Waiting on the event in short slices keeps the main thread responsive to signals.
        while not stop_requested.wait(0.5):
            pass
    finally:
        server.stop()
        if endpoint is not None:
            endpoint.close()
