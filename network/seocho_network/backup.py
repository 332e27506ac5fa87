"""`network.sh backup NODE [--to DIR]` and `restore NODE --from DIR`: a peer's ledger.

The same for both runtimes: the runtime copies the node's ledger directory (native: `nodes/<node>/data`;
Docker: its `ledger-<node>` volume) into a gzipped tar and back (`Runtime.archive_ledger`,
`Runtime.restore_ledger`); this module makes it consistent and safe:

- the node is stopped for the copy (and started again if it ran), so no file changes under the tar;
- a backup is a directory (0700) of `ledger.tar.gz` and `manifest.json` (both 0600), never written over;
  the tar keeps every file's mode (installed chaincode packages hold a TLS key);
- the manifest names the node, the runtime, the channel's height in the copied block files and the
  archive's SHA-256; `restore` refuses a backup of another node, of the other runtime, a damaged archive
  or a node that is not stopped, before it touches anything.

A restored peer starts with the backup's ledger and fetches the later blocks from the ordering service.
Orderers are refused: etcdraft panics when an orderer's Raft log is older than what the leader recorded
for it (tried: `tocommit(49) is out of range [lastIndex(46)]`); a lost orderer rejoins empty instead.
A peer's identity (`msp/`, `tls/`) is not in the backup: it stays as it is now (renewed certificates are
kept); back up the network home for those.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import tarfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from .channel import wait_for_gossip
from .context import NetworkError
from .network import Network
from .runtime import DOWN
from .topology import Orderer, Peer

ARCHIVE, MANIFEST = "ledger.tar.gz", "manifest.json"


@dataclass(frozen=True)
class BackupManifest:
    node: str
    kind: str  # "peer" (orderers are refused: `ledger_node`)
    runtime: str
    channel: str
    height: int  # blocks of the channel in the copied block files
    created: str  # ISO 8601, UTC
    fabric_version: str
    archive_sha256: str


def ledger_node(network: Network, node_id: str) -> Peer:
    for peer in network.topology.peers:
        if peer.node_id == node_id:
            return peer
    if any(orderer.node_id == node_id for orderer in network.topology.orderers):
        raise NetworkError(
            f"{node_id} is an orderer: its Raft log must never go back (an orderer restored from a backup "
            "panics, 'tocommit(N) is out of range', as soon as the leader tells it what it had committed); "
            "an orderer that lost its files rejoins empty, from the others (channel remove-consenter, then "
            "add-consenter)"
        )
    names = ", ".join(peer.node_id for peer in network.topology.peers)
    raise NetworkError(f"no peer {node_id!r} in the topology (it has {names})")


def default_backup_dir(network: Network, node_id: str) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return network.layout.root / "backups" / node_id / stamp


def backup(network: Network, node_id: str, to: Path | None = None) -> tuple[Path, BackupManifest]:
    """Stops the node, copies its ledger into `to` (a new or empty directory), starts it if it ran."""
    node = ledger_node(network, node_id)
    target = (to if to is not None else default_backup_dir(network, node_id)).absolute()
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise NetworkError(f"{target} exists and is not an empty directory: a backup never replaces another")
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    target.mkdir(exist_ok=True, mode=0o700)
    target.chmod(0o700)
    runtime = network.runtime
    was_running = runtime.states().get(node_id, DOWN) != DOWN
    if was_running:
        network.say(f"backup: stopping {node_id} for a consistent copy")
        runtime.stop([node])
    try:
        manifest = write_backup(network, node, target, network.topology.fabric_version)
    except BaseException:
        with contextlib.suppress(OSError):
            target.rmdir()  # only if nothing else is in it
        raise
    finally:
        if was_running:
            _start(network, node)
    network.say(f"backup: {node_id} at height {manifest.height} in {target}")
    return target, manifest


def write_backup(network: Network, node: Peer, target: Path, fabric_version: str) -> BackupManifest:
    """The stopped peer's ledger archived into the directory `target` (the runtime's `archive_ledger`),
    with its manifest: a backup `restore` takes. No archive is left behind when the copy fails."""
    archive = target / ARCHIVE
    try:
        network.runtime.archive_ledger(node, archive)
        archive.chmod(0o600)
        manifest = BackupManifest(
            node=node.node_id,
            kind="peer",
            runtime=network.runtime.name,
            channel=network.topology.channel,
            height=archived_height(archive, network.topology.channel),
            created=datetime.now(UTC).isoformat(timespec="seconds"),
            fabric_version=fabric_version,
            archive_sha256=_sha256(archive),
        )
    except BaseException:
        archive.unlink(missing_ok=True)
        raise
    _write_private(target / MANIFEST, json.dumps(asdict(manifest), indent=2) + "\n")
    return manifest


def read_manifest(source: Path) -> BackupManifest:
    try:
        document = json.loads((source / MANIFEST).read_text(encoding="utf-8"))
        return BackupManifest(**document)
    except OSError as exc:
        raise NetworkError(f"{source} is not a backup: cannot read {MANIFEST} ({exc.strerror})") from None
    except (ValueError, TypeError) as exc:
        raise NetworkError(f"{source / MANIFEST} is not a backup manifest: {exc}") from None


def restore(network: Network, node_id: str, source: Path) -> BackupManifest:
    """Replaces the stopped node's ledger by the backup's; refuses (changing nothing) when it may not."""
    node = ledger_node(network, node_id)
    source = source.absolute()  # the Docker runtime mounts it into a container
    manifest = read_manifest(source)
    if manifest.node != node_id:
        raise NetworkError(
            f"{source} is a backup of {manifest.node}, not of {node_id}: a ledger belongs to its node "
            "(its peer or orderer identity, its channel membership); nothing was changed"
        )
    runtime = network.runtime
    if manifest.runtime != runtime.name:
        raise NetworkError(
            f"{source} is a backup of the {manifest.runtime} runtime's {node_id}, this is the {runtime.name} "
            "runtime's; nothing was changed"
        )
    archive = source / ARCHIVE
    try:
        digest = _sha256(archive)
    except OSError as exc:
        raise NetworkError(f"cannot read {archive}: {exc.strerror}; nothing was changed") from None
    if digest != manifest.archive_sha256:
        raise NetworkError(
            f"{archive} is not the archive its manifest describes (SHA-256 differs); nothing was changed"
        )
    state = runtime.states().get(node_id, DOWN)
    if state != DOWN:
        raise NetworkError(
            f"{node_id} is {state}: stop it first (scripts/network.sh stop {node_id}); nothing was changed"
        )
    runtime.restore_ledger(node, archive)
    network.say(
        f"restore: {node_id} has the ledger of {manifest.created} (height {manifest.height}); "
        f"start it (scripts/network.sh start {node_id}) and it fetches the later blocks"
    )
    return manifest


def start_node(network: Network, node_id: str) -> None:
    _start(network, _any_node(network, node_id))


def _any_node(network: Network, node_id: str) -> Peer | Orderer:
    nodes: list[Peer | Orderer] = [*network.topology.peers, *network.topology.orderers]
    for node in nodes:
        if node.node_id == node_id:
            return node
    names = ", ".join(node.node_id for node in nodes)
    raise NetworkError(f"no peer or orderer {node_id!r} in the topology (it has {names})")


def _start(network: Network, node: Peer | Orderer) -> None:
    """Starts the node; a peer until the others know it again (the Gateway finds endorsers by gossip)."""
    network.runtime.start([node])
    if isinstance(node, Peer):
        wait_for_gossip(network)


def stop_node(network: Network, node_id: str) -> None:
    node = _any_node(network, node_id)
    if network.runtime.states().get(node_id, DOWN) == DOWN:
        network.say(f"stop: {node_id} is not running")
        return
    network.runtime.stop([node])


# ---- the archive ---------------------------------------------------------------------------------------


def archived_height(archive: Path, channel: str) -> int:
    """How many blocks of `channel` the archive's block files hold (read offline, from the files)."""
    with tarfile.open(archive, "r:gz") as tar:
        files = sorted(
            (m for m in tar.getmembers() if m.isfile() and _is_block_file(m.name, channel)),
            key=lambda m: m.name,
        )
        height = 0
        for member in files:
            stream = tar.extractfile(member)
            if stream is not None:
                for number in block_numbers(stream.read()):
                    height = max(height, number + 1)
    return height


def ledger_height(ledger_dir: Path, channel: str) -> int:
    """How many blocks of `channel` the block files under a (stopped) node's ledger directory hold."""
    height = 0
    for path in sorted(ledger_dir.rglob("blockfile_*")):
        if _is_block_file(path.relative_to(ledger_dir).as_posix(), channel):
            for number in block_numbers(path.read_bytes()):
                height = max(height, number + 1)
    return height


def _is_block_file(name: str, channel: str) -> bool:
    parts = name.split("/")
    return len(parts) >= 3 and parts[-3:-1] == ["chains", channel] and parts[-1].startswith("blockfile_")


def block_numbers(data: bytes) -> Iterator[int]:
    """The numbers of the blocks in a Fabric block file: each block is a varint length and its bytes,
    which begin with the block header's number as a varint (Fabric's blkstorage serialisation)."""
    stream = io.BytesIO(data)
    while True:
        length = _varint(stream)
        if length is None:
            return
        block = stream.read(length)
        if len(block) < length:  # a block cut short by a crash: not part of the ledger
            return
        number = _varint(io.BytesIO(block))
        if number is None:
            return
        yield number


def _varint(stream: io.BytesIO) -> int | None:
    value, shift = 0, 0
    while True:
        byte = stream.read(1)
        if not byte:
            return None
        value |= (byte[0] & 0x7F) << shift
        if not byte[0] & 0x80:
            return value
        shift += 7


def _sha256(path: Path) -> str:
    with path.open("rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()


def _write_private(path: Path, text: str) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
        stream.write(text)
