"""The rolling Fabric upgrade of a Docker deployment: upgrade.py's plan (each orderer, then each peer, one
at a time, each waited for; the release recorded in the topology; the channel's V3_0 capability), with
the Docker runtime's own step for one node:

    stop its container; copy its ledger volume to `backups/fabric-<old>/<node>/ledger.tar.gz` (the
    volume as the stopped node left it, read by a throwaway container: ledger_copies.py); record the
    node on the new release (docker_releases.py's releases.json, which every rendering of the compose
    files follows); start it, which renders its config from the new release's samples and makes
    Compose recreate that container alone on the new release's image, on the same volume.

Before the first node moves, every orderer and peer is recorded on the release it runs, so that the
compose files keep each container where it is until its turn (an `up` or `renew-tls` meanwhile
recreates nothing on another image). When every node runs the topology's release again, the record
goes. The same command with the old release rolls back a partial upgrade the same way (before the
capability step only, as upgrade.py refuses after it).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

from . import docker_releases
from .backup import ARCHIVE, MANIFEST, BackupManifest, archived_height
from .context import NetworkContext, NetworkError
from .ledger_copies import archive_volume
from .network import Network
from .topology import Orderer, Peer
from .upgrade import UpgradeReport, check_can_upgrade, node_version, upgrade_fabric

LEDGER_ARCHIVE = ARCHIVE


def upgrade_fabric_in_docker(network: Network, target: str, topology_file: Path) -> UpgradeReport:
    """upgrade.upgrade_fabric on a Docker deployment: one container at a time recreated on `target`."""
    if network.runtime_name != "docker":
        raise NetworkError("upgrade_fabric_in_docker recreates a Docker deployment's containers")
    check_can_upgrade(network, target)  # before anything is recorded
    record_running_releases(network)
    report = upgrade_fabric(network, target, topology_file, restart_node=upgrade_container)
    releases = docker_releases.node_releases(network.layout)
    if set(releases.values()) <= {target}:
        docker_releases.clear_releases(network.layout)  # every node runs the topology's release
    return report


def record_running_releases(network: Network) -> None:
    """Records each orderer and peer not yet recorded on the release it says it runs (its /version;
    the topology's when it does not answer, which the upgrade then refuses: every node must be up)."""
    recorded = docker_releases.node_releases(network.layout)
    nodes: list[Orderer | Peer] = [*network.topology.orderers, *network.topology.peers]
    for node in nodes:
        if node.node_id not in recorded:
            recorded[node.node_id] = node_version(network, node) or network.topology.fabric_version
    docker_releases.write_releases(network.layout, recorded)


def upgrade_container(
    current: Network,
    upgraded: Network,
    node: Orderer | Peer,
    wait: Callable[[NetworkContext, Orderer | Peer], None],
) -> bool:
    """Recreates `node`'s container on the upgraded release's image (its volume backed up first), then
    `wait`s until it serves again; False when it runs that release already."""
    target = upgraded.topology.fabric_version
    found = node_version(current, node)
    if found == target:
        current.say(f"upgrade: {node.node_id} runs {found} already")
        docker_releases.set_release(current.layout, node.node_id, target)
        return False
    current.say(f"upgrade: {node.node_id} {found} -> {target} (its container recreated)")
    current.runtime.stop([node])
    backup_volume(current, node, f"fabric-{found or 'unknown'}")
    docker_releases.set_release(current.layout, node.node_id, target)
    upgraded.runtime.start([node])
    wait(upgraded, node)
    return True


def backup_volume(ctx: NetworkContext, node: Orderer | Peer, label: str) -> Path:
    """The stopped node's ledger volume as an archive in backups/<label>/<node>/, the rollback point; the
    first archive stays when an interrupted upgrade runs again. A peer's directory is a backup that
    `docker restore PEER --from DIR` takes (its manifest beside the archive); an orderer's is only for
    restoring every orderer together with ordering stopped (backup.py says why)."""
    archive = ctx.layout.root / "backups" / label / node.node_id / LEDGER_ARCHIVE
    if archive.exists():
        return archive
    archive.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    archive_volume(node, archive)
    if isinstance(node, Peer):
        _write_manifest(ctx, node, archive, label.removeprefix("fabric-"))
    ctx.say(f"  {node.node_id}: ledger volume backed up to {archive}")
    return archive


def _write_manifest(ctx: NetworkContext, peer: Peer, archive: Path, release: str) -> None:
    digest = hashlib.sha256()
    with archive.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    manifest = BackupManifest(
        node=peer.node_id,
        kind="peer",
        runtime="docker",
        channel=ctx.topology.channel,
        height=archived_height(archive, ctx.topology.channel),
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        fabric_version=release,
        archive_sha256=digest.hexdigest(),
    )
    descriptor = os.open(archive.parent / MANIFEST, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
        stream.write(json.dumps(asdict(manifest), indent=2) + "\n")
