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

import functools
from pathlib import Path

from . import docker_releases
from .backup import ARCHIVE, write_backup
from .context import NetworkError
from .network import Network
from .topology import Orderer, Peer
from .upgrade import UpgradeReport, node_version, upgrade_fabric, upgrade_node


def upgrade_fabric_in_docker(network: Network, target: str, topology_file: Path) -> UpgradeReport:
    """upgrade.upgrade_fabric on a Docker deployment: one container at a time recreated on `target`."""
    if network.runtime_name != "docker":
        raise NetworkError("upgrade_fabric_in_docker recreates a Docker deployment's containers")
    # Once the checks passed, before the first node moves: each container kept on what it runs.
    report = upgrade_fabric(
        network, target, topology_file, upgrade_container, before_first_node=record_running_releases
    )
    # upgrade_fabric saw every node on `target`: each is recorded on it, as the topology now is.
    docker_releases.clear_releases(network.layout)
    return report


def record_running_releases(network: Network) -> None:
    """Records each orderer and peer not yet recorded on the release it says it runs (its /version;
    the topology's when it does not answer)."""
    recorded = docker_releases.node_releases(network.layout)
    nodes: list[Orderer | Peer] = [*network.topology.orderers, *network.topology.peers]
    for node in nodes:
        if node.node_id not in recorded:
            recorded[node.node_id] = node_version(network, node) or network.topology.fabric_version
    docker_releases.write_releases(network.layout, recorded)


def backup_volume(ctx: Network, node: Orderer | Peer, label: str) -> Path:
    """The stopped node's ledger volume as an archive in backups/<label>/<node>/, the rollback point; the
    first archive stays when an interrupted upgrade runs again. A peer's directory is a backup that
    `docker restore PEER --from DIR` takes (its manifest beside the archive); an orderer's is only for
    restoring every orderer together with ordering stopped (backup.py says why)."""
    archive = ctx.layout.root / "backups" / label / node.node_id / ARCHIVE
    if archive.exists():
        return archive
    archive.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if isinstance(node, Peer):
        write_backup(ctx, node, archive.parent, label.removeprefix("fabric-"))
    else:
        ctx.runtime.archive_ledger(node, archive)
        archive.chmod(0o600)
    ctx.say(f"  {node.node_id}: ledger volume backed up to {archive}")
    return archive


def _record_release(upgraded: Network, node: Orderer | Peer) -> None:
    """The node on the upgraded release in releases.json: its next start recreates it on that image."""
    docker_releases.set_release(upgraded.layout, node.node_id, upgraded.topology.fabric_version)


upgrade_container = functools.partial(upgrade_node, backup=backup_volume, before_start=_record_release)
"""upgrade.upgrade_node for a container: its ledger volume backed up, then recreated on the new image."""
