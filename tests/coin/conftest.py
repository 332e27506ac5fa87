"""Fixtures: a pinned clock and a Seocho Coin network on an in-memory embedded ledger."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from coin_network import Clock, CoinNetwork, build_world, kst


@pytest.fixture
def clock() -> Clock:
    return Clock(kst(2024, 3, 4, 10))


@pytest.fixture
def bare(clock: Clock) -> Iterator[CoinNetwork]:
    """A network with the chaincode installed and nothing else."""
    net = CoinNetwork.open(clock)
    yield net
    net.ledger.close()


@pytest.fixture
def net(bare: CoinNetwork) -> CoinNetwork:
    """The standard world of `build_world`."""
    return build_world(bare)
