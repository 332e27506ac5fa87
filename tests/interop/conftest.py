"""Fixtures for the interop tests: the official Node Gateway client against our gateway double.

`npm ci` runs once per session in `node/` (pinned by its package-lock.json). The tests skip only when
`node` or `npm` is missing; any other failure to install is an error.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import fabric_gateway as fg
import pytest

# The gateway double and its test chaincode live with the gateway tests; share them, not copies.
sys.path.insert(0, str(Path(__file__).parent.parent / "gateway"))

import double_fixtures
from asset_chaincode import CHAINCODE_NAME
from embedded_ledger import EmbeddedLedger, Identity
from gateway_double import RunningGateway
from interop_python_client import python_gateway
from node_gateway_client import NODE_PROJECT, NodeGatewayClient, NodeIdentity
from tls_pki import TlsMaterial

CHANNEL = double_fixtures.CHANNEL
# The double's fixtures, shared with the other folder that starts it.
tls, ledger, running = double_fixtures.tls, double_fixtures.ledger, double_fixtures.running


@pytest.fixture(scope="session")
def node_modules_installed() -> Path:
    """`npm ci` in `node/`, once per session."""
    missing = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"the interop tests need Node.js: {' and '.join(missing)} not found on PATH")
    # Install scripts are skipped: the only ones are an optional PKCS#11 native module (HSM signing,
    # unused here; it would compile with node-gyp) and a version check.
    installed = subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts", "--omit=optional", "--engine-strict"],
        cwd=NODE_PROJECT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    if installed.returncode != 0:
        pytest.fail(f"npm ci failed in {NODE_PROJECT}:\n{installed.stderr}")
    return NODE_PROJECT / "node_modules"


@pytest.fixture
def alice(ledger: EmbeddedLedger) -> Identity:
    return ledger.identities.enroll("alice", "Org1MSP")


@pytest.fixture
def bob(ledger: EmbeddedLedger) -> Identity:
    return ledger.identities.enroll("bob", "Org1MSP", {"district": "seocho"})


@pytest.fixture
def node_client(
    node_modules_installed: Path, running: RunningGateway, tls: TlsMaterial, tmp_path: Path
) -> NodeGatewayClient:
    root = tmp_path / "tls-ca.pem"
    root.write_bytes(tls.ca_pem)
    return NodeGatewayClient(running.target, root, CHANNEL, CHAINCODE_NAME)


@pytest.fixture
def node_alice(alice: Identity, tmp_path: Path) -> NodeIdentity:
    return NodeIdentity.write(alice, tmp_path / "msp")


@pytest.fixture
def node_bob(bob: Identity, tmp_path: Path) -> NodeIdentity:
    return NodeIdentity.write(bob, tmp_path / "msp")


@pytest.fixture
def python_alice(running: RunningGateway, tls: TlsMaterial, alice: Identity) -> Iterator[fg.Gateway]:
    with python_gateway(running, tls, alice) as gateway:
        yield gateway
