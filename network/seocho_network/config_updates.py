"""Channel config updates as the organisations exchange them: one proposes, the others sign, one submits.

An update is a file (`channel/updates/<name>.pb`, a CONFIG_UPDATE envelope) that carries only public
things and the admins' signatures, so it can travel between hosts. Each organisation signs with its own
admin (`peer channel signconfigtx`); the orderers check the signatures against the policies of what
changes (e.g. MAJORITY Admins of the Orderer group for the ordering service's settings) and refuse an
update that lacks them.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from fabric_protos.common import common_pb2, configtx_pb2

from .binaries import run_tool
from .channel_config import current_config
from .configs import node_environment
from .context import NetworkContext
from .topology import Organization

_CONFIG_UPDATE = common_pb2.HeaderType.Value("CONFIG_UPDATE")
Change = Callable[[configtx_pb2.Config], None]


def update_file(ctx: NetworkContext, name: str) -> Path:
    return ctx.layout.updates_dir / f"{name}.pb"


def channel_config(ctx: NetworkContext, org: Organization) -> configtx_pb2.Config:
    """The channel's current config, fetched by `org`'s admin through an orderer."""
    with tempfile.TemporaryDirectory(prefix="seocho-config-") as directory:
        return current_config(ctx.peer_admin(org.peers[0]), ctx.topology.channel, Path(directory))


def propose(ctx: NetworkContext, org: Organization, name: str, change: Change) -> Path:
    """Writes the update that `change` (applied to a copy of the current config) makes; unsigned."""
    original = channel_config(ctx, org)
    updated = configtx_pb2.Config()
    updated.CopyFrom(original)
    change(updated)
    path = update_file(ctx, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="seocho-update-") as directory:
        workdir = Path(directory)
        (workdir / "original.pb").write_bytes(original.SerializeToString())
        (workdir / "updated.pb").write_bytes(updated.SerializeToString())
        run_tool(
            [ctx.binaries.tool("configtxlator"), "compute_update", "--channel_id", ctx.topology.channel,
             "--original", workdir / "original.pb", "--updated", workdir / "updated.pb",
             "--output", workdir / "update.pb"],
            node_environment(), what="configtxlator compute_update",
        )  # fmt: skip
        update = (workdir / "update.pb").read_bytes()
    header = common_pb2.ChannelHeader(type=_CONFIG_UPDATE, channel_id=ctx.topology.channel)
    payload = common_pb2.Payload(
        header=common_pb2.Header(channel_header=header.SerializeToString()),
        data=configtx_pb2.ConfigUpdateEnvelope(config_update=update).SerializeToString(),
    )
    path.write_bytes(common_pb2.Envelope(payload=payload.SerializeToString()).SerializeToString())
    ctx.say(f"  {path}: proposed by {org.msp_id}")
    return path


def signers(path: Path) -> list[str]:
    """The MSP ids whose admins signed the update so far."""
    from fabric_protos.msp import identities_pb2

    envelope = common_pb2.Envelope.FromString(path.read_bytes())
    payload = common_pb2.Payload.FromString(envelope.payload)
    update = configtx_pb2.ConfigUpdateEnvelope.FromString(payload.data)
    found = []
    for signature in update.signatures:
        header = common_pb2.SignatureHeader.FromString(signature.signature_header)
        found.append(identities_pb2.SerializedIdentity.FromString(header.creator).mspid)
    return found


def sign(ctx: NetworkContext, org: Organization, path: Path) -> None:
    """`org`'s admin adds its signature to the update file (offline: nothing is sent)."""
    if org.msp_id in signers(path):
        ctx.say(f"  {path.name}: signed by {org.msp_id} already")
        return
    # `signconfigtx` rewrites the file it is given: it signs a copy of the signer's own beside it, which
    # then replaces the file. Only the directory need be writable by the signer, not the file, so the
    # organisations' accounts sign in turn in a shared group directory (accounts.py) what another wrote.
    descriptor, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".signing", dir=path.parent)
    signing = Path(name)
    try:
        with os.fdopen(descriptor, "wb") as copy:
            copy.write(path.read_bytes())
        ctx.peer_admin(org.peers[0]).run(["channel", "signconfigtx", "-f", str(signing)])
        signing.chmod((path.stat().st_mode & 0o777) | 0o040)  # public: the other signers read it
        os.replace(signing, path)
    finally:
        signing.unlink(missing_ok=True)
    ctx.say(f"  {path.name}: signed by {org.msp_id}")


def submit(ctx: NetworkContext, org: Organization, path: Path) -> None:
    """`org`'s admin sends the update to the ordering service, adding its own signature.

    (The policies count each identity once, so a submitter that signed already adds nothing.)"""
    admin = ctx.peer_admin(org.peers[0])
    signed = sorted({*signers(path), org.msp_id})
    admin.run(["channel", "update", "-f", str(path), "-c", ctx.topology.channel, *admin.orderer_flags_any()])
    ctx.say(f"  {path.name}: submitted by {org.msp_id} (signed by {', '.join(signed)})")
