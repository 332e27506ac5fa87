"""Chaincode-as-a-service: a gRPC server the peer dials for `protos.Chaincode/Connect`.

Each peer connection is one bidirectional stream served by its own `Handler`: a reader thread
feeds the peer's messages to the handler while the RPC's response generator sends what the
handler queues. Several peers (or a peer reconnecting) can be connected at once.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from types import FrameType, TracebackType

import grpc
from fabric_protos.peer import chaincode_shim_pb2, chaincode_shim_pb2_grpc

from fabric_shim.chaincode import Chaincode
from fabric_shim.config import ServerConfig
from fabric_shim.handler import Handler

logger = logging.getLogger(__name__)

DEFAULT_STOP_GRACE_SECONDS = 5.0


class _ChaincodeService(chaincode_shim_pb2_grpc.ChaincodeServicer):
    def __init__(self, chaincode: Chaincode, config: ServerConfig) -> None:
        self._chaincode = chaincode
        self._config = config

    def Connect(
        self,
        request_iterator: Iterator[chaincode_shim_pb2.ChaincodeMessage],
        context: grpc.ServicerContext,
    ) -> Iterator[chaincode_shim_pb2.ChaincodeMessage]:
        logger.info("peer connected from %s", context.peer())
        handler = Handler(
            self._chaincode,
            self._config.chaincode_id,
            max_concurrent_transactions=self._config.max_concurrent_transactions,
        )
        context.add_callback(handler.close)
        reader = threading.Thread(
            target=handler.serve, args=(request_iterator,), name="chaincode-stream-reader", daemon=True
        )
        handler.start()
        reader.start()
        try:
            yield from handler.outbound()
        finally:
            handler.close()
            logger.info("peer stream from %s closed", context.peer())


class ChaincodeServer:
    """Serves `chaincode` to peers. Use `start()`/`stop()` or a `with` block."""

    def __init__(self, chaincode: Chaincode, config: ServerConfig) -> None:
        self.config = config
        self._chaincode = chaincode
        self._server: grpc.Server | None = None
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
        service = _ChaincodeService(self._chaincode, config)
        chaincode_shim_pb2_grpc.add_ChaincodeServicer_to_server(service, server)
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
        self._server, self._port = server, port
        mode = "plaintext" if config.tls is None else ("mutual TLS" if config.tls.mutual else "TLS")
        logger.info(
            "chaincode %s serving on port %d of %s (%s)", config.chaincode_id, port, config.address, mode
        )

    def stop(self, grace: float | None = DEFAULT_STOP_GRACE_SECONDS) -> None:
        """Stop accepting streams; running RPCs get `grace` seconds before they are cancelled."""
        if self._server is None:
            return
        self._server.stop(grace).wait()
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
    """Serve `chaincode` with settings from the environment until SIGTERM or SIGINT."""
    server = ChaincodeServer(chaincode, ServerConfig.from_env(environ))
    stop_requested = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        logger.info("received %s, stopping", signal.Signals(signum).name)
        stop_requested.set()

    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, request_stop)
    server.start()
    try:
        # Waiting on the event in short slices keeps the main thread responsive to signals.
        while not stop_requested.wait(0.5):
            pass
    finally:
        server.stop()
