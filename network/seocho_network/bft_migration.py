"""Raft to SmartBFT on the running channel, as Fabric's "Migrating from Raft to BFT" lays it out.

Needs every node on Fabric 3 and the channel's V3_0 capability (`upgrade`). The phases:

    0. 3f+1 Raft consenters first: the orderers the topology runs only with BFT (`only_with: bft`) come
       up, are added to the Raft consenter set one update each, and join with the latest config block;
       their organisation announces them among its orderer endpoints. (BFT must start from the same
       consenters Raft had: the orderers check that every Raft consenter has its BFT twin.)
    1. the peers stopped (as Fabric advises: then no peer has a block past the orderers' backup point,
       and a rollback needs no peer restored), then maintenance mode (`ConsensusType.State`): the
       orderers refuse transactions from then on, so the backup that follows is coherent;
    2. every orderer stopped, its data copied to backups/raft-before-bft/<node>, started again;
    3. one update: the type `BFT`, the SmartBFT options, the consenter mapping (with each orderer's
       signing identity) and the BlockValidation policy a quorum of them satisfies;
    4. every orderer restarted: it comes back as a SmartBFT node; wait for a view leader a quorum names;
    5. maintenance mode off; the peers started again, fetching blocks with the BFT deliverer.

The BFT values are what configtxgen renders for the topology as a new BFT channel (the same
configtx.yaml a BFT network is created from), so a migrated channel and a new one agree. Every update is
signed by the ordering organisations' admins (the Orderer group's Admins policy, MAJORITY of them).
Ordering stops from phase 1 to phase 5: Fabric documents a maintenance window, and so does the runbook.
"""

from __future__ import annotations

import re
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from fabric_protos.common import common_pb2, configtx_pb2
from fabric_protos.orderer import configuration_pb2 as orderer_pb2

from . import channel, config_updates, crypto, membership
from .binaries import CommandError
from .configs import write_configtx, write_genesis_block
from .context import NetworkContext, NetworkError
from .definitions import write_definition
from .network import Network
from .org_join import majority, sign_and_submit, submit_consenter_change
from .topology import BFT, LOOPBACK, RAFT, Orderer, Organization, load_topology
from .upgrade import (
    V3_CAPABILITY,
    backup,
    channel_capabilities,
    wait_for_condition,
    wait_for_peer,
)

ORDERER = "Orderer"
MAINTENANCE = orderer_pb2.ConsensusType.State.Value("STATE_MAINTENANCE")
NORMAL = orderer_pb2.ConsensusType.State.Value("STATE_NORMAL")
BACKUP_LABEL = "raft-before-bft"  # backups/<label>/<node>: the orderers' Raft data, the rollback's point
SWITCH_HEIGHT_FILE = "bft-switch-height"  # in backups/<label>: the orderers' height once the type is BFT
# gRPC's first reconnect backoffs are 1 s, then 1.6 s (with jitter): a pause past them makes it likely,
# not certain, that every cluster link is up before the first block after the restart (no metric tells:
# an orderer reports a link only once a message went over it).
_CLUSTER_SETTLE_SECONDS = 3.0
_ORDERING_TYPE_LINE = re.compile(
    r"^(ordering:\n(?:[ \t]+.*\n|[ \t]*#.*\n|\n)*?[ \t]+type:[ \t]*)raft\b", re.M
)


@dataclass
class MigrationReport:
    steps: list[tuple[str, float]] = field(default_factory=list)

    @property
    def total(self) -> float:
        return sum(seconds for _, seconds in self.steps)


STOP_POINTS = ("normal",)
"""Where `stop_before` may stop the migration: `normal`, before maintenance mode off (the orderers run
SmartBFT, the peers are stopped): the last point `bft_rollback.rollback_to_raft` can go back from."""


def migrate_to_bft(network: Network, topology_file: Path, stop_before: str | None = None) -> MigrationReport:
    """Migrates the channel from Raft to SmartBFT (phases 0 to 5 above); records `ordering.type: bft`.
    With `stop_before="normal"` it stops before phase 5; run without it, it finishes from there."""
    if stop_before is not None and stop_before not in STOP_POINTS:
        raise NetworkError(f"the migration stops only before {', '.join(STOP_POINTS)}, not {stop_before!r}")
    if network.topology.orderer_type == BFT and current_consensus(network).type == "BFT":
        network.say("bft: the channel is ordered by SmartBFT already")
        return MigrationReport()
    if network.topology.orderer_type != RAFT:
        raise NetworkError("the channel is not ordered by Raft")
    if network.topology.fabric_major < 3 or V3_CAPABILITY not in channel_capabilities(network):
        raise NetworkError(
            f"Raft to BFT needs Fabric 3 nodes and the {V3_CAPABILITY} capability (upgrade first)"
        )
    raft = with_orderers_of(network, topology_file, BFT, as_type=RAFT)  # every BFT orderer, still Raft
    bft = at_type(raft, BFT)
    if len(raft.topology.orderers) < 4:
        raise NetworkError(f"BFT needs 3f+1 orderers; the topology has {len(raft.topology.orderers)}")
    report = MigrationReport()
    added = new_orderers(network, raft)

    peers_stopped = False  # from the step that stops them until they are started again

    def step(what: str, action: Callable[[], object]) -> None:
        began = time.monotonic()
        network.say(f"bft: {what}")
        try:
            action()
        except (NetworkError, RuntimeError) as exc:
            # The orderers BFT adds may run by now, and `down` knows them only once the topology says bft.
            running = ", ".join(o.node_id for orderers in added.values() for o in orderers)
            stopped = ""
            if peers_stopped:
                peers = ", ".join(p.node_id for p in raft.topology.peers)
                stopped = (
                    f"; the peers {peers} may still be stopped: once the orderers serve the channel, "
                    "`scripts/network.sh start NODE` starts one, `scripts/network.sh up` every node "
                    "that is down"
                )
            raise NetworkError(
                f"Raft to BFT stopped at '{what}': {exc}\n"
                f"(the added orderers {running} may be running{stopped}; {_how_to_go_on(raft)})"
            ) from None
        report.steps.append((what, time.monotonic() - began))

    # Resumed once the type is BFT (in maintenance): the Raft consenter steps cannot read a BFT config.
    if current_consensus(raft).type != "BFT":
        step("the orderers BFT adds up", lambda: bring_up_orderers(raft, added))
        rendered = bft_channel_config(bft)
        step("3f+1 Raft consenters", lambda: add_raft_consenters(raft, added, rendered))
        # Fabric: stop the peers first, so that no peer has a block past the orderers' backup point.
        peers_stopped = True
        step("peers stopped", lambda: raft.runtime.stop(list(reversed(raft.topology.peers))))
        step("maintenance mode", lambda: set_state(raft, MAINTENANCE))
        step("orderers backed up", lambda: backup_orderers(raft))
        step("consensus type BFT", lambda: switch_to_bft(raft, rendered))
    peers_stopped = True
    if runs_smartbft(bft):  # resumed after --stop-before normal, or after a failure past the restart
        network.say("bft: the orderers run SmartBFT already")
    else:
        step("orderers restarted as SmartBFT nodes", lambda: restart_orderers(raft, bft))
    if stop_before == "normal":
        return report  # the caller says where it stopped and what can follow
    step("maintenance mode off", lambda: set_state(bft, NORMAL))
    step("peers started on the BFT deliverer", lambda: start_peers(bft))
    peers_stopped = False
    record_ordering_type(topology_file, BFT)
    network.say(f"bft: {topology_file} records ordering type bft")
    return report


def _how_to_go_on(raft: NetworkContext) -> str:
    """What an operator can do after a failed step: resume, always; roll back, unless the channel has
    left maintenance mode on BFT (then BFT ordered blocks a restored Raft would not know)."""
    try:
        ordering = current_consensus(raft)
    except (NetworkError, RuntimeError, CommandError):
        return (
            "run the same command again to resume; `rollback-bft` goes back to Raft unless the channel "
            "has left maintenance mode on BFT (it refuses then)"
        )
    if ordering.type == "BFT" and ordering.state == NORMAL:
        return "run the same command again to finish (the channel left maintenance mode on BFT: no rollback)"
    return "run the same command again to resume, or `rollback-bft` to go back to Raft"


def migration_under_way(network: NetworkContext) -> bool:
    """The channel is in the migration's maintenance window or on BFT while the topology still says
    Raft: every node runs Fabric 3 already, and the peers may be stopped (no rolling upgrade then)."""
    if network.topology.orderer_type != RAFT or network.topology.fabric_major < 3:
        return False
    ordering = current_consensus(network)
    return ordering.type == "BFT" or ordering.state == MAINTENANCE


def runs_smartbft(bft: Network) -> bool:
    """Every orderer of `bft` is up and a quorum of them names one SmartBFT view leader."""
    states = bft.runtime.states()
    every_up = all(states.get(o.node_id) == "up" for o in bft.topology.orderers)
    return every_up and channel.bft_leader(bft) is not None


def with_orderers_of(network: Network, topology_file: Path, kind: str, as_type: str) -> Network:
    """The network with the orderers the topology runs for consensus `kind`, its type said as `as_type`."""
    topology = load_topology(topology_file, network.topology.port_offset, orderer_type=kind)
    topology = replace(topology, orderer_type=as_type, fabric_version=network.topology.fabric_version)
    return Network(topology, network.layout, network.binaries, network.say, network.runtime_name)


def at_type(network: Network, kind: str) -> Network:
    topology = replace(network.topology, orderer_type=kind)
    return Network(topology, network.layout, network.binaries, network.say, network.runtime_name)


def bft_channel_config(bft: NetworkContext) -> configtx_pb2.Config:
    """The config configtxgen renders for the topology as a new BFT channel (the channel's own
    configtx.yaml is left as it was until the migration is done)."""
    configtx = bft.layout.channel_dir / "configtx.yaml"
    kept = configtx.read_bytes() if configtx.exists() else None
    try:
        with tempfile.TemporaryDirectory(prefix="seocho-bft-") as directory:
            block_file = Path(directory) / "bft.block"
            write_genesis_block(
                bft.binaries, write_configtx(bft.layout, bft.topology), bft.topology.channel, block_file
            )
            block = common_pb2.Block.FromString(block_file.read_bytes())
    finally:
        if kept is not None:
            configtx.write_bytes(kept)
    envelope = common_pb2.Envelope.FromString(block.data.data[0])
    payload = common_pb2.Payload.FromString(envelope.payload)
    return configtx_pb2.ConfigEnvelope.FromString(payload.data).config


def new_orderers(network: Network, raft: Network) -> dict[Organization, list[Orderer]]:
    """The orderers BFT adds, by organisation (not in `network`'s topology, in `raft`'s)."""
    known = {o.node_id for o in network.topology.orderers}
    found = {org: [o for o in org.orderers if o.node_id not in known] for org in raft.topology.organizations}
    return {org: orderers for org, orderers in found.items() if orderers}


def bring_up_orderers(raft: Network, added: dict[Organization, list[Orderer]]) -> None:
    """Their identities from their organisation's CAs, its definition with them, and them running."""
    for org, orderers in added.items():
        for line in crypto.issue_organization(raft.layout, org):
            raft.say(f"  {line}")
        write_definition(raft, org)
        raft.runtime.start(orderers)


def add_raft_consenters(
    raft: Network, added: dict[Organization, list[Orderer]], rendered: configtx_pb2.Config
) -> None:
    """Each added orderer becomes a Raft consenter (one update each) and joins; endpoints announced."""
    proposer = raft.topology.organizations[0]
    signers = majority(raft.topology.ordering_organizations)
    consenters = membership.consenter_ports(config_updates.channel_config(raft, proposer))
    for org, orderers in added.items():
        for orderer in orderers:
            if (LOOPBACK, orderer.cluster_port) not in consenters:
                definition = raft.layout.definition(org)
                update = membership.propose_add_consenter(raft, proposer, definition, host=orderer.node_id)
                submit_consenter_change(raft, update, signers)
        announce_endpoints(raft, org, rendered)
        membership.join_running_channel(raft, org)
    channel.wait_for_ordering_leader(raft)


def is_raft_consenter(ctx: NetworkContext, orderer: Orderer) -> bool:
    config = config_updates.channel_config(ctx, ctx.topology.organizations[0])
    return (LOOPBACK, orderer.cluster_port) in membership.consenter_ports(config)


def announce_endpoints(ctx: NetworkContext, org: Organization, rendered: configtx_pb2.Config) -> None:
    wanted = rendered.channel_group.groups[ORDERER].groups[org.name].values["Endpoints"]
    current = config_updates.channel_config(ctx, org).channel_group.groups[ORDERER].groups[org.name]
    if current.values["Endpoints"].value == wanted.value:
        return

    def change(config: configtx_pb2.Config) -> None:
        config.channel_group.groups[ORDERER].groups[org.name].values["Endpoints"].value = wanted.value

    # The organisation's own group: its own admin's signature is what its Admins policy asks.
    config_updates.submit(
        ctx, org, config_updates.propose(ctx, org, f"orderer-endpoints-{org.name.lower()}", change)
    )


def sign_as_ordering(ctx: NetworkContext, update: Path) -> None:
    """The Orderer group's Admins (MAJORITY of the ordering organisations) sign; the first submits."""
    sign_and_submit(ctx, update, ctx.topology.ordering_organizations)


def consensus(config: configtx_pb2.Config) -> orderer_pb2.ConsensusType:
    return orderer_pb2.ConsensusType.FromString(
        config.channel_group.groups[ORDERER].values["ConsensusType"].value
    )


def current_consensus(ctx: NetworkContext) -> orderer_pb2.ConsensusType:
    return consensus(config_updates.channel_config(ctx, ctx.topology.organizations[0]))


def set_state(ctx: NetworkContext, state: int) -> None:
    """Enters or leaves maintenance mode: an update of ConsensusType.State alone, as Fabric requires."""
    name = orderer_pb2.ConsensusType.State.Name(state)
    if current_consensus(ctx).state == state:
        ctx.say(f"  consensus state {name} already")
        return

    def change(config: configtx_pb2.Config) -> None:
        value = consensus(config)
        value.state = state
        config.channel_group.groups[ORDERER].values["ConsensusType"].value = value.SerializeToString()

    sign_as_ordering(
        ctx, config_updates.propose(ctx, ctx.topology.organizations[0], f"consensus-{name.lower()}", change)
    )
    wait_for_condition(ctx, lambda: current_consensus(ctx).state == state, f"consensus state {name}")
    _wait_for_orderer_heights(ctx)


def backup_orderers(ctx: Network) -> None:
    """Every orderer stopped, its data copied (the rollback point), started again (still Raft)."""
    if current_consensus(ctx).type == "BFT":
        ctx.say("  the channel's type is BFT already: the backup was taken before")
        return
    orderers = list(ctx.topology.orderers)
    ctx.runtime.stop(orderers)
    for orderer in orderers:
        backup(ctx, orderer.node_id, BACKUP_LABEL)
    ctx.runtime.start(orderers)
    channel.wait_for_ordering_leader(ctx)


def switch_to_bft(ctx: NetworkContext, rendered: configtx_pb2.Config) -> None:
    """Type BFT with the SmartBFT options, the consenter mapping and the BlockValidation policy, all
    from the rendered BFT config; still in maintenance mode."""
    if current_consensus(ctx).type == "BFT":
        ctx.say("  consensus type BFT already")
        return
    wanted = rendered.channel_group.groups[ORDERER]

    def change(config: configtx_pb2.Config) -> None:
        group = config.channel_group.groups[ORDERER]
        value = consensus(config)
        bft = orderer_pb2.ConsensusType.FromString(wanted.values["ConsensusType"].value)
        value.type, value.metadata = bft.type, bft.metadata
        group.values["ConsensusType"].value = value.SerializeToString()
        group.values["Orderers"].CopyFrom(wanted.values["Orderers"])
        group.policies["BlockValidation"].policy.CopyFrom(wanted.policies["BlockValidation"].policy)

    sign_as_ordering(
        ctx, config_updates.propose(ctx, ctx.topology.organizations[0], "consensus-type-bft", change)
    )
    wait_for_condition(ctx, lambda: current_consensus(ctx).type == "BFT", "consensus type BFT")
    _wait_for_orderer_heights(ctx)
    # In maintenance nothing but leaving it is ordered from here on: the rollback's evidence that BFT
    # ordered nothing is no orderer above this height.
    height = max(h for h in channel.orderer_heights(ctx).values() if h is not None)
    recorded = switch_height_file(ctx)
    recorded.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    recorded.write_text(f"{height}\n", encoding="utf-8")


def restart_orderers(raft: Network, bft: Network) -> None:
    """The migration's config block is the last before the restart: every orderer comes back on BFT."""
    orderers = list(raft.topology.orderers)
    raft.runtime.stop(orderers)
    bft.runtime.start(orderers)
    channel.wait_for_ordering_leader(bft)
    # Each orderer's start waited for its cluster port (the runtime's readiness), but the ones started
    # before it may have tried a link to it while it was down and be in gRPC's reconnect backoff: a
    # consensus message sent then is lost (SmartBFT does not send it again). A pause past the first
    # backoffs makes the first block after the restart likely to reach every orderer; one that misses
    # it is harmless, as the quorum wait after maintenance off knows (`set_state`).
    time.sleep(_CLUSTER_SETTLE_SECONDS)


def start_peers(bft: Network) -> None:
    """The peers again, each until it has caught up; they fetch blocks with the BFT deliverer now."""
    # All of them first: each waits until gossip shows it the others.
    bft.runtime.start(list(bft.topology.peers))
    for peer in bft.topology.peers:
        wait_for_peer(bft, peer)


def switch_height_file(ctx: NetworkContext) -> Path:
    """The orderers' height recorded once the type is BFT (next to the orderers' Raft backups)."""
    return ctx.layout.root / "backups" / BACKUP_LABEL / SWITCH_HEIGHT_FILE


def equal_heights(heights: dict[str, int | None]) -> bool:
    """Every orderer answered, all at the same height."""
    return None not in heights.values() and len(set(heights.values())) == 1


def quorum_at_highest(heights: dict[str, int | None]) -> bool:
    """A SmartBFT quorum of the orderers answered at the highest height any of them reports."""
    answered = [h for h in heights.values() if h is not None]
    return bool(answered) and answered.count(max(answered)) >= channel.bft_quorum(len(heights))


def _wait_for_orderer_heights(ctx: NetworkContext) -> None:
    """On Raft until every orderer is at the same height; on SmartBFT until a quorum is at the highest.

    SmartBFT commits a block once a quorum has it. On an idle channel an orderer that missed the one
    block after the restart learns it is behind only from the next one (it then syncs from the others):
    waiting for all of them could wait for ever, waiting for the quorum cannot."""
    if ctx.topology.orderer_type == BFT:
        quorum = channel.bft_quorum(len(ctx.topology.orderers))
        what = f"{quorum} of {len(ctx.topology.orderers)} orderers at the same height"
        wait_for_condition(ctx, lambda: quorum_at_highest(channel.orderer_heights(ctx)), what)
    else:
        wait_for_condition(
            ctx, lambda: equal_heights(channel.orderer_heights(ctx)), "every orderer at the same height"
        )


def record_ordering_type(topology_file: Path, kind: str) -> None:
    """Sets the topology file's `ordering.type` (its comments and layout kept)."""
    text = topology_file.read_text(encoding="utf-8")
    changed, count = _ORDERING_TYPE_LINE.subn(lambda m: m.group(1) + kind, text, count=1)
    if count == 0 and load_topology(topology_file).orderer_type != kind:
        raise NetworkError(
            f"{topology_file}: no `ordering: type: raft` to change; set `type: {kind}` by hand"
        )
    topology_file.write_text(changed, encoding="utf-8")
