"""Fixtures shared by every suite: the session's one real Fabric network."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

# Under CI=true every skip not on ci_skips.ALLOWED_IN_CI is a failure (hooks imported, so pytest runs them).
from ci_skips import pytest_make_collect_report, pytest_runtest_makereport  # noqa: F401
from click.testing import CliRunner
from fabric_network_support import (
    NetworkClient,
    RunningNetwork,
    deploy_test_chaincode,
    enroll_client,
    start_session_network,
)
from seocho.cli import cli

GATEWAY_TESTS = Path(__file__).parent / "gateway"


@pytest.fixture(autouse=True)
def english(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test reads English messages unless it chooses a language (gettext reads LANGUAGE first), and
    a language one test forces (`--lang ko`, a Korean page) is undone after it."""
    monkeypatch.setenv("LANGUAGE", "en")
    yield


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


@pytest.fixture(scope="session")
def demo_on_network(fabric_network: RunningNetwork) -> dict[str, object]:
    """The demo's report, told once on the session network's fresh coin ledger (its cast and institutions
    are what the other network tests use)."""
    result = CliRunner().invoke(cli, ["--profile", str(fabric_network.profile()), "demo", "--json"])
    assert result.exit_code == 0, result.stderr
    return dict(json.loads(result.stdout))


@pytest.fixture(scope="session")
def after_demo(demo_on_network: dict[str, object], fabric_network: RunningNetwork) -> RunningNetwork:
    """The session network once the demo's cast, institutions and members are on it."""
    return fabric_network


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Fault tests kill nodes of the shared network: they run last, after the demo has run on it."""
    items.sort(key=lambda item: item.get_closest_marker("faults") is not None)
