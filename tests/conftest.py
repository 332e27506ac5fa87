"""Fixtures shared by every suite: the session's one real Fabric network."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fabric_network_support import (
    NetworkClient,
    RunningNetwork,
    deploy_test_chaincode,
    enroll_client,
    start_session_network,
)

GATEWAY_TESTS = Path(__file__).parent / "gateway"


@pytest.fixture(scope="session")
def fabric_network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningNetwork]:
    """The project's network (2 organisations, 3 Raft orderers, a CA each) with the coin deployed."""
    yield from start_session_network(tmp_path_factory.mktemp("fabric-network"))


@pytest.fixture(scope="session")
def assets_on_fabric(fabric_network: RunningNetwork) -> NetworkClient:
    """The gateway tests' `assets` chaincode served on the session network, and a client to call it."""
    deploy_test_chaincode(
        fabric_network, "assets", GATEWAY_TESTS / "asset_chaincode.py", "new_chaincode", index=1
    )
    return enroll_client(fabric_network, "gateway-tester")
