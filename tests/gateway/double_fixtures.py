"""The fixtures that start the gateway double, shared by the gateway and interop test folders."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from asset_chaincode import CHAINCODE_NAME, new_chaincode
from embedded_ledger import EmbeddedLedger
from gateway_double import RunningGateway, serve
from tls_pki import TlsMaterial, make_tls_material

CHANNEL = "seocho"


@pytest.fixture(scope="session")
def tls() -> TlsMaterial:
    return make_tls_material()


@pytest.fixture
def ledger() -> Iterator[EmbeddedLedger]:
    with EmbeddedLedger.open(None, channel_id=CHANNEL) as opened:
        opened.install(CHAINCODE_NAME, new_chaincode())
        yield opened


@pytest.fixture
def running(ledger: EmbeddedLedger, tls: TlsMaterial) -> Iterator[RunningGateway]:
    server = serve(ledger, tls)
    yield server
    server.stop()
