"""Connecting to a Fabric Gateway peer."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

import grpc
from fabric_protos.gateway import gateway_pb2_grpc
from fabric_protos.peer import events_pb2_grpc

from fabric_gateway._client import GatewayClient
from fabric_gateway.identity import X509Identity
from fabric_gateway.network import Network
from fabric_gateway.signing import Hash, Signer, sha256
from fabric_gateway.timeouts import Timeouts

# Fabric's peers accept messages up to 100 MiB; gRPC's 4 MiB default is too small for big blocks.
MAX_MESSAGE_BYTES = 100 * 1024 * 1024

PemSource = bytes | str | os.PathLike[str]


class Gateway:
    """A connection to a peer's Gateway service on behalf of one identity. Use `connect`."""

    def __init__(
        self,
        channel: grpc.Channel,
        identity: X509Identity,
        signer: Signer | None = None,
        *,
        hash: Hash = sha256,
        timeouts: Timeouts | None = None,
        owns_channel: bool = False,
    ) -> None:
        self._channel = channel
        self._owns_channel = owns_channel
        self._client = GatewayClient(
            gateway_pb2_grpc.GatewayStub(channel),
            identity,
            signer,
            hash,
            timeouts or Timeouts(),
            deliver=events_pb2_grpc.DeliverStub(channel),
        )

    @property
    def identity(self) -> X509Identity:
        return self._client.identity

    @property
    def timeouts(self) -> Timeouts:
        return self._client.timeouts

    def get_network(self, channel_id: str) -> Network:
        """The channel `channel_id`."""
        return Network(self._client, channel_id)

    def close(self) -> None:
        """Close the gRPC connection if `connect` opened it (a channel passed in stays open)."""
        if self._owns_channel:
            self._channel.close()

    def __enter__(self) -> Gateway:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def connect(
    target: str,
    identity: X509Identity,
    signer: Signer | None = None,
    *,
    tls_root_certs: PemSource | None = None,
    client_cert: PemSource | None = None,
    client_key: PemSource | None = None,
    server_name_override: str | None = None,
    insecure: bool = False,
    hash: Hash = sha256,
    timeouts: Timeouts | None = None,
    channel_options: Sequence[tuple[str, str | int]] = (),
) -> Gateway:
    """Connect to the Gateway of the peer at `target` (``host:port``).

    Args:
        target: The peer's address.
        identity: Who the client is.
        signer: Signs digests for `identity`; None means every request is signed offline.
        tls_root_certs: The CA certificate(s) the peer's TLS certificate chains to (PEM, or a path);
            None trusts the system's roots.
        client_cert, client_key: The client's TLS certificate and key, for peers that require mutual TLS.
        server_name_override: The name to check the peer's certificate against, when it differs from
            the host in `target` (e.g. ``peer0.org1.example.com`` reached through 127.0.0.1).
        insecure: Connect without TLS (only for test peers with TLS disabled).
        hash: The digest signers sign (`signing.sha256`, `signing.sha384` or `signing.none`).
        timeouts: Per-step deadlines.
        channel_options: Extra gRPC channel options.
    """
    options: list[tuple[str, str | int]] = [
        ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
        ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
        *channel_options,
    ]
    if server_name_override:
        options.append(("grpc.ssl_target_name_override", server_name_override))
    if insecure:
        channel = grpc.insecure_channel(target, options=options)
    else:
        if (client_cert is None) != (client_key is None):
            raise ValueError("mutual TLS needs both client_cert and client_key")
        credentials = grpc.ssl_channel_credentials(
            root_certificates=_pem(tls_root_certs),
            private_key=_pem(client_key),
            certificate_chain=_pem(client_cert),
        )
        channel = grpc.secure_channel(target, credentials, options=options)
    return Gateway(channel, identity, signer, hash=hash, timeouts=timeouts, owns_channel=True)


def _pem(source: PemSource | None) -> bytes | None:
    if source is None:
        return None
    if isinstance(source, bytes):
        return source
    if isinstance(source, str) and source.lstrip().startswith("-----BEGIN"):
        return source.encode()
    return Path(source).read_bytes()
