"""A rolling upgrade of the network's Fabric release, one node at a time, as Fabric's upgrade guide says:

    1. each orderer in turn: stop, back up its ledger, start it on the new release (its orderer.yaml
       rendered from that release's sample config, its ledger kept), wait until it is an active
       consenter again, has caught up with the others and the channel has a consensus leader;
    2. each peer in turn: the same, then wait until it has caught up with the orderers and knows the
       other peers through gossip;
    3. the topology file records the release, so a later `up` starts it;
    4. on Fabric 3, the channel's `V3_0` capability: a config update every organisation's admin signs
       (the channel's Admins policy is MAJORITY of the Application's and the Orderer's Admins, each a
       MAJORITY of their organisations). Only once every node runs 3.x: a 2.5 node stops at a channel
       capability it does not know.

Until step 4 the upgrade can be undone node by node: `upgrade_fabric` to the old release restarts each
node on it with its current ledger (both releases keep ledger data format 2.0). The backups
(`<home>/backups/fabric-<old>/<node>/data`) are for a damaged peer ledger, or for all orderers together
with ordering stopped; never for one orderer while the others order on (the runbook says why). After
step 4 the channel needs 3.x nodes for good.

A node that already reports the target release (its operations endpoint's /version) is left as it is,
so an interrupted upgrade resumes where it stopped. The rest of the network keeps serving throughout:
with three Raft orderers, two order while the third restarts; each organisation's applications lose
their endorsing peer only while it restarts.
"""

from __future__ import annotations

import functools
import json
import re
import shutil
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TypeVar

from fabric_protos.common import configuration_pb2

from . import channel, config_updates
from .admin import NotReadyError, operations_client, wait_until
from .binaries import FABRIC_VERSIONS, CommandError, find_binaries
from .context import STARTUP_TIMEOUT, NetworkContext, NetworkError
from .network import Network
from .topology import FABRIC_VERSION_VARIABLE, LOOPBACK, Orderer, Peer

V3_CAPABILITY = "V3_0"
CATCH_UP_TIMEOUT = 180.0
_FABRIC_VERSION_LINE = re.compile(r"^fabric_version:.*$", re.MULTILINE)
Node = TypeVar("Node", Orderer, Peer)


@dataclass
class UpgradeReport:
    """What the upgrade did and how long each step took (seconds, measured)."""

    target: str
    steps: list[tuple[str, float]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    capability_enabled: bool = False

    @property
    def total(self) -> float:
        return sum(seconds for _, seconds in self.steps)


def node_version(ctx: NetworkContext, node: Orderer | Peer) -> str | None:
    """The Fabric release the node runs, from its operations endpoint's /version (None when down)."""
    url = f"https://{LOOPBACK}:{node.operations_port}/version"
    context = operations_client(ctx.layout, node.org).context()
    try:
        with urllib.request.urlopen(url, timeout=3, context=context) as answer:
            return str(json.loads(answer.read()).get("Version") or "") or None
    except (OSError, urllib.error.URLError, ValueError):
        return None


def node_versions(ctx: NetworkContext) -> dict[str, str | None]:
    """Every orderer's and peer's release, by node id."""
    nodes: list[Orderer | Peer] = [*ctx.topology.orderers, *ctx.topology.peers]
    return {node.node_id: node_version(ctx, node) for node in nodes}


def channel_capabilities(ctx: NetworkContext) -> set[str]:
    """The channel group's capabilities, from the channel's latest config block."""
    config = config_updates.channel_config(ctx, ctx.topology.organizations[0])
    value = config.channel_group.values["Capabilities"].value
    return set(configuration_pb2.Capabilities.FromString(value).capabilities)


NodeStep = Callable[..., bool]
"""How one node moves to the release: (current, upgraded, node, wait) -> False when it runs it already."""


def upgrade_fabric(
    network: Network,
    target: str,
    topology_file: Path,
    restart_node: NodeStep | None = None,
    before_first_node: Callable[[Network], None] | None = None,
) -> UpgradeReport:
    """Upgrades every orderer, then every peer, to Fabric `target`, records it in `topology_file`, and
    on Fabric 3 enables the channel's V3_0 capability.

    `restart_node` is how one node moves (`upgrade_node`'s signature): by default the native runtime's
    process restarted on the new programs; docker_upgrade.py passes upgrade_node with its own backup
    (the ledger volume) and its release recorded before the start (the container recreated on the new
    image). `before_first_node(network)` runs once the checks passed (docker_upgrade.py records the
    release each container runs there)."""
    _check_can_upgrade(network, target, native_only=restart_node is None)
    if before_first_node is not None:
        before_first_node(network)
    step = restart_node or upgrade_node
    upgraded = at_release(network, target)
    report = UpgradeReport(target)
    for orderer in network.topology.orderers:
        _timed(
            report,
            f"orderer {orderer.node_id}",
            functools.partial(step, network, upgraded, orderer, wait_for_consenter),
        )
    for peer in network.topology.peers:
        _timed(
            report,
            f"peer {peer.node_id}",
            functools.partial(step, network, upgraded, peer, wait_for_peer),
        )
    behind = {node: found for node, found in node_versions(upgraded).items() if found != target}
    if behind:
        raise NetworkError(f"nodes not on {target} after the upgrade: {behind}")
    record_release(topology_file, target)
    network.say(f"upgrade: {topology_file} records fabric_version {target}")
    if upgraded.topology.fabric_major >= 3:
        _timed(report, f"channel capability {V3_CAPABILITY}", functools.partial(_enable, upgraded, report))
    return report


def at_release(network: Network, target: str) -> Network:
    """The same network (home, topology, runtime) with the programs of Fabric `target`."""
    topology = replace(network.topology, fabric_version=target)
    return Network(topology, network.layout, find_binaries(target), network.say, network.runtime_name)


def _check_can_upgrade(network: Network, target: str, native_only: bool = True) -> None:
    if native_only and network.runtime_name != "native":
        raise NetworkError(
            "upgrade_fabric restarts the native runtime's processes; a Docker deployment's containers "
            "are recreated by docker_upgrade.upgrade_fabric_in_docker (`network.sh docker upgrade-fabric`)"
        )
    if target not in FABRIC_VERSIONS:
        raise NetworkError(f"Fabric {target} is not a pinned release ({', '.join(FABRIC_VERSIONS)})")
    if _major(target) < 3 and V3_CAPABILITY in channel_capabilities(network):
        raise NetworkError(
            f"the channel has the {V3_CAPABILITY} capability: Fabric {target} nodes cannot serve it"
        )
    down = {node: state for node, state in network.runtime.states().items() if state != "up"}
    nodes = set(network.topology.node_ids())
    down = {node: state for node, state in down.items() if node in nodes}
    if down:
        # One node at a time keeps a quorum only if the others all serve.
        raise NetworkError(f"every node must be up before a rolling upgrade; not up: {down}")
    if network.topology.orderer_type == "raft" and len(network.topology.orderers) < 3:
        network.say("upgrade: fewer than 3 Raft orderers: ordering stops while each one restarts")


BackupStep = Callable[[Network, Orderer | Peer, str], object]
"""How a stopped node's ledger is kept before it moves: (ctx, node, label under backups/)."""


def upgrade_node(
    current: Network,
    upgraded: Network,
    node: Node,
    wait: Callable[[NetworkContext, Node], None],
    backup: BackupStep | None = None,
    before_start: Callable[[Network, Orderer | Peer], None] | None = None,
) -> bool:
    """Restarts `node` on the upgraded release (its ledger backed up first: by default its data directory
    copied), then `wait`s until it serves again (`wait_for_consenter`, `wait_for_peer`); False when it
    runs that release already. `before_start(upgraded, node)` runs between the backup and the start
    (docker_upgrade.py records the node's new release there, which its container is recreated on)."""
    found = node_version(current, node)
    if found == upgraded.topology.fabric_version:
        current.say(f"upgrade: {node.node_id} runs {found} already")
        return False
    current.say(f"upgrade: {node.node_id} {found} -> {upgraded.topology.fabric_version}")
    current.runtime.stop([node])
    (backup or _backup_data)(current, node, f"fabric-{found or 'unknown'}")
    if before_start is not None:
        before_start(upgraded, node)
    upgraded.runtime.start([node])
    wait(upgraded, node)
    return True


def wait_for_consenter(ctx: NetworkContext, orderer: Orderer) -> None:
    """Until `orderer` is an active consenter of the channel, as high as the others were when it came
    back, and the channel has a consensus leader: only then may the next orderer stop."""
    channel_name = ctx.topology.channel
    others = [h for node, h in channel.orderer_heights(ctx).items() if node != orderer.node_id and h]
    target = max(others, default=0)

    def caught_up() -> bool:
        try:
            info = ctx.orderer_admin(orderer).info(channel_name)
        except CommandError:
            return False
        active = info.get("consensusRelation") == "consenter" and info.get("status") == "active"
        return active and int(info.get("height", 0)) >= target

    wait_for_condition(ctx, caught_up, f"{orderer.node_id} active consenter at height {target}")
    channel.wait_for_ordering_leader(ctx)


def wait_for_peer(ctx: NetworkContext, peer: Peer) -> None:
    """Until `peer` has every block the orderers had when it came back, and gossip shows it the others."""
    target = max((h for h in channel.orderer_heights(ctx).values() if h), default=0)
    wait_for_condition(
        ctx, functools.partial(_at_height, ctx, peer, target), f"{peer.node_id} at height {target}"
    )
    channel.wait_for_gossip(ctx, [peer])


def backup(ctx: NetworkContext, node_id: str, label: str) -> Path | None:
    """A copy of the stopped node's data directory (ledger, state, WAL) in backups/<label>/<node>, the
    rollback point; the first copy stays when an interrupted upgrade is run again."""
    source = ctx.layout.node(node_id).data
    if not source.is_dir():
        return None
    destination = backup_path(ctx, node_id, label)
    if destination.exists():
        return destination
    destination.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    shutil.copytree(source, destination, symlinks=True)
    ctx.say(f"  {node_id}: ledger backed up to {destination}")
    return destination


def _backup_data(ctx: NetworkContext, node: Orderer | Peer, label: str) -> None:
    backup(ctx, node.node_id, label)


def enable_channel_capability(ctx: NetworkContext, capability: str) -> bool:
    """Sets the channel group's capability to `capability` (False when it has it): proposed by the
    first organisation, signed by every organisation's admin, and seen by every peer before returning.

    V3_0 forbids the global `OrdererAddresses` that older channels carried: the same update removes
    them (this channel's orderers are announced per organisation, as V3_0 requires)."""
    if capability in channel_capabilities(ctx):
        ctx.say(f"upgrade: the channel has the {capability} capability already")
        return False
    organizations = ctx.topology.organizations
    proposer, *others = organizations

    def change(config):  # type: ignore[no-untyped-def]
        values = config.channel_group.values
        capabilities = configuration_pb2.Capabilities()
        capabilities.capabilities[capability].SetInParent()
        values["Capabilities"].value = capabilities.SerializeToString()
        if "OrdererAddresses" in values:
            del values["OrdererAddresses"]

    ctx.say(f"upgrade: channel capability {capability} (signed by {len(organizations)} organisations)")
    update = config_updates.propose(ctx, proposer, f"channel-capability-{capability.lower()}", change)
    for org in others:
        config_updates.sign(ctx, org, update)
    config_updates.submit(ctx, proposer, update)
    wait_for_condition(
        ctx, lambda: capability in channel_capabilities(ctx), f"the channel's {capability} capability"
    )
    target = max((h for h in channel.orderer_heights(ctx).values() if h), default=0)
    for peer in ctx.topology.peers:
        wait_for_condition(
            ctx, functools.partial(_at_height, ctx, peer, target), f"{peer.node_id} at height {target}"
        )
    return True


def record_release(topology_file: Path, release: str) -> None:
    """Sets the topology file's `fabric_version` (its comments and layout kept)."""
    text = topology_file.read_text(encoding="utf-8")
    line = f'fabric_version: "{release}"'
    if _FABRIC_VERSION_LINE.search(text):
        text = _FABRIC_VERSION_LINE.sub(line, text, count=1)
    else:
        text = text.rstrip("\n") + f"\n{line}\n"
    topology_file.write_text(text, encoding="utf-8")


def overriding_variable(target: str) -> str | None:
    """A warning when SEOCHO_FABRIC_VERSION would keep a later `up` on another release."""
    import os

    value = os.environ.get(FABRIC_VERSION_VARIABLE)
    if value and value != target:
        return f"{FABRIC_VERSION_VARIABLE}={value} is set: unset it, or `up` starts Fabric {value}"
    return None


def _enable(ctx: NetworkContext, report: UpgradeReport) -> bool:
    report.capability_enabled = enable_channel_capability(ctx, V3_CAPABILITY)
    return report.capability_enabled


def _at_height(ctx: NetworkContext, peer: Peer, height: int) -> bool:
    return ctx.peer_admin(peer).height(ctx.topology.channel) >= height


def _major(version: str) -> int:
    return int(version.split(".")[0])


def _timed(report: UpgradeReport, what: str, step: Callable[[], bool]) -> None:
    began = time.monotonic()
    if step():
        report.steps.append((what, time.monotonic() - began))
    else:
        report.skipped.append(what)


def wait_for_condition(ctx: NetworkContext, check: Callable[[], bool], what: str) -> None:
    """Polls `check` (a failing Fabric tool counts as not yet) up to CATCH_UP_TIMEOUT; NetworkError after."""

    def safe() -> bool:
        try:
            return check()
        except CommandError:
            return False

    try:
        wait_until(safe, what, max(CATCH_UP_TIMEOUT, STARTUP_TIMEOUT), lambda: True)
    except NotReadyError as exc:
        raise NetworkError(str(exc)) from None


def backup_path(ctx: NetworkContext, node_id: str, label: str) -> Path:
    """Where `backup` copies the node's data directory: backups/<label>/<node>/data."""
    return ctx.layout.root / "backups" / label / node_id / "data"
