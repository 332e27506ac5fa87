"""Fixtures: the real coin chaincode server (mutual TLS) and an embedded ledger peering with it.

The coin world and its `Clock` come from `tests/coin/coin_network.py`; that folder is put on
`sys.path` as pytest does when it collects the coin tests, so this folder also runs on its own.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from embedded_ledger import EmbeddedLedger
from embedded_ledger.remote import RemoteChaincode

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "coin"))

from chaincode_process import PACKAGE_ID, ChaincodeProcess, client_tls
from coin_network import CHAINCODE, Clock, CoinNetwork, build_world
from remote_pki import ChaincodePKI, make_pki


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> ChaincodePKI:
    directory = tmp_path_factory.mktemp("chaincode-tls")
    directory.chmod(0o700)
    return make_pki(directory)


@pytest.fixture(scope="module")
def chaincode_server(
    pki: ChaincodePKI, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ChaincodeProcess]:
    log_file = tmp_path_factory.mktemp("chaincode-log") / "seocho-chaincode.log"
    server = ChaincodeProcess(PACKAGE_ID, pki, log_file)
    server.start()
    try:
        yield server
    finally:
        server.terminate()


@pytest.fixture
def clock() -> Clock:
    # The chaincode process checks proposal timestamps against its own (real) clock.
    return Clock(datetime.now(UTC))


@pytest.fixture
def remote(chaincode_server: ChaincodeProcess, pki: ChaincodePKI) -> Iterator[RemoteChaincode]:
    with RemoteChaincode(
        chaincode_server.address, PACKAGE_ID, tls=client_tls(pki), dial_timeout=5.0, call_timeout=10.0
    ) as chaincode:
        chaincode.connect()
        yield chaincode


@pytest.fixture
def net(remote: RemoteChaincode, clock: Clock) -> Iterator[CoinNetwork]:
    """The standard coin world of `build_world`, built over the wire."""
    ledger = EmbeddedLedger.open(None, clock=clock.now)
    ledger.install(CHAINCODE, remote)
    try:
        yield build_world(CoinNetwork(ledger, clock))
    finally:
        ledger.close()
