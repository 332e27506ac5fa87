"""An on-disk ledger keeps its database (state, private data) and keys readable by its owner only.

The directory may exist already with a lax mode, and the process umask may be the usual 022: the
database, its WAL and shared-memory files must still be created 0600 and the keystore kept 0700.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from embedded_ledger import EmbeddedLedger
from kv_test_chaincode import CHAINCODE, KeyValueChaincode


@pytest.fixture
def usual_umask() -> Iterator[None]:
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_database_files_are_0600_in_an_existing_lax_directory(tmp_path: Path, usual_umask: None) -> None:
    directory = tmp_path / "ledger"
    directory.mkdir(mode=0o755)
    with EmbeddedLedger.open(directory) as ledger:
        ledger.install(CHAINCODE, KeyValueChaincode())
        alice = ledger.identities.enroll("alice", "Org1MSP", {"role": "member"})
        ledger.submit(alice, CHAINCODE, "put", ["k", "secret value"])
        database_files = sorted(directory.glob("ledger.sqlite*"))
        assert {p.name for p in database_files} >= {"ledger.sqlite", "ledger.sqlite-wal", "ledger.sqlite-shm"}
        for path in database_files:
            assert _mode(path) == 0o600, path.name


def test_an_existing_lax_database_file_is_tightened(tmp_path: Path, usual_umask: None) -> None:
    EmbeddedLedger.open(tmp_path).close()
    (tmp_path / "ledger.sqlite").chmod(0o644)
    EmbeddedLedger.open(tmp_path).close()
    assert _mode(tmp_path / "ledger.sqlite") == 0o600


def test_an_existing_lax_keystore_is_tightened(tmp_path: Path, usual_umask: None) -> None:
    (tmp_path / "keystore").mkdir(mode=0o755)
    with EmbeddedLedger.open(tmp_path) as ledger:
        ledger.identities.enroll("alice", "Org1MSP", {"role": "member"})
    assert _mode(tmp_path / "keystore") == 0o700
    for path in (tmp_path / "keystore").iterdir():
        assert _mode(path) == 0o600
