"""Fixtures: every coin-rule test runs on the embedded ledger and on the session's real Fabric network.

The network variant (marked `fabric`) serves the coin contract a second time, as chaincode `seocho-rules`,
so the policy versions these tests append never reach the `seocho` ledger other network tests read. A test
that passes on the embedded ledger and fails on the peers is a bug in the embedded ledger or in the rules.
The coin world helpers come from `tests/coin` (put on `sys.path`, as pytest does when it collects them).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "coin"))

from coin_network import DISTRICT
from fabric_network_support import RunningNetwork, deploy_test_chaincode
from rules_ledgers import EmbeddedRules, PeerRules, RulesLedger
from rules_world import World, build_world

CHAINCODE = "seocho-rules"
# The chaincode-server port offset of this second coin service (the gateway tests' `assets` takes 1).
SERVICE_INDEX = 6


@pytest.fixture(scope="session")
def rules_on_fabric(fabric_network: RunningNetwork) -> RunningNetwork:
    """The coin contract deployed a second time on the session network, its ledger initialised."""
    deploy_test_chaincode(
        fabric_network, CHAINCODE, Path(__file__).with_name("rules_chaincode.py"), "new_chaincode",
        index=SERVICE_INDEX,
    )  # fmt: skip
    ledger = PeerRules(fabric_network, CHAINCODE)
    try:
        ledger.enroll("admin", DISTRICT, role="admin")
        ledger.submit("admin", "init_ledger", DISTRICT)
    finally:
        ledger.close()
    return fabric_network


@pytest.fixture(params=["embedded", pytest.param("fabric", marks=pytest.mark.fabric)])
def ledger(request: pytest.FixtureRequest) -> Iterator[RulesLedger]:
    opened: EmbeddedRules | PeerRules
    if request.param == "fabric":
        opened = PeerRules(request.getfixturevalue("rules_on_fabric"), CHAINCODE)
    else:
        opened = EmbeddedRules()
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def world(ledger: RulesLedger) -> World:
    return build_world(ledger)
