"""How each runtime copies a stopped node's ledger out to a .tar.gz and back (`backup.py` says when).

Native: the node's `data/` directory, with Python's tarfile; a restore extracts beside it (tarfile's
`data` filter: no absolute paths, no links out of it, no device files; modes kept) and swaps the
directories, so a broken archive leaves the old ledger in place. Docker: the node's `ledger-<node>`
volume, with the tar of the node's own image in a throw-away container without network; the archive is
handed to the user who runs the command, 0600.
"""

from __future__ import annotations

import os
import shutil
import tarfile
import zlib
from pathlib import Path

from .binaries import CommandError, run_tool
from .context import NetworkError
from .layout import NetworkLayout
from .topology import Orderer, Peer


def archive_directory(ledger: Path, archive: Path) -> None:
    if not ledger.is_dir():
        raise NetworkError(f"no ledger at {ledger}: has the node ever run?")
    descriptor = os.open(archive, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as stream, tarfile.open(fileobj=stream, mode="w:gz") as tar:
        tar.add(ledger, arcname=".")


def restore_directory(ledger: Path, archive: Path) -> None:
    staging = ledger.with_name(ledger.name + ".restoring")
    replaced = ledger.with_name(ledger.name + ".replaced")
    for leftover in (staging, replaced):  # of an interrupted restore
        shutil.rmtree(leftover, ignore_errors=True)
    staging.mkdir(mode=0o700)
    try:
        with tarfile.open(archive, "r:gz") as tar:
            tar.extractall(staging, filter=_data_keeping_modes)
    except (OSError, EOFError, zlib.error, tarfile.TarError) as exc:  # gzip's and tar's ways to be cut short
        shutil.rmtree(staging, ignore_errors=True)
        raise NetworkError(f"cannot restore {archive}: {exc}; the ledger was left as it was") from None
    if ledger.exists():
        ledger.rename(replaced)
    staging.rename(ledger)
    shutil.rmtree(replaced, ignore_errors=True)


def _data_keeping_modes(member: tarfile.TarInfo, destination: str) -> tarfile.TarInfo | None:
    """tarfile's `data` filter (paths inside the destination, no device files, no links out), but every
    file and directory keeps its permission bits: the `data` filter would give directories the umask's
    and clear group bits, and the node's files must come back as they were (0600 keys, 0700 dirs)."""
    filtered = tarfile.data_filter(member, destination)
    if filtered is None or member.issym():
        return filtered
    return filtered.replace(mode=member.mode & 0o777, deep=False)


def native_ledger(layout: NetworkLayout, node: Orderer | Peer) -> Path:
    return layout.node(node.node_id).data


# ---- Docker ----------------------------------------------------------------------------------------------


def ledger_volume(node: Orderer | Peer) -> str:
    """The node's ledger volume as Compose names it: `<project>_ledger-<node id, dots as dashes>`."""
    project = os.environ.get("COMPOSE_PROJECT_NAME") or "seocho"
    return f"{project}_ledger-{node.node_id.replace('.', '-')}"


def _node_image(node: Orderer | Peer) -> str:
    from .compose_render import IMAGE_VARIABLES

    variable, default = IMAGE_VARIABLES["peer" if isinstance(node, Peer) else "orderer"]
    return os.environ.get(variable) or default


def _in_container(
    node: Orderer | Peer, volume_mode: str, backup_dir: Path, backup_mode: str, script: str
) -> None:
    volume = ledger_volume(node)
    try:
        # `docker run -v NAME:...` would make a missing volume, empty: a restore into nothing, a backup of it.
        run_tool(["docker", "volume", "inspect", volume], what="docker volume inspect")
    except CommandError:
        raise NetworkError(f"{node.node_id} has no ledger volume {volume}: has it ever run?") from None
    command = [
        "docker", "run", "--rm", "--network", "none",
        "-v", f"{volume}:/data:{volume_mode}", "-v", f"{backup_dir}:/backup:{backup_mode}",
        "--entrypoint", "sh", _node_image(node), "-c", script,
    ]  # fmt: skip
    try:
        run_tool(command, None, 600.0, what=f"docker run (ledger of {node.node_id})")
    except CommandError as exc:
        raise NetworkError(str(exc)) from None


def archive_volume(node: Orderer | Peer, archive: Path) -> None:
    if archive.exists():
        raise NetworkError(f"{archive} exists: a backup never replaces another")
    partial = f"/backup/{archive.name}.partial"
    script = (
        f"tar -C /data -czf {partial} . && chown {os.getuid()}:{os.getgid()} {partial} "
        f"&& chmod 600 {partial} && mv {partial} /backup/{archive.name}"
    )
    _in_container(node, "ro", archive.parent, "rw", script)


def restore_volume(node: Orderer | Peer, archive: Path) -> None:
    # The archive is read whole first: a damaged one stops the restore before the volume is emptied.
    name = f"/backup/{archive.name}"
    script = (
        f"tar -tzf {name} >/dev/null && find /data -mindepth 1 -maxdepth 1 -exec rm -rf {{}} + "
        f"&& tar -C /data -xzpf {name}"
    )
    _in_container(node, "rw", archive.parent, "ro", script)
