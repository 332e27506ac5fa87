"""The client profiles (`seocho --profile`): one whose Gateway is the district's peer, one per organisation.

A profile names only public things (the channel, a peer's address, the organisations' TLS roots) and the
identities a client has enrolled; rewriting it keeps the identities it names.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from .context import NetworkContext


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
        document = {
            "channel": topology.channel,
            "chaincode": topology.chaincode.name,
            "gateway": {
                "address": peer.address,
                "tls_root_cert": f"tls/{org.name.lower()}-ca.pem",
                "server_name": peer.node_id,
            },
            "identities": identities,
        }
        path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    ctx.say(f"  {layout.profile} (Gateway {district.peers[0].node_id}); one per organisation beside it")
    return layout.profile


def existing_identities(profile: Path) -> dict[str, dict[str, str]]:
    try:
        document = yaml.safe_load(profile.read_text(encoding="utf-8")) or {}
    except OSError:
        return {}
    return dict(document.get("identities") or {})
