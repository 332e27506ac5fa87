"""`network.sh backup NODE` / `restore NODE --from DIR` on the session network (native runtime).

A peer is backed up (stopped for the copy, started again), more transactions commit, then the peer is
restored from its backup: before it starts, its block files hold exactly the backup's height (read from
the files); started, it fetches the later blocks and answers what the other organisation's peer answers.
The refusals (a running node, another node's backup, a damaged archive, a used target) change nothing.
"""

from __future__ import annotations

import hashlib
import shutil
import stat
import tarfile
from pathlib import Path

import pytest
from fabric_network_support import RunningNetwork
from monitoring_support import wait_for
from network_cli_support import network_sh
from seocho_network.backup import ARCHIVE, MANIFEST, ledger_height, read_manifest
from seocho_network.processes import running_pid
from seocho_network.topology import Organization, Peer

pytestmark = pytest.mark.fabric

MEMBERS = ("S-0001", "S-0004", "S-0005")


def evidence(text: str) -> str:
    return hashlib.sha256(text.encode() + b"backup-test").hexdigest()


def modes(root: Path) -> dict[str, int]:
    """Every file's and directory's permission bits under `root`, by relative path."""
    return {
        path.relative_to(root).as_posix(): stat.S_IMODE(path.lstat().st_mode)
        for path in [root, *root.rglob("*")]
    }


def archive_modes(archive: Path) -> dict[str, int]:
    with tarfile.open(archive, "r:gz") as tar:
        return {member.name.removeprefix("./") or ".": member.mode for member in tar.getmembers()}


def balances(network: RunningNetwork, org: Organization) -> dict[str, int]:
    with network.coin("district-auditor", org) as auditor:
        return {m: int(auditor.get_balance(m)["coins"]) for m in MEMBERS}


def test_a_restored_peer_starts_at_its_backups_height_then_catches_up_and_agrees(
    after_demo: RunningNetwork, tmp_path: Path
) -> None:
    network = after_demo.network
    channel = network.topology.channel
    peer = after_demo.partners.peers[0]
    other = after_demo.district.peers[0]
    files = network.layout.node(peer.node_id)

    def height(node: Peer = peer) -> int:
        return network.peer_admin(node).height(channel)

    # ---- the backup: the peer stopped for the copy, then serving again --------------------------
    before, pid_before = height(), running_pid(files.pid)
    assert pid_before is not None
    target = tmp_path / "backups" / "partners-peer"
    code, output = network_sh(network, "backup", peer.node_id, "--to", str(target))
    assert code == 0, output
    pid_after = running_pid(files.pid)
    assert pid_after is not None and pid_after != pid_before  # stopped for the copy, started again
    manifest = read_manifest(target)
    assert (manifest.node, manifest.kind, manifest.runtime, manifest.height) == (
        peer.node_id, "peer", "native", before
    )  # fmt: skip
    assert stat.S_IMODE(target.stat().st_mode) == 0o700
    assert {p.name: stat.S_IMODE(p.stat().st_mode) for p in target.iterdir()} == {
        ARCHIVE: 0o600,
        MANIFEST: 0o600,
    }
    copied = archive_modes(target / ARCHIVE)
    assert any(mode & 0o077 == 0 and mode & 0o600 == 0o600 for mode in copied.values())  # private files
    live = modes(files.data)
    changed = {name: (oct(copied[name]), oct(live[name])) for name in copied if name in live}
    assert {name: modes for name, modes in changed.items() if modes[0] != modes[1]} == {}
    code, output = network_sh(network, "backup", peer.node_id, "--to", str(target))
    assert code != 0 and "not an empty directory" in output and read_manifest(target) == manifest

    # ---- more transactions after the backup ------------------------------------------------------
    with after_demo.coin("staff-welfare") as staff:
        for hour in range(3):
            staff.earn("S-0004", "volunteer_hour", 1, evidence(f"after-backup-{hour}"), f"VOL-BK-{hour}")
    wait_for(lambda: height() == height(other), "both peers at the channel's height")
    channel_height = height(other)
    assert channel_height >= manifest.height + 3
    expected = balances(after_demo, after_demo.district)

    # ---- refusals that change nothing -----------------------------------------------------------
    code, output = network_sh(network, "restore", peer.node_id, "--from", str(target))
    assert code != 0 and f"{peer.node_id} is up: stop it first" in output, output
    code, output = network_sh(network, "restore", other.node_id, "--from", str(target))
    assert code != 0 and f"is a backup of {peer.node_id}, not of {other.node_id}" in output, output
    assert running_pid(files.pid) == pid_after and height() == channel_height == height(other)

    code, output = network_sh(network, "stop", peer.node_id)
    assert code == 0 and running_pid(files.pid) is None, output
    try:
        assert ledger_height(files.data, channel) == channel_height
        damaged = tmp_path / "damaged"
        shutil.copytree(target, damaged)
        data = bytearray((damaged / ARCHIVE).read_bytes())
        data[len(data) // 2] ^= 0xFF
        (damaged / ARCHIVE).write_bytes(bytes(data))
        code, output = network_sh(network, "restore", peer.node_id, "--from", str(damaged))
        assert code != 0 and "SHA-256 differs" in output, output
        assert ledger_height(files.data, channel) == channel_height

        # ---- the restore: the backup's state, before the peer starts ---------------------------
        code, output = network_sh(network, "restore", peer.node_id, "--from", str(target))
        assert code == 0 and f"height {manifest.height}" in output, output
        assert ledger_height(files.data, channel) == manifest.height < channel_height
        restored = modes(files.data)
        assert {name: oct(mode) for name, mode in copied.items() if restored[name] != mode} == {}
    finally:
        code, output = network_sh(network, "start", peer.node_id)
        assert code == 0, output

    # ---- it catches up from the ordering service and agrees with the other peer ----------------
    wait_for(lambda: height() == channel_height, "the restored peer at the channel's height")
    assert balances(after_demo, after_demo.partners) == expected == balances(after_demo, after_demo.district)
    with after_demo.coin("staff-welfare", after_demo.partners) as staff:
        staff.earn("S-0005", "volunteer_hour", 1, evidence("after-restore"), "VOL-BK-RESTORED")
    wait_for(lambda: height() == height(other), "both peers at the new height")
    assert balances(after_demo, after_demo.partners)["S-0005"] == expected["S-0005"] + 3
