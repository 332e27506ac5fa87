"""An organisation's definition: the public part of it that the other organisations need, and only that.

    definitions/<domain>/
      msp/cacerts/, msp/tlscacerts/, msp/config.yaml   its MSP as the channel carries it (roots, NodeOUs)
      orderers/<node-id>.crt                            each orderer's TLS certificate (the consenter)
      orderers/<node-id>.identity.crt                   each orderer's enrolment certificate (BFT identity)
      definition.yaml                                   name, MSP id, anchor peers, orderer endpoints

The organisation writes it from its own home (`org definition ORG`) and hands it over (on separate hosts:
copies the directory); every step of another organisation reads these files, never the owner's home.
No file of it holds a private key.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml
from fabric_ca.msp import SIGNCERT_FILE

from .context import NetworkContext, NetworkError
from .topology import BFT, Organization

DEFINITION_FILE = "definition.yaml"


def write_definition(ctx: NetworkContext, org: Organization, out: Path | None = None) -> Path:
    """Writes `org`'s definition from its home into `out` (default: definitions/<domain>)."""
    layout = ctx.layout
    target = out or layout.definition(org)
    staging = target.with_name(target.name + ".new")
    shutil.rmtree(staging, ignore_errors=True)
    (staging / "orderers").mkdir(parents=True)
    # The organisation's verifying MSP holds roots and the NodeOUs config only (crypto.write_org_msp).
    shutil.copytree(layout.org_msp(org), staging / "msp")
    for orderer in org.orderers:
        shutil.copyfile(
            layout.node(orderer.node_id).tls_cert, staging / "orderers" / f"{orderer.node_id}.crt"
        )
        shutil.copyfile(
            layout.node(orderer.node_id).msp / SIGNCERT_FILE,
            staging / "orderers" / f"{orderer.node_id}.identity.crt",
        )
    document: dict[str, Any] = {
        "name": org.name,
        "msp_id": org.msp_id,
        "domain": org.domain,
        "anchor_peers": [{"host": p.node_id, "address": p.address} for p in org.peers[:1]],
        "orderers": [
            {"host": o.node_id, "address": o.address, "cluster_port": o.cluster_port} for o in org.orderers
        ],
    }
    (staging / DEFINITION_FILE).write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    for path in staging.rglob("*"):
        if path.is_file() and b"PRIVATE KEY" in path.read_bytes():
            raise NetworkError(f"{path} would publish a private key: the definition is not written")
    shutil.rmtree(target, ignore_errors=True)
    staging.replace(target)
    ctx.say(f"  {target}: {org.name}'s definition (public)")
    return target


def check_definitions(ctx: NetworkContext) -> None:
    """Every organisation of the topology has handed over its definition (what the channel is made of)."""
    for org in ctx.topology.organizations:
        needed = [ctx.layout.definition_tls_root(org), ctx.layout.definition(org) / DEFINITION_FILE]
        needed += [ctx.layout.consenter_cert(o) for o in org.orderers]
        if ctx.topology.orderer_type == BFT:
            needed += [ctx.layout.consenter_identity(o) for o in org.orderers]
        missing = [path for path in needed if not path.exists()]
        if missing:
            raise NetworkError(
                f"{missing[0]} is missing: {org.name} has not handed over its definition "
                f"(it runs `scripts/network.sh org definition {org.name}`)"
            )
