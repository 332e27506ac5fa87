"""Back to Raft from a Raft to SmartBFT migration that has not left maintenance mode (the runbook's
rollback: network/docker/README.md, "Raft to SmartBFT").

Possible only before the migration's "maintenance mode off" (`migrate_to_bft`; the runbook's step 10):
until then nothing was ordered since the orderers' backup (maintenance mode refuses transactions) and the
peers are stopped (none has a block past it). Once the channel has left maintenance on BFT, BFT has
ordered blocks a restored Raft would not know: there is no way back, and `rollback_to_raft` refuses.

    1. every orderer the migration runs stopped; its BFT data moved to backups/bft-rolled-back/<node>,
       backups/raft-before-bft/<node>/data put in its place; started as a Raft node. Skipped while the
       channel's type is still Raft (the migration stopped before "consensus type BFT"). The backups are
       removed once Raft serves again, so a later migration takes fresh ones;
    2. maintenance mode off (STATE_NORMAL), signed as the migration's updates are;
    3. the peers that are down started, each until it has caught up;
    4. the orderers the migration added (`only_with: bft`) leave: their organisation announces the Raft
       topology's endpoints again, each leaves the Raft consenter set, stops, and its data is moved aside
       (a later migration starts it afresh). The channel is then as it was before the migration.

Run again after an interruption, it resumes: each step checks what is left to do.
"""

from __future__ import annotations

import functools
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from fabric_protos.orderer import configuration_pb2 as orderer_pb2

from . import channel, membership
from .bft_migration import (
    BACKUP_LABEL,
    MAINTENANCE,
    NORMAL,
    MigrationReport,
    announce_endpoints,
    bft_channel_config,
    current_consensus,
    equal_heights,
    is_raft_consenter,
    new_orderers,
    set_state,
    switch_height_file,
    with_orderers_of,
)
from .context import NetworkContext, NetworkError
from .network import Network
from .org_join import majority, submit_consenter_change
from .topology import BFT, RAFT, Orderer, load_topology
from .upgrade import backup_path, wait_for_condition, wait_for_peer

ABANDONED_LABEL = "bft-rolled-back"
RollbackReport = MigrationReport  # the steps it took, timed


def rollback_to_raft(network: Network, topology_file: Path) -> RollbackReport:
    """Steps 1 to 4 above, each only when it is left to do; NetworkError (nothing changed) when the
    channel has left maintenance mode on BFT, or a backup the restore needs is missing."""
    if network.runtime_name != "native":
        raise NetworkError(
            "rollback-bft runs the native runtime's nodes; in Docker, follow the runbook "
            "(network/docker/README.md, 'Raft to SmartBFT', rollback) with the orderers' volumes"
        )
    if network.topology.fabric_major < 3:
        raise NetworkError(
            "the network runs Fabric 2.5, which has no SmartBFT: there is no migration to undo"
        )
    if load_topology(topology_file).orderer_type == BFT:
        raise NetworkError(
            f"{topology_file} records ordering type bft: the migration finished, and after leaving "
            "maintenance mode on BFT there is no way back to Raft"
        )
    raft = with_orderers_of(network, topology_file, BFT, as_type=RAFT)  # every orderer the migration runs
    ordering = current_consensus(raft)
    on_bft = ordering.type == "BFT"
    if on_bft:
        if ordering.state == NORMAL:
            raise NetworkError(
                "the channel has left maintenance mode on BFT: blocks were ordered by SmartBFT since the "
                "backup, so there is no way back to Raft (the migration finishes with `upgrade-fabric --to "
                "3.1.5 --bft`)"
            )
        # One orderer answered the fetch; SmartBFT commits with a quorum, so another may be a block ahead.
        # In maintenance nothing but leaving it is ordered after the switch: a height above it means it was.
        heights = channel.orderer_heights(raft)
        if ordered_since_switch(_switch_height(raft), heights):
            raise NetworkError(
                f"an orderer is past the height the switch to BFT left ({heights}): a block was ordered by "
                "SmartBFT since, so the channel may have left maintenance mode on BFT and there may be no "
                "way back to Raft; nothing was changed (when the orderers answer at the switch's height, "
                "run it again)"
            )
        missing = [o.node_id for o in raft.topology.orderers if not _backup(raft, o).is_dir()]
        if missing:
            raise NetworkError(
                f"no backup to restore for {', '.join(missing)} (backups/{BACKUP_LABEL}/<node>/data): "
                "the rollback needs one of every orderer; nothing was changed"
            )
    report = RollbackReport()

    def step(what: str, action: Callable[[], bool]) -> None:
        began = time.monotonic()
        network.say(f"rollback: {what}")
        try:
            done = action()
        except (NetworkError, RuntimeError) as exc:
            raise NetworkError(
                f"the rollback to Raft stopped at '{what}': {exc}\n(run the same command again to resume)"
            ) from None
        if done:
            report.steps.append((what, time.monotonic() - began))

    if on_bft:
        step("orderers restored from their Raft backups", lambda: restore_orderers(raft))
    if ordering.state == MAINTENANCE:
        step("maintenance mode off", lambda: leave_maintenance(raft))
    step("peers started", lambda: start_stopped_peers(network))
    step("the orderers BFT added leave", lambda: retire_added_orderers(network, raft))
    if not report.steps:
        network.say("rollback: the channel is ordered by Raft with the topology's orderers: nothing to undo")
    return report


def _backup(ctx: NetworkContext, orderer: Orderer) -> Path:
    return backup_path(ctx, orderer.node_id, BACKUP_LABEL)


def _switch_height(ctx: NetworkContext) -> int | None:
    recorded = switch_height_file(ctx)
    try:
        return int(recorded.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def ordered_since_switch(switch_height: int | None, heights: dict[str, int | None]) -> bool:
    """Whether the orderers' `heights` may hold a block ordered since the switch to BFT (in maintenance
    only leaving it is): an answering orderer above the height the switch recorded. An orderer that is
    down (None) is no evidence either way, but a block SmartBFT ordered is on a quorum of them: unless
    more than n - quorum answer, one may be there unseen. Without a record (a migration that wrote
    none), unless every orderer answers at one height."""
    if switch_height is None:
        return not equal_heights(heights)
    answered = [h for h in heights.values() if h is not None]
    if len(answered) <= len(heights) - channel.bft_quorum(len(heights)):
        return True
    return any(h > switch_height for h in answered)


def _move_aside(ctx: NetworkContext, orderer: Orderer) -> None:
    """The node's data directory to backups/bft-rolled-back/<node>/data (an older one there replaced)."""
    data = ctx.layout.node(orderer.node_id).data
    if not data.exists():
        return
    aside = ctx.layout.root / "backups" / ABANDONED_LABEL / orderer.node_id / "data"
    if aside.exists():
        shutil.rmtree(aside)
    aside.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    data.rename(aside)
    ctx.say(f"  {orderer.node_id}: its data moved to {aside}")


def restore_orderers(raft: Network) -> bool:
    """Every orderer stopped, its Raft backup in place of its data, started on Raft; the backups go
    once the channel reads Raft again (until then a second run restores them again)."""
    orderers = list(raft.topology.orderers)
    raft.runtime.stop(orderers)
    for orderer in orderers:
        _move_aside(raft, orderer)
        shutil.copytree(_backup(raft, orderer), raft.layout.node(orderer.node_id).data, symlinks=True)
        raft.say(f"  {orderer.node_id}: restored from {_backup(raft, orderer)}")
    raft.runtime.start(orderers)
    channel.wait_for_ordering_leader(raft)
    restored = current_consensus(raft)
    if (restored.type, restored.state) != ("etcdraft", MAINTENANCE):
        state = orderer_pb2.ConsensusType.State.Name(restored.state)
        raise NetworkError(f"the restored channel orders with {restored.type} in {state}, not Raft")
    shutil.rmtree(raft.layout.root / "backups" / BACKUP_LABEL)
    return True


def leave_maintenance(raft: Network) -> bool:
    set_state(raft, NORMAL)
    return True


def start_stopped_peers(network: Network) -> bool:
    """The peers that are down, started together (each waits for gossip to show it the others), then
    each until it has every block the orderers have."""
    states = network.runtime.states()
    stopped = [p for p in network.topology.peers if states.get(p.node_id) != "up"]
    network.runtime.start(stopped)
    for peer in stopped:
        wait_for_peer(network, peer)
    return bool(stopped)


def retire_added_orderers(network: Network, raft: Network) -> bool:
    """The orderers the Raft topology does not run leave: endpoints, consenter set, process, data."""
    states = raft.runtime.states()

    def present(orderer: Orderer) -> bool:
        running = states.get(orderer.node_id, "down") != "down"
        return running or raft.layout.node(orderer.node_id).data.exists() or is_raft_consenter(raft, orderer)

    added = {
        org: [o for o in orderers if present(o)] for org, orderers in new_orderers(network, raft).items()
    }
    if not any(added.values()):
        return False
    rendered = bft_channel_config(network)  # configtxgen's config for the Raft topology: its endpoints
    proposer = network.topology.organizations[0]
    signers = majority(raft.topology.ordering_organizations)
    for org, orderers in added.items():
        announce_endpoints(raft, org, rendered)
        for orderer in orderers:
            if is_raft_consenter(raft, orderer):
                update = membership.propose_remove_consenter(raft, proposer, orderer)
                submit_consenter_change(raft, update, signers)
                wait_for_condition(
                    raft, functools.partial(_not_consenter, raft, orderer), f"{orderer.node_id} no consenter"
                )
            raft.runtime.stop([orderer])
            _move_aside(raft, orderer)
    channel.wait_for_ordering_leader(network)
    return True


def _not_consenter(ctx: NetworkContext, orderer: Orderer) -> bool:
    return not is_raft_consenter(ctx, orderer)
