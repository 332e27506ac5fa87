"""Fixtures shared by every suite: the session's one real Fabric network."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fabric_network_support import RunningNetwork, start_session_network


@pytest.fixture(scope="session")
def fabric_network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningNetwork]:
    """The project's network (2 organisations, 3 Raft orderers, a CA each) with the coin deployed."""
    yield from start_session_network(tmp_path_factory.mktemp("fabric-network"))
