"""Fixtures: a chaincode server on 127.0.0.1, peer doubles dialing it, and a test PKI."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
from fabric_shim.chaincode import Chaincode
from fabric_shim.config import ServerConfig, TLSConfig
from fabric_shim.server import ChaincodeServer
from peer_double import CHAINCODE_ID, CHANNEL_OPTIONS, PeerDouble
from shim_pki import Issued, common_name, issue, make_ca


@pytest.fixture
def serve() -> Iterator[Callable[..., ChaincodeServer]]:
    servers: list[ChaincodeServer] = []

    def start(
        chaincode: Chaincode, tls: TLSConfig | None = None, observer: Any = None, **settings: Any
    ) -> ChaincodeServer:
        config = ServerConfig(address="127.0.0.1:0", chaincode_id=CHAINCODE_ID, tls=tls, **settings)
        server = ChaincodeServer(chaincode, config, observer=observer)
        server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop(grace=0)


@pytest.fixture
def connect() -> Iterator[Callable[..., PeerDouble]]:
    channels: list[grpc.Channel] = []

    def dial(server: ChaincodeServer, credentials: grpc.ChannelCredentials | None = None) -> PeerDouble:
        target = f"127.0.0.1:{server.port}"
        if credentials is None:
            channel = grpc.insecure_channel(target, options=CHANNEL_OPTIONS)
        else:
            options = [*CHANNEL_OPTIONS, ("grpc.ssl_target_name_override", "localhost")]
            channel = grpc.secure_channel(target, credentials, options=options)
        channels.append(channel)
        return PeerDouble(channel)

    yield dial
    for channel in channels:
        channel.close()


@dataclass(frozen=True)
class TestPKI:
    ca: Issued
    server: Issued
    client: Issued
    rogue_client: Issued  # issued by a different CA


@pytest.fixture(scope="session")
def pki() -> TestPKI:
    ca = make_ca("Chaincode TLS CA")
    rogue_ca = make_ca("Rogue CA")
    return TestPKI(
        ca=ca,
        server=issue(ca, common_name("chaincode.example"), server=True),
        client=issue(ca, common_name("peer0.example"), client=True),
        rogue_client=issue(rogue_ca, common_name("peer0.example"), client=True),
    )
