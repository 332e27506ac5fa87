"""`RemoteChaincode`: the ledger acting as a peer for a chaincode-as-a-service server.

A Fabric peer dials the chaincode server named in the package's `connection.json`, opens
`protos.Chaincode/Connect`, accepts the chaincode's REGISTER, answers REGISTERED and READY, then
sends it transactions and answers its ledger requests. `RemoteChaincode` does the same, answering
the requests from the embedded ledger's simulator, so a chaincode server can be tested (or used)
exactly as it will run on a network:

    remote = RemoteChaincode("127.0.0.1:9999", "seocho_1.0:abc...", tls=RemoteTLS.from_files(...))
    ledger.install("seocho", remote)

The connection is opened on first use (or with `connect()`); when it is lost, the transactions
waiting on it fail and the next transaction dials again. Failures to run a transaction — no
server, a lost stream, a timeout — are answered like a peer's endorsement failures: a response
with status 500 and a message saying what happened.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import grpc
from fabric_protos.peer import chaincode_pb2, proposal_pb2
from fabric_shim.batching import FABRIC_3_1_DEFAULTS, PeerFeatures
from fabric_shim.calls import PeerCalls
from fabric_shim.chaincode import INTERNAL_ERROR, Response
from fabric_shim.config import MAX_MESSAGE_SIZE

from embedded_ledger.remote_stream import HandshakeError, PeerStream
from embedded_ledger.runtime import ExecutionResult

DEFAULT_DIAL_TIMEOUT = 3.0  # what Fabric's external builder uses when connection.json sets none
DEFAULT_CALL_TIMEOUT = 30.0  # Fabric's chaincode.executetimeout default


class ChaincodeConnectionError(ConnectionError):
    """The chaincode server could not be reached, or did not register as expected."""


@dataclass(frozen=True)
class RemoteTLS:
    """TLS to the chaincode server, as `connection.json` describes it.

    `root_cert` (PEM) is the CA the server's certificate must chain to. `client_key` and
    `client_cert` (PEM) are presented when the server requires mutual TLS. `server_name`
    overrides the name checked against the server's certificate (default: the address's host).
    """

    root_cert: bytes
    client_key: bytes | None = None
    client_cert: bytes | None = None
    server_name: str | None = None

    def __post_init__(self) -> None:
        if (self.client_key is None) != (self.client_cert is None):
            raise ValueError("client_key and client_cert must be given together")

    @classmethod
    def from_files(
        cls,
        root_cert_file: str | os.PathLike[str],
        client_key_file: str | os.PathLike[str] | None = None,
        client_cert_file: str | os.PathLike[str] | None = None,
        server_name: str | None = None,
    ) -> RemoteTLS:
        return cls(
            root_cert=Path(root_cert_file).read_bytes(),
            client_key=Path(client_key_file).read_bytes() if client_key_file else None,
            client_cert=Path(client_cert_file).read_bytes() if client_cert_file else None,
            server_name=server_name,
        )

    def __repr__(self) -> str:  # never show key material
        mutual = self.client_key is not None
        return f"RemoteTLS(mutual={mutual}, server_name={self.server_name!r})"


class RemoteChaincode:
    """A chaincode served by a chaincode server at `address`, registered as `chaincode_id`.

    Implements `embedded_ledger.runtime.ChaincodeRuntime`, so `EmbeddedLedger.install` accepts it.
    `chaincode_id` is the package ID the server must register with (its `CHAINCODE_ID`).
    `dial_timeout` bounds connecting plus the registration handshake; `call_timeout` bounds one
    transaction. `keepalive_interval` sends KEEPALIVE messages as a peer's `chaincode.keepalive`
    does (None: never). `features` are the batched calls offered in READY (v3.1's by default).
    Thread-safe: concurrent transactions share one stream.
    """

    def __init__(
        self,
        address: str,
        chaincode_id: str,
        *,
        tls: RemoteTLS | None = None,
        dial_timeout: float = DEFAULT_DIAL_TIMEOUT,
        call_timeout: float = DEFAULT_CALL_TIMEOUT,
        keepalive_interval: float | None = None,
        max_message_size: int = MAX_MESSAGE_SIZE,
        request_workers: int = 16,
        features: PeerFeatures = FABRIC_3_1_DEFAULTS,
    ) -> None:
        if not chaincode_id:
            raise ValueError("the chaincode ID (package ID) must not be empty")
        if dial_timeout <= 0 or call_timeout <= 0:
            raise ValueError("dial_timeout and call_timeout must be positive")
        self.address = address
        self.chaincode_id = chaincode_id
        self.tls = tls
        self.dial_timeout = dial_timeout
        self.call_timeout = call_timeout
        self.keepalive_interval = keepalive_interval
        self._max_message_size = max_message_size
        self._request_workers = request_workers
        self.features = features
        self._lock = threading.Lock()
        self._channel: grpc.Channel | None = None
        self._stream: PeerStream | None = None
        self._closed = False

    def __repr__(self) -> str:
        return f"RemoteChaincode({self.address!r}, {self.chaincode_id!r}, tls={self.tls!r})"

    @classmethod
    def from_connection_info(
        cls, info: Mapping[str, Any], chaincode_id: str, **options: Any
    ) -> RemoteChaincode:
        """Build from a ccaas package's `connection.json` (already parsed), as Fabric reads it.

        Fields: `address`, `dial_timeout` (Go duration string such as "10s", or nanoseconds),
        `tls_required`, `client_auth_required`, `root_cert`, `client_key`, `client_cert` (PEM
        text) and `domain` (the server name to verify under mutual TLS). `options` are passed on.
        """
        address = str(info.get("address") or "")
        if not address:
            raise ValueError("connection.json gives no chaincode address")
        tls: RemoteTLS | None = None
        if info.get("tls_required"):
            if not info.get("root_cert"):
                raise ValueError("connection.json requires TLS but gives no root_cert")
            mutual = bool(info.get("client_auth_required"))
            if mutual and not (info.get("client_key") and info.get("client_cert")):
                raise ValueError("connection.json requires client auth but lacks client_key or client_cert")
            tls = RemoteTLS(
                root_cert=str(info["root_cert"]).encode(),
                client_key=str(info["client_key"]).encode() if mutual else None,
                client_cert=str(info["client_cert"]).encode() if mutual else None,
                server_name=(str(info.get("domain") or "") or None) if mutual else None,
            )
        dial_timeout = go_duration_seconds(info.get("dial_timeout") or 0) or DEFAULT_DIAL_TIMEOUT
        options.setdefault("dial_timeout", dial_timeout)
        return cls(address, chaincode_id, tls=tls, **options)

    @property
    def connected(self) -> bool:
        """Whether a registered stream is open right now."""
        stream = self._stream
        return stream is not None and not stream.closed

    def connect(self) -> None:
        """Dial and complete the handshake now unless connected; raises `ChaincodeConnectionError`."""
        self._ready_stream()

    def execute(
        self,
        simulator: PeerCalls,
        channel_id: str,
        tx_id: str,
        chaincode_input: chaincode_pb2.ChaincodeInput,
        signed_proposal: proposal_pb2.SignedProposal | None,
    ) -> ExecutionResult:
        """Run one transaction on the server, answering its requests from `simulator`."""
        try:
            stream = self._ready_stream()
        except ChaincodeConnectionError as exc:
            return Response(status=INTERNAL_ERROR, message=str(exc)), None
        return stream.execute(simulator, channel_id, tx_id, chaincode_input, signed_proposal)

    def close(self) -> None:
        """Close the stream (pending transactions fail) and the channel; later calls fail."""
        with self._lock:
            self._closed = True
            self._drop_connection("the remote chaincode was closed")

    def __enter__(self) -> RemoteChaincode:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # ---- internals --------------------------------------------------------------------------------

    @property
    def _label(self) -> str:
        return f"chaincode {self.chaincode_id} at {self.address}"

    @property
    def _mode(self) -> str:
        if self.tls is None:
            return "plaintext"
        return "mutual TLS" if self.tls.client_cert is not None else "TLS"

    def _context(self, text: str) -> str:
        return f"{self._label}: {text}"

    def _ready_stream(self) -> PeerStream:
        with self._lock:
            if self._closed:
                raise ChaincodeConnectionError(self._context("the remote chaincode is closed"))
            stream = self._stream
            if stream is not None and not stream.closed:
                return stream
            # A lost stream means a lost server more often than not: start over with a new channel.
            self._drop_connection("reconnecting")
            channel = self._open_channel()
            stream = PeerStream(
                channel,
                self.chaincode_id,
                label=self._label,
                call_timeout=self.call_timeout,
                keepalive_interval=self.keepalive_interval,
                request_workers=self._request_workers,
                ready_payload=self.features.ready_payload(),
            )
            try:
                stream.open(self.dial_timeout)
            except HandshakeError as exc:
                channel.close()
                raise ChaincodeConnectionError(
                    self._context(f"cannot connect ({self._mode}): {exc}")
                ) from None
            self._channel, self._stream = channel, stream
            return stream

    def _drop_connection(self, reason: str) -> None:
        if self._stream is not None:
            self._stream.close(reason)
            self._stream = None
        if self._channel is not None:
            self._channel.close()
            self._channel = None

    def _open_channel(self) -> grpc.Channel:
        options: list[tuple[str, int | str]] = [
            ("grpc.max_send_message_length", self._max_message_size),
            ("grpc.max_receive_message_length", self._max_message_size),
            # Fail a dial at once rather than retrying in the background; the next transaction redials.
            ("grpc.enable_retries", 0),
        ]
        if self.tls is None:
            return grpc.insecure_channel(self.address, options=options)
        credentials = grpc.ssl_channel_credentials(
            root_certificates=self.tls.root_cert,
            private_key=self.tls.client_key,
            certificate_chain=self.tls.client_cert,
        )
        if self.tls.server_name:
            options.append(("grpc.ssl_target_name_override", self.tls.server_name))
        return grpc.secure_channel(self.address, credentials, options=options)


_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def go_duration_seconds(value: str | float) -> float:
    """Seconds in a Go duration as connection.json holds it: "1m30s", "500ms", or a number of ns."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value) / 1e9
    text = str(value).strip()
    if text in ("0", ""):
        return 0.0
    sign = -1.0 if text.startswith("-") else 1.0
    body = text.lstrip("+-")
    parts = _DURATION_PART.findall(body)
    if not parts or "".join(number + unit for number, unit in parts) != body:
        raise ValueError(f"invalid duration {value!r}")
    return sign * sum(float(number) * _UNIT_SECONDS[unit] for number, unit in parts)
