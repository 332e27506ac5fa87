"""The client profiles (`seocho --profile`): one whose Gateway is the district's peer, one per organisation.

A profile names only public things (the channel, a peer's address, the organisations' TLS roots) and the
identities a client has enrolled; rewriting it keeps the identities it names.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml

from .context import NetworkContext
from .topology import Peer, Topology


def write_profiles(ctx: NetworkContext) -> Path:
    """Writes profile.yaml and profile-<org>.yaml, keeping the identities profile.yaml names."""
    layout, topology = ctx.layout, ctx.topology
    district = topology.organizations[0]
    tls_dir = layout.root / "tls"
    tls_dir.mkdir(exist_ok=True)
    for org in topology.organizations:
        # The Gateway's TLS root: the organisation's TLS CA signed its peers' TLS certificates.
        shutil.copyfile(layout.definition_tls_root(org), tls_dir / f"{org.name.lower()}-ca.pem")
    identities = existing_identities(layout.profile)
    for org, path in [(district, layout.profile)] + [
        (org, layout.peer_profile(org)) for org in topology.organizations
    ]:
        peer = org.peers[0]
        tls_root = f"tls/{org.name.lower()}-ca.pem"
        document = profile_document(topology, peer, peer.address, tls_root, identities)
        path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    ctx.say(f"  {layout.profile} (Gateway {district.peers[0].node_id}); one per organisation beside it")
    return layout.profile


def profile_document(
    topology: Topology,
    peer: Peer,
    address: str,
    tls_root_cert: str,
    identities: dict[str, dict[str, str]],
) -> dict[str, Any]:
    """A client profile: the channel and chaincode, `peer` as the Gateway at `address` (its node id is the
    name in its TLS certificate) trusted through `tls_root_cert` (relative to the profile), `identities`."""
    return {
        "channel": topology.channel,
        "chaincode": topology.chaincode.name,
        "gateway": {"address": address, "tls_root_cert": tls_root_cert, "server_name": peer.node_id},
        "identities": identities,
    }


def existing_identities(profile: Path) -> dict[str, dict[str, str]]:
    try:
        document = yaml.safe_load(profile.read_text(encoding="utf-8")) or {}
    except OSError:
        return {}
    return dict(document.get("identities") or {})
