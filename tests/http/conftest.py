"""Fixtures: the service on an embedded ledger, in-process (httpx through ASGI), with terminals issued."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from http_service import Served, serve
from world import World, build_world


@pytest.fixture
def world(tmp_path: Path) -> World:
    return build_world(tmp_path / "ledger")


@pytest.fixture
def served(world: World, tmp_path: Path) -> Iterator[Served]:
    yield from serve(world, tmp_path / "state")
