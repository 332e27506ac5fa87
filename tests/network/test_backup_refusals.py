"""`backup` / `restore` refusals that need no running network: each is a clear error and changes nothing.
(tests/network/test_node_backup.py backs up and restores a peer of the session network.)"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from network_cli_support import network_sh
from seocho_network.binaries import MissingBinariesError
from seocho_network.ledger_copies import archive_directory, restore_directory
from seocho_network.network import Network

PEER = "peer0.partners.seocho.local"


@pytest.fixture
def network(tmp_path: Path) -> Network:
    try:
        return Network.open(tmp_path / "home", say=lambda line: None)
    except MissingBinariesError as exc:
        pytest.skip(str(exc))


def tree(root: Path) -> dict[str, tuple[int, bytes]]:
    return {
        p.relative_to(root).as_posix(): (
            stat.S_IMODE(p.stat().st_mode),
            p.read_bytes() if p.is_file() else b"",
        )
        for p in root.rglob("*")
    }


def test_a_node_that_is_no_peer_is_refused(network: Network, tmp_path: Path) -> None:
    code, output = network_sh(network, "backup", "ca.partners.seocho.local", "--to", str(tmp_path / "b"))
    assert code != 0 and "no peer 'ca.partners.seocho.local'" in output and PEER in output
    assert not (tmp_path / "b").exists()


@pytest.mark.parametrize("command", ["backup", "restore"])
def test_an_orderer_is_refused_its_raft_log_must_never_go_back(
    network: Network, tmp_path: Path, command: str
) -> None:
    where = ["--to", str(tmp_path / "b")] if command == "backup" else ["--from", str(tmp_path)]
    code, output = network_sh(network, command, "orderer0.partners.seocho.local", *where)
    assert code != 0 and "is an orderer: its Raft log must never go back" in output, output
    assert "add-consenter" in output and not (tmp_path / "b").exists()


def test_a_backup_never_replaces_another(network: Network, tmp_path: Path) -> None:
    used = tmp_path / "used"
    used.mkdir()
    (used / "ledger.tar.gz").write_bytes(b"an older backup")
    code, output = network_sh(network, "backup", PEER, "--to", str(used))
    assert code != 0 and "is not an empty directory" in output
    assert (used / "ledger.tar.gz").read_bytes() == b"an older backup"


def test_restore_refuses_what_is_no_backup_or_another_nodes(network: Network, tmp_path: Path) -> None:
    code, output = network_sh(network, "restore", PEER, "--from", str(tmp_path))
    assert code != 0 and "is not a backup: cannot read manifest.json" in output
    other = tmp_path / "other"
    other.mkdir()
    manifest = {
        "node": "peer0.district.seocho.local", "kind": "peer", "runtime": "native", "channel": "seocho",
        "height": 7, "created": "2026-12-07T00:00:00+00:00", "fabric_version": "2.5.16",
        "archive_sha256": "0",
    }  # fmt: skip
    (other / "manifest.json").write_text(json.dumps(manifest))
    code, output = network_sh(network, "restore", PEER, "--from", str(other))
    assert code != 0 and f"is a backup of peer0.district.seocho.local, not of {PEER}" in output
    code, output = network_sh(network, "restore", "peer0.district.seocho.local", "--from", str(other))
    assert code != 0 and "cannot read" in output and "ledger.tar.gz" in output  # the manifest's archive
    assert not (tmp_path / "home").exists()  # nothing was made


def test_a_damaged_archive_leaves_the_ledger_as_it_was_and_a_good_one_keeps_every_mode(
    tmp_path: Path,
) -> None:
    ledger = tmp_path / "data"
    (ledger / "chains").mkdir(parents=True, mode=0o750)
    (ledger / "chains").chmod(0o750)
    key = ledger / "chains" / "package.tar.gz"
    key.write_bytes(b"holds a TLS key")
    key.chmod(0o600)
    archive = tmp_path / "ledger.tar.gz"
    archive_directory(ledger, archive)
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    before = tree(ledger)
    key.write_bytes(b"changed after the backup")
    changed = tree(ledger)
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(archive.read_bytes()[: os.path.getsize(archive) // 2])
    with pytest.raises(RuntimeError, match="the ledger was left as it was"):
        restore_directory(ledger, cut)
    assert tree(ledger) == changed and sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["data", "ledger.tar.gz", "cut.tar.gz"]
    )
    restore_directory(ledger, archive)
    assert tree(ledger) == before
