"""Which Fabric release each container of a Docker deployment runs, while not all run the topology's.

The topology names one release for the whole network (`fabric_version`). A rolling upgrade in Docker
recreates one container at a time on the new release's image, so for a while the nodes differ; the
deployment directory's `releases.json` (node id to release) records that, and the compose files are
rendered from it: a later `up`, `start` or `renew-tls` recreates every container on the image of the
release it already runs, never silently on the topology's. Once every node runs the topology's
release the record is removed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from .binaries import FABRIC_VERSIONS, FabricBinaries, find_binaries
from .context import NetworkContext, NetworkError
from .layout import NetworkLayout

RECORD = "releases.json"


def record_path(layout: NetworkLayout) -> Path:
    return layout.root / RECORD


def node_releases(layout: NetworkLayout) -> dict[str, str]:
    """The recorded release of each node that has one (empty: every node runs the topology's)."""
    path = record_path(layout)
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise NetworkError(f"{path} is not a release record: {exc}") from None
    if not isinstance(found, dict) or not all(
        isinstance(node, str) and release in FABRIC_VERSIONS for node, release in found.items()
    ):
        raise NetworkError(f"{path} maps node ids to pinned releases ({', '.join(FABRIC_VERSIONS)}): {found}")
    return dict(found)


def write_releases(layout: NetworkLayout, releases: Mapping[str, str]) -> None:
    """Records every node's release (written whole, then renamed: never half a record)."""
    unknown = {node: release for node, release in releases.items() if release not in FABRIC_VERSIONS}
    if unknown:
        raise NetworkError(f"not pinned releases: {unknown}")
    path = record_path(layout)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(dict(sorted(releases.items())), indent=2) + "\n", encoding="utf-8")
    partial.replace(path)


def set_release(layout: NetworkLayout, node_id: str, release: str) -> None:
    write_releases(layout, node_releases(layout) | {node_id: release})


def clear_releases(layout: NetworkLayout) -> None:
    """Every node runs the topology's release: no record."""
    record_path(layout).unlink(missing_ok=True)


def release_binaries(ctx: NetworkContext, release: str | None) -> FabricBinaries:
    """The programs and sample configs of `release` (None, or the topology's: the context's own)."""
    if release is None or release == ctx.topology.fabric_version:
        return ctx.binaries
    return find_binaries(release)
