"""Fixtures: an in-memory embedded ledger with the test chaincode installed and one identity.

Identities are costly only in key generation, so tests that need many ledgers share one.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from embedded_ledger import EmbeddedLedger, Identity
from kv_test_chaincode import CHAINCODE, KeyValueChaincode


@pytest.fixture
def ledger() -> Iterator[EmbeddedLedger]:
    with EmbeddedLedger.open(None) as opened:
        opened.install(CHAINCODE, KeyValueChaincode())
        yield opened


@pytest.fixture
def alice(ledger: EmbeddedLedger) -> Identity:
    return ledger.identities.enroll("alice", "Org1MSP", {"role": "member"})
