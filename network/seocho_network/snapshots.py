"""Ledger snapshots: a peer's channel state as of one block, and peers that join the channel from one.

A peer added to a running channel either replays every block from genesis (`membership.join_running_peers`)
or starts from a snapshot another peer took: the channel's public state, the transaction ids used so far
and the collection config history as of one block, with the hashes that vouch for them. It then pulls
only the blocks after that one from the orderers.

    take(ctx, peer, block=None)          `peer snapshot submitrequest`, waits until the snapshot is complete
    read_snapshot(directory)             a completed snapshot: its metadata, its files checked against it
    join_from_snapshot(ctx, peers, s)    `peer channel joinbysnapshot` from a copy in each peer's reach,
                                         then waits until each has caught up with the orderers

A peer writes its snapshots under `ledger.snapshots.rootDir` (configs renders it as the node's
data/snapshots), completed ones in completed/<channel>/<last block number>. Two peers' snapshots at the
same block have the same `snapshot_hash` exactly when their states agree (Fabric's check for forks).
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from . import lifecycle
from .admin import PeerAdmin, wait_until
from .binaries import CommandError
from .channel import channels_once_serving
from .context import NetworkContext, NetworkError
from .serving import served
from .topology import Organization, Peer

SIGNABLE_METADATA = "_snapshot_signable_metadata.json"
ADDITIONAL_METADATA = "_snapshot_additional_metadata.json"
SNAPSHOT_TIMEOUT = 300.0
"""How long `take` waits for the requested block to be committed and its snapshot written."""
JOIN_TIMEOUT = 600.0
"""How long a peer may take to import a snapshot and catch up with the orderers."""
JOINING_SNAPSHOTS = "joining-snapshots"
"""Under a peer's data directory: the copies of snapshots it imports (removed once imported)."""
_LEAST_BLOCK = re.compile(r"cannot be less than the last committed block number (\d+)")


@dataclass(frozen=True)
class Snapshot:
    """A completed snapshot directory of one channel, as of its last block."""

    directory: Path
    channel: str
    last_block: int
    snapshot_hash: str

    @property
    def height(self) -> int:
        """The ledger height the snapshot stands for (its blocks are 0 .. last_block)."""
        return self.last_block + 1


def snapshots_root(ctx: NetworkContext, peer: Peer) -> Path:
    """The peer's `ledger.snapshots.rootDir` as the host sees it (configs.write_peer_config sets it)."""
    return ctx.layout.node(peer.node_id).data / "snapshots"


def completed_directory(ctx: NetworkContext, peer: Peer, channel: str, block: int) -> Path:
    return snapshots_root(ctx, peer) / "completed" / channel / str(block)


def completed(ctx: NetworkContext, peer: Peer, channel: str | None = None) -> list[Snapshot]:
    """The peer's completed snapshots of the channel, oldest first."""
    directory = snapshots_root(ctx, peer) / "completed" / (channel or ctx.topology.channel)
    if not directory.is_dir():
        return []
    blocks = sorted(int(d.name) for d in directory.iterdir() if d.name.isdigit())
    return [read_snapshot(directory / str(block)) for block in blocks]


def read_snapshot(directory: Path) -> Snapshot:
    """The snapshot in `directory`, once every file's SHA-256 matches its signable metadata and that
    metadata's own hash matches the snapshot hash. That finds a damaged copy, not a forged one (whoever
    altered a file can rewrite both metadata files): an organisation handed a snapshot also compares
    its `snapshot_hash` with one another organisation's peer took at the same block."""
    try:
        signable_bytes = (directory / SIGNABLE_METADATA).read_bytes()
        signable: dict[str, Any] = json.loads(signable_bytes)
        additional: dict[str, Any] = json.loads((directory / ADDITIONAL_METADATA).read_bytes())
        files: dict[str, str] = dict(signable["snapshot_files_raw_hashes"])
        snapshot = Snapshot(
            directory, str(signable["channel_name"]), int(signable["last_block_number"]),
            str(additional["snapshot_hash"]),
        )  # fmt: skip
    except OSError as exc:
        raise NetworkError(f"{directory} is no completed snapshot: {exc.strerror} ({exc.filename})") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise NetworkError(f"{directory}: the snapshot's metadata is malformed: {exc!r}") from None
    if hashlib.sha256(signable_bytes).hexdigest() != snapshot.snapshot_hash:
        raise NetworkError(f"{directory}: {SIGNABLE_METADATA} does not match the snapshot hash")
    for name, expected in files.items():
        path = directory / name
        if path.name != name or not path.is_file():
            raise NetworkError(f"{directory}: the snapshot lacks {name}")
        if _sha256(path) != expected:
            raise NetworkError(f"{directory}: {name} does not match its hash in {SIGNABLE_METADATA}")
    return snapshot


def _sha256(path: Path) -> str:
    with path.open("rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()


# ---- taking one ---------------------------------------------------------------------------------------


def _snapshot_command(ctx: NetworkContext, peer: Peer, verb: str, channel: str, *extra: str) -> str:
    files = ctx.layout.node(peer.node_id)
    flags = ["-c", channel, "--peerAddress", peer.address, "--tlsRootCertFile", str(files.tls_ca)]
    return ctx.peer_admin(peer).run(["snapshot", verb, *flags, *extra])


def pending(ctx: NetworkContext, peer: Peer, channel: str | None = None) -> list[int]:
    """The block numbers of the peer's snapshot requests not yet complete (`peer snapshot listpending`)."""
    output = _snapshot_command(ctx, peer, "listpending", channel or ctx.topology.channel)
    listed = output.rsplit("[", 1)[-1].split("]", 1)[0]
    return [int(number) for number in listed.split()]


def _refusal(exc: CommandError) -> str:
    """The peer's own words from a failed `peer snapshot` command."""
    lines = [line.strip(" |") for line in str(exc).splitlines()]
    said = [line for line in lines if "Error:" in line] or lines[-1:]
    return said[-1].split("Error:", 1)[-1].strip()


def take(
    ctx: NetworkContext,
    peer: Peer,
    block: int | None = None,
    channel: str | None = None,
    timeout: float = SNAPSHOT_TIMEOUT,
) -> Snapshot:
    """A snapshot of `peer`'s ledger of `channel` (the topology's) as of block `block` (default: the
    last committed one); a block to come is waited for, up to `timeout`, and the request cancelled after
    that. A block already committed and passed, or a channel the peer does not have, is refused."""
    _native_only(ctx)
    if block is not None and block < 1:
        # Fabric reads block 0 as "the last committed block": the snapshot would land in another directory.
        raise NetworkError(
            f"a snapshot's block number is 1 or more, not {block} (leave it out for the last committed block)"
        )
    channel = channel or ctx.topology.channel
    admin = ctx.peer_admin(peer)
    joined = channels_once_serving(admin)
    if channel not in joined:
        raise NetworkError(
            f"{peer.node_id} has no channel {channel!r} (it has: {', '.join(joined) or 'none'})"
        )
    wanted = block if block is not None else admin.height(channel) - 1
    for _ in range(5):
        done = completed_directory(ctx, peer, channel, wanted)
        if done.is_dir():
            ctx.say(f"  {peer.node_id}: snapshot of {channel} at block {wanted} exists")
            return read_snapshot(done)
        try:
            _snapshot_command(ctx, peer, "submitrequest", channel, "-b", str(wanted))
            break
        except CommandError as exc:
            refusal = _refusal(exc)
            least = _LEAST_BLOCK.search(refusal)
            if block is None and least is not None:
                wanted = int(least.group(1))  # a block committed meanwhile: its snapshot instead
                continue
            raise NetworkError(
                f"snapshot of {channel} at block {wanted} on {peer.node_id}: {refusal}"
            ) from None
    else:
        raise NetworkError(f"snapshot of {channel} on {peer.node_id}: blocks kept coming before the request")
    ctx.say(f"  {peer.node_id}: snapshot of {channel} requested at block {wanted}")
    return _wait_completed(ctx, peer, channel, wanted, timeout)


def _wait_completed(ctx: NetworkContext, peer: Peer, channel: str, block: int, timeout: float) -> Snapshot:
    """Waits until the snapshot's directory is there (the peer renames it into place when complete)."""
    done = completed_directory(ctx, peer, channel, block)
    deadline = time.monotonic() + timeout
    asked = 0.0
    while not done.is_dir():
        now = time.monotonic()
        if now > deadline:
            try:
                _snapshot_command(ctx, peer, "cancelrequest", channel, "-b", str(block))
                what = "the request is cancelled"
            except CommandError as exc:
                what = f"cancelling it failed: {_refusal(exc)}"
            raise NetworkError(
                f"snapshot of {channel} at block {block} on {peer.node_id}: not written within "
                f"{timeout:.0f} s (is block {block} coming?); {what}"
            )
        if now - asked > 2.0:
            asked = now
            if block not in pending(ctx, peer, channel) and not done.is_dir():
                raise NetworkError(
                    f"snapshot of {channel} at block {block} on {peer.node_id} failed: see its log "
                    f"({ctx.layout.node(peer.node_id).log})"
                )
        time.sleep(0.2)
    snapshot = read_snapshot(done)
    ctx.say(f"  {peer.node_id}: snapshot at block {block} in {done} (hash {snapshot.snapshot_hash[:16]}...)")
    return snapshot


# ---- joining from one ---------------------------------------------------------------------------------


def copy_into_reach(ctx: NetworkContext, peer: Peer, snapshot: Snapshot) -> Path:
    """A copy of the snapshot in `peer`'s data directory (what its host can read), checked."""
    joining = ctx.layout.node(peer.node_id).data / JOINING_SNAPSHOTS
    target = joining / snapshot.channel / str(snapshot.last_block)
    if target.exists():
        shutil.rmtree(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(snapshot.directory, target)
    read_snapshot(target)
    return target


def _native_only(ctx: NetworkContext) -> None:
    # In Docker a peer's ledger is a named volume (compose_render): the host reads no snapshot there.
    if ctx.runtime_name != "native":
        raise NetworkError("ledger snapshots are taken and joined on the native runtime only (for now)")


def install_served_chaincodes(ctx: NetworkContext, peer: Peer) -> list[str]:
    """Installs on `peer` every chaincode its organisation's servers serve (so it can endorse them)."""
    admin = ctx.peer_admin(peer)
    installed = []
    for service, _ in served(ctx.layout, peer.org):
        path, package_id = lifecycle.build_package(ctx.layout, peer.org, service)
        did = "installed" if lifecycle.install(admin, path, package_id) else "has"
        ctx.say(f"  {peer.node_id}: {did} {package_id[:48]}...")
        installed.append(package_id)
    return installed


def join_from_snapshot(
    ctx: NetworkContext, peers: Sequence[Peer], snapshot: Snapshot, timeout: float = JOIN_TIMEOUT
) -> None:
    """Each running peer that is not a member yet joins the channel from `snapshot`; each then catches
    up with the orderers' height."""
    _native_only(ctx)
    channel = ctx.topology.channel
    if snapshot.channel != channel:
        raise NetworkError(f"{snapshot.directory} is a snapshot of {snapshot.channel!r}, not of {channel!r}")
    for peer in peers:
        admin = ctx.peer_admin(peer)
        if channel in channels_once_serving(admin):
            ctx.say(f"  {peer.node_id}: member of {channel}")
        else:
            _import(ctx, peer, snapshot, timeout)
        wait_caught_up(ctx, peer, timeout)


def _import(ctx: NetworkContext, peer: Peer, snapshot: Snapshot, timeout: float) -> None:
    """`peer channel joinbysnapshot`, then until the peer's import ends; its copy of the snapshot goes."""
    admin, channel = ctx.peer_admin(peer), ctx.topology.channel
    log = ctx.layout.node(peer.node_id).log
    copy = copy_into_reach(ctx, peer, snapshot)
    try:
        admin.run(["channel", "joinbysnapshot", "--snapshotpath", str(copy)])
    except CommandError as exc:
        raise NetworkError(
            f"{peer.node_id} refused to join {channel} from {copy}: {exc} (its log: {log})"
        ) from None
    what = f"{peer.node_id} importing the snapshot"
    wait_until(partial(_import_finished, admin), what, timeout, lambda: True)
    # The import runs in the peer after the command returns: only the channel list says it succeeded.
    if channel not in channels_once_serving(admin):
        raise NetworkError(
            f"{peer.node_id} did not join {channel} from the snapshot at block {snapshot.last_block} "
            f"(the import failed; its copy stays in {copy}): see its log ({log})"
        )
    ctx.say(f"  {peer.node_id}: joined {channel} from the snapshot at block {snapshot.last_block}")
    _remove_copy(ctx, peer, copy)


def _remove_copy(ctx: NetworkContext, peer: Peer, copy: Path) -> None:
    """The imported snapshot is the peer's ledger now: its copy, and the directories it leaves empty, go."""
    shutil.rmtree(copy)
    joining = ctx.layout.node(peer.node_id).data / JOINING_SNAPSHOTS
    for directory in (copy.parent, joining):
        if directory.is_dir() and not any(directory.iterdir()):
            directory.rmdir()


def _import_finished(admin: PeerAdmin) -> bool:
    return "No joinbysnapshot operation is in progress" in admin.run(["channel", "joinbysnapshotstatus"])


def chain_height(ctx: NetworkContext) -> int:
    """The channel's height at the first orderer that answers."""
    for orderer in ctx.topology.orderers:
        try:
            return int(ctx.orderer_admin(orderer).info(ctx.topology.channel).get("height", 0))
        except (CommandError, ValueError):
            continue
    raise NetworkError("no orderer answers for the channel's height")


def wait_caught_up(ctx: NetworkContext, peer: Peer, timeout: float = JOIN_TIMEOUT) -> int:
    """Waits until `peer` has every block the orderers had when it was called; returns that height."""
    target, channel, admin = chain_height(ctx), ctx.topology.channel, ctx.peer_admin(peer)

    def caught_up() -> bool:
        try:
            return admin.height(channel) >= target
        except CommandError:
            return False

    wait_until(caught_up, f"{peer.node_id} catching up to height {target}", timeout, lambda: True)
    ctx.say(f"  {peer.node_id}: caught up (height >= {target})")
    return target


def bootstrapped_at(ctx: NetworkContext, peer: Peer) -> int | None:
    """The last block of the snapshot the peer's ledger of the channel started from (None: genesis)."""
    output = ctx.peer_admin(peer).run(["channel", "getinfo", "-c", ctx.topology.channel])
    document, _ = json.JSONDecoder().raw_decode(output.split("Blockchain info:", 1)[1].strip())
    # encoding/json of the Go struct (snake case) or protojson (camel case), by release.
    info = document.get("bootstrapping_snapshot_info") or document.get("bootstrappingSnapshotInfo") or {}
    last = info.get("last_block_in_snapshot", info.get("lastBlockInSnapshot"))
    return int(last) if last is not None else None


def join_running_from_snapshot(
    ctx: NetworkContext, org: Organization, directory: Path | None = None, source: Peer | None = None
) -> Snapshot:
    """`channel join-running` with the peers joining from a snapshot instead of block 0: from the one in
    `directory` (handed over), or one `source` takes now. `org`'s orderers join as from genesis
    (`membership`); its peers get its chaincodes installed, then join; all catch up."""
    from .membership import join_running_orderers

    if (directory is None) == (source is None):
        raise NetworkError("join from a snapshot directory or from a snapshot of a peer: one of them")
    if directory is not None:
        snapshot = read_snapshot(directory)  # checked before anything joins
    else:
        assert source is not None
        snapshot = take(ctx, source)
    join_running_orderers(ctx, org)
    for peer in org.peers:
        install_served_chaincodes(ctx, peer)
    join_from_snapshot(ctx, org.peers, snapshot)
    return snapshot
