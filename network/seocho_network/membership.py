"""Organisations joining (and leaving) the running channel, as config updates the members sign.

A joining organisation hands over its public definition (`definitions`); an existing member proposes
from it, in turn:

1. `propose_add_org`: its MSP in the Application group (anchor peer included) and, if it runs orderers,
   in the Orderer group (its endpoints). Both groups' Admins policies are MAJORITY, so most members sign.
2. `propose_add_consenter`: one of its orderers into the Raft consenter set. One consenter per update:
   Raft changes its membership one node at a time, and a quorum must stay reachable in between.
3. `join_running_channel`: its orderers join through osnadmin with the channel's latest config block
   (they pull the chain from the others), then its peers join from block 0 and catch up.

`remove_org` is the reverse: its consenters leave one at a time, then its groups go; its identities are
then no member of the channel and every peer and orderer refuses them.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from fabric_protos.common import configtx_pb2
from fabric_protos.orderer import configuration_pb2 as orderer_config_pb2
from fabric_protos.orderer.etcdraft import configuration_pb2 as etcdraft_pb2

from .admin import wait_until
from .binaries import CommandError, run_tool
from .config_updates import Change, propose
from .configs import node_environment
from .context import NetworkContext, NetworkError
from .definitions import DEFINITION_FILE
from .topology import LOOPBACK, Orderer, Organization

APPLICATION, ORDERER = "Application", "Orderer"
CATCH_UP_TIMEOUT = 300.0


@dataclass(frozen=True)
class OrdererEntry:
    host: str
    address: str
    cluster_port: int
    tls_cert: Path

    @property
    def cluster_host(self) -> str:
        return self.address.rsplit(":", 1)[0]


@dataclass(frozen=True)
class OrgDefinition:
    """A joining organisation as its handed-over definition directory says (public files only)."""

    directory: Path
    name: str
    msp_id: str
    domain: str
    anchor_peers: tuple[str, ...]
    orderers: tuple[OrdererEntry, ...]

    @property
    def msp_dir(self) -> Path:
        return self.directory / "msp"


def read_definition(directory: Path) -> OrgDefinition:
    """Reads and checks an organisation's definition directory (`org definition` wrote it)."""
    path = directory / DEFINITION_FILE
    try:
        document: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
        orderers = tuple(
            OrdererEntry(
                str(o["host"]), str(o["address"]), int(o["cluster_port"]),
                directory / "orderers" / f"{o['host']}.crt",
            )
            for o in document.get("orderers") or ()
        )  # fmt: skip
        definition = OrgDefinition(
            directory, str(document["name"]), str(document["msp_id"]), str(document["domain"]),
            tuple(str(p["address"]) for p in document.get("anchor_peers") or ()), orderers,
        )  # fmt: skip
    except OSError as exc:
        raise NetworkError(f"cannot read {path}: {exc.strerror}") from None
    except (yaml.YAMLError, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise NetworkError(f"{path} is not an organisation definition: {exc!r}") from None
    missing = [
        p for p in (definition.msp_dir / "cacerts", definition.msp_dir / "tlscacerts") if not p.is_dir()
    ]
    missing += [o.tls_cert for o in orderers if not o.tls_cert.is_file()]
    if missing:
        raise NetworkError(f"{directory}: the definition lacks {missing[0]}")
    return definition


def _org_group(ctx: NetworkContext, definition: OrgDefinition, for_orderer: bool) -> configtx_pb2.ConfigGroup:
    """The organisation's config group as configtxgen writes it: MSP, policies, and anchor peers
    (Application) or orderer endpoints (Orderer)."""
    msp = definition.msp_id
    section: dict[str, Any] = {
        "Name": definition.name,
        "ID": msp,
        "MSPDir": str(definition.msp_dir.resolve()),
        "Policies": {
            "Readers": {"Type": "Signature", "Rule": f"OR('{msp}.member')"},
            "Writers": {"Type": "Signature", "Rule": f"OR('{msp}.member')"},
            "Admins": {"Type": "Signature", "Rule": f"OR('{msp}.admin')"},
            "Endorsement": {"Type": "Signature", "Rule": f"OR('{msp}.peer')"},
        },
    }
    if for_orderer:
        section["OrdererEndpoints"] = [o.address for o in definition.orderers]
    else:
        section["AnchorPeers"] = [
            {"Host": a.rsplit(":", 1)[0], "Port": int(a.rsplit(":", 1)[1])} for a in definition.anchor_peers
        ]
    with tempfile.TemporaryDirectory(prefix="seocho-org-") as directory:
        workdir = Path(directory)
        (workdir / "configtx.yaml").write_text(yaml.safe_dump({"Organizations": [section]}), encoding="utf-8")
        printed = run_tool(
            [ctx.binaries.tool("configtxgen"), "-configPath", workdir, "-printOrg", definition.name],
            {"PATH": "/usr/bin:/bin"}, what="configtxgen -printOrg",
        )  # fmt: skip
        # configtxlator decodes an MSP value only where a config puts it (under the Application or
        # Orderer group), so the group travels inside a config that holds only it.
        parent = ORDERER if for_orderer else APPLICATION
        wrapped = {"channel_group": {"groups": {parent: {"groups": {definition.name: json.loads(printed)}}}}}
        (workdir / "org.json").write_text(json.dumps(wrapped), encoding="utf-8")
        run_tool(
            [ctx.binaries.tool("configtxlator"), "proto_encode", "--type", "common.Config",
             "--input", workdir / "org.json", "--output", workdir / "org.pb"],
            node_environment(), what="configtxlator proto_encode",
        )  # fmt: skip
        config = configtx_pb2.Config.FromString((workdir / "org.pb").read_bytes())
        return config.channel_group.groups[parent].groups[definition.name]


def propose_add_org(ctx: NetworkContext, proposer: Organization, directory: Path) -> Path:
    """The update adding the organisation of `directory` to the channel; `proposer` writes it, unsigned."""
    definition = read_definition(directory)
    groups = {APPLICATION: _org_group(ctx, definition, for_orderer=False)}
    if definition.orderers:
        groups[ORDERER] = _org_group(ctx, definition, for_orderer=True)

    def change(config: configtx_pb2.Config) -> None:
        for name, group in groups.items():
            members = config.channel_group.groups[name].groups
            if definition.name in members:
                raise NetworkError(f"{definition.name} is a member of the channel's {name} group already")
            if any(_msp_id(g) == definition.msp_id for g in members.values()):
                raise NetworkError(f"another organisation of the {name} group has MSP id {definition.msp_id}")
            members[definition.name].CopyFrom(group)

    return propose(ctx, proposer, f"add-org-{definition.name.lower()}", change)


def _msp_id(group: configtx_pb2.ConfigGroup) -> str:
    from fabric_protos.msp import msp_config_pb2

    msp = msp_config_pb2.MSPConfig.FromString(group.values["MSP"].value)
    return str(msp_config_pb2.FabricMSPConfig.FromString(msp.config).name)


def _consenters(
    config: configtx_pb2.Config,
) -> tuple[orderer_config_pb2.ConsensusType, etcdraft_pb2.ConfigMetadata]:
    value = config.channel_group.groups[ORDERER].values["ConsensusType"]
    consensus = orderer_config_pb2.ConsensusType.FromString(value.value)
    if consensus.type != "etcdraft":
        raise NetworkError(f"the channel orders with {consensus.type!r}: consenters here are Raft's")
    return consensus, etcdraft_pb2.ConfigMetadata.FromString(consensus.metadata)


def _changing_consenters(change: Callable[[etcdraft_pb2.ConfigMetadata], None]) -> Change:
    """A config change that applies `change` to the Raft consenter set."""

    def apply(updated: configtx_pb2.Config) -> None:
        consensus, metadata = _consenters(updated)
        change(metadata)
        consensus.metadata = metadata.SerializeToString()
        updated.channel_group.groups[ORDERER].values["ConsensusType"].value = consensus.SerializeToString()

    return apply


def propose_add_consenter(
    ctx: NetworkContext, proposer: Organization, directory: Path, host: str | None = None
) -> Path:
    """The update adding one orderer of the organisation of `directory` (default: its first not yet a
    consenter) to the Raft consenter set."""
    definition = read_definition(directory)
    if not definition.orderers:
        raise NetworkError(f"{definition.name} runs no orderer")
    chosen: list[OrdererEntry] = []

    def add(metadata: etcdraft_pb2.ConfigMetadata) -> None:
        present = {(c.host, c.port) for c in metadata.consenters}
        candidates = [
            o for o in definition.orderers
            if (host is None or o.host == host) and (o.cluster_host, o.cluster_port) not in present
        ]  # fmt: skip
        if not candidates:
            wanted = host or f"every orderer of {definition.name}"
            raise NetworkError(f"{wanted}: a consenter already, or no orderer of the definition")
        entry = candidates[0]
        pem = entry.tls_cert.read_bytes()
        metadata.consenters.add(
            host=entry.cluster_host, port=entry.cluster_port, client_tls_cert=pem, server_tls_cert=pem
        )
        chosen.append(entry)

    path = propose(ctx, proposer, f"add-consenter-{definition.name.lower()}", _changing_consenters(add))
    ctx.say(f"  consenter {chosen[0].host} ({chosen[0].cluster_host}:{chosen[0].cluster_port})")
    return path


def propose_remove_consenter(ctx: NetworkContext, proposer: Organization, orderer: Orderer) -> Path:
    """The update taking `orderer` out of the Raft consenter set (one at a time, as Raft needs)."""

    def remove(metadata: etcdraft_pb2.ConfigMetadata) -> None:
        kept = [c for c in metadata.consenters if (c.host, c.port) != (LOOPBACK, orderer.cluster_port)]
        if len(kept) == len(metadata.consenters):
            raise NetworkError(f"{orderer.node_id} is not a consenter")
        del metadata.consenters[:]
        metadata.consenters.extend(kept)

    name = f"remove-consenter-{orderer.node_id}"
    return propose(ctx, proposer, name, _changing_consenters(remove))


def propose_remove_org(ctx: NetworkContext, proposer: Organization, leaving: Organization) -> Path:
    """The update removing `leaving` from the Application and Orderer groups (its consenters left first)."""

    def change(config: configtx_pb2.Config) -> None:
        if ORDERER in config.channel_group.groups and leaving.orderers:
            _, metadata = _consenters(config)
            ports = {o.cluster_port for o in leaving.orderers}
            if any(c.port in ports and c.host == LOOPBACK for c in metadata.consenters):
                raise NetworkError(f"{leaving.name}'s orderers are consenters still: remove them first")
        found = False
        for name in (APPLICATION, ORDERER):
            members = config.channel_group.groups[name].groups
            if leaving.name in members:
                del members[leaving.name]
                found = True
        if not found:
            raise NetworkError(f"{leaving.name} is no member of the channel")

    return propose(ctx, proposer, f"remove-org-{leaving.name.lower()}", change)


def _fetch(ctx: NetworkContext, org: Organization, which: str, via: Orderer, out: Path) -> Path:
    """`org`'s admin fetches block `which` ("config", "0", ...) of the channel from orderer `via`."""
    flags = ["-o", via.address, "--tls", "--cafile", str(ctx.layout.definition_tls_root(via.org))]
    ctx.peer_admin(org.peers[0]).run(
        ["channel", "fetch", which, str(out), "-c", ctx.topology.channel, *flags]
    )
    return out


def join_running_channel(ctx: NetworkContext, org: Organization) -> None:
    """`org`'s orderers join with the latest config block; its peers from block 0; both catch up."""
    join_running_orderers(ctx, org)
    join_running_peers(ctx, org)


def _member_orderers(ctx: NetworkContext, org: Organization) -> list[Orderer]:
    members = [o for o in ctx.topology.orderers if o.org is not org]
    if not members:
        raise NetworkError("no orderer of another organisation to fetch the channel from")
    return members


def join_running_orderers(ctx: NetworkContext, org: Organization) -> None:
    """`org`'s orderers join with the channel's latest config block and catch up (members are left)."""
    channel = ctx.topology.channel
    members = _member_orderers(ctx, org)
    blocks = ctx.layout.updates_dir
    blocks.mkdir(parents=True, exist_ok=True)
    target = _chain_height(ctx, members[0])
    for orderer in org.orderers:
        admin = ctx.orderer_admin(orderer)
        if channel not in admin.channels():
            latest = _fetch(ctx, org, "config", members[0], blocks / f"{org.domain}-latest-config.block")
            admin.join(channel, latest)
            ctx.say(f"  {orderer.node_id}: joined {channel} from its latest config block")

        def caught_up(admin: Any = admin) -> bool:
            try:
                info = admin.info(channel)
            except CommandError:
                return False
            return info.get("status") == "active" and int(info.get("height", 0)) >= target

        wait_until(caught_up, f"{orderer.node_id} onboarding", CATCH_UP_TIMEOUT, lambda: True)
        ctx.say(f"  {orderer.node_id}: active consenter, height >= {target}")


def join_running_peers(ctx: NetworkContext, org: Organization) -> None:
    """`org`'s peers that are no member yet join from block 0; every one of them catches up."""
    channel = ctx.topology.channel
    members = _member_orderers(ctx, org)
    blocks = ctx.layout.updates_dir
    blocks.mkdir(parents=True, exist_ok=True)
    # From a member's orderer: the new one may answer SERVICE_UNAVAILABLE a moment after it became active.
    genesis = _fetch(ctx, org, "0", members[0], blocks / f"{org.domain}-block0.block")
    target = _chain_height(ctx, members[0])
    for peer in org.peers:
        peer_admin = ctx.peer_admin(peer)
        if channel not in peer_admin.channels():
            peer_admin.join(genesis)
            ctx.say(f"  {peer.node_id}: joined {channel} from block 0")

        def peer_caught_up(peer_admin: Any = peer_admin) -> bool:
            try:
                return int(peer_admin.height(channel)) >= target
            except CommandError:
                return False

        wait_until(peer_caught_up, f"{peer.node_id} catching up", CATCH_UP_TIMEOUT, lambda: True)
        ctx.say(f"  {peer.node_id}: caught up (height >= {target})")


def _chain_height(ctx: NetworkContext, orderer: Orderer) -> int:
    return int(ctx.orderer_admin(orderer).info(ctx.topology.channel).get("height", 0))


def is_consenter(ctx: NetworkContext, orderer: Orderer) -> bool:
    """Whether the orderer's own view of the channel makes it a consenter (osnadmin)."""
    info = ctx.orderer_admin(orderer).info(ctx.topology.channel)
    return info.get("consensusRelation") == "consenter"


def is_member(config: configtx_pb2.Config, org: Organization) -> bool:
    """Whether the channel's Application group has `org`."""
    return org.name in config.channel_group.groups[APPLICATION].groups


def consenter_ports(config: configtx_pb2.Config) -> set[tuple[str, int]]:
    """The Raft consenters' cluster endpoints (host, port)."""
    _, metadata = _consenters(config)
    return {(c.host, c.port) for c in metadata.consenters}
