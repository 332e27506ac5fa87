"""What the rolling-upgrade tests share, the releases, a topology file to record in."""

from __future__ import annotations

from pathlib import Path

from seocho_network.topology import DEFAULT_TOPOLOGY

FROM, TO = "2.5.16", "3.1.5"
UNTOUCHED = ("seocho-welfare", "banpo-czshop")  # demo institutions the load neither pays nor donates to
AFTER_SECONDS = 8.0  # load kept up after the upgrade, on 3.1.5 with V3_0


def default_topology_copy(directory: Path) -> Path:
    """network/topology.yaml (2.5.16, Raft) copied into `directory`: the file an upgrade records its release
    in, so the project's own stays as it is."""
    text = DEFAULT_TOPOLOGY.read_text(encoding="utf-8")
    assert f'fabric_version: "{FROM}"' in text and "type: raft" in text
    path = directory / "topology.yaml"
    path.write_text(text, encoding="utf-8")
    return path
