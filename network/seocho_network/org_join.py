"""A new organisation joins the running channel on one machine: the script of the per-organisation steps.

In a real deployment each step is its owner's (`network.sh org up NEW`, `channel add-org`, `channel sign`
by the members, `channel submit`, `channel add-consenter` likewise, `channel join-running NEW`,
`chaincode approve` by each, `chaincode commit`); `join_consortium` runs them in that order, for the
tests and for trying it. The network is opened with the new organisation's topology fragment
(`Network.open(..., joined=[fragment])`), whose chaincode entry carries the endorsement policy of the
consortium with it (MAJORITY of the organisations).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

from . import channel, config_updates, deployment, membership, profiles
from .admin import NotReadyError, wait_until
from .context import STARTUP_TIMEOUT, NetworkContext, NetworkError
from .network import Network
from .topology import BFT, LOOPBACK, Organization


def majority(members: Sequence[Organization]) -> list[Organization]:
    """The fewest members whose admins satisfy a MAJORITY Admins policy: more than half of them."""
    return list(members[: len(members) // 2 + 1])


def sign_and_submit(network: NetworkContext, update: Path, members: Sequence[Organization]) -> None:
    """A majority of `members` signs `update`, its first one submitting (which signs as it sends)."""
    _sign_all(network, update, majority(members))


def submit_consenter_change(network: NetworkContext, update: Path, signers: Sequence[Organization]) -> None:
    """A consenter added, removed or its certificates rotated: on Raft, first until every current
    consenter counts every one active, then `signers` sign it, the first submitting.

    A Raft orderer refuses a consenter change it believes would lose quorum ("0 out of 3 nodes are
    alive"), counting the nodes active as the leader last told it: just after a restart it knows of none."""
    if network.topology.orderer_type != BFT:
        config = config_updates.channel_config(network, network.topology.organizations[0])
        ports = membership.consenter_ports(config)
        current = [o for o in network.topology.orderers if (LOOPBACK, o.cluster_port) in ports]
        try:
            wait_until(
                partial(channel.all_raft_consenters_active, network, current),
                "every Raft consenter active",
                STARTUP_TIMEOUT,
                lambda: True,
            )
        except NotReadyError as exc:
            raise NetworkError(str(exc)) from None
    _sign_all(network, update, signers)


def join_consortium(network: Network, joining: Organization) -> None:
    """`joining` comes up, becomes a member (Application, Orderer, consenters), joins, and endorses."""
    members = [org for org in network.topology.organizations if org is not joining]
    proposer = members[0]
    network.say(f"join: {joining.name} brings up its CAs, orderers and peers")
    network.org_up(joining)
    definition = network.layout.definition(joining)
    network.say(f"join: {joining.name} becomes a member (signed by a majority of {len(members)})")
    if not _member(network, joining):
        sign_and_submit(network, membership.propose_add_org(network, proposer, definition), members)
    for orderer in joining.orderers:
        if not _consenter(network, orderer.cluster_port):
            network.say(f"join: {orderer.node_id} into the Raft consenter set (one change per update)")
            update = membership.propose_add_consenter(network, proposer, definition, orderer.node_id)
            submit_consenter_change(network, update, majority(members))
    network.say(f"join: {joining.name}'s orderers and peers join the running channel")
    join_running(network, joining)
    adopt_endorsement_policy(network, joining)


def join_running(network: Network, joining: Organization, join: Callable[[], object] | None = None) -> None:
    """`joining`'s nodes join the running channel (`join`, default: from the chain's first block), then,
    once gossip knows its peers, the client profiles name them: `channel join-running` and `org join`."""
    if join is None:
        membership.join_running_channel(network, joining)
    else:
        join()
    channel.wait_for_gossip(network)
    profiles.write_profiles(network)


def _member(network: Network, org: Organization) -> bool:
    config = config_updates.channel_config(network, network.topology.organizations[0])
    return membership.is_member(config, org)


def _consenter(network: Network, cluster_port: int) -> bool:
    config = config_updates.channel_config(network, network.topology.organizations[0])
    return (LOOPBACK, cluster_port) in membership.consenter_ports(config)


def adopt_endorsement_policy(network: Network, joining: Organization) -> None:
    """The chaincode's next sequence with the consortium's policy: every organisation approves, the
    first commits. Nothing is done when the committed definition was approved by `joining` already."""
    service = network.runtime.coin_service()
    current = deployment.committed(network, service.spec.name)
    if current is not None and current.approvals.get(joining.msp_id):
        network.say(f"join: {joining.msp_id} approved the committed definition already")
        return
    network.say(f"join: chaincode policy {service.spec.endorsement_policy}")
    deployment.deploy(network, network.runtime, service, force_new_sequence=True)


def leave_consortium(network: Network, leaving: Organization) -> None:
    """`leaving` leaves the channel: its consenters one update each, then its groups, each update signed
    by a majority of the channel's organisations from among the others. Its identities are then no
    member of the channel: the orderers and peers refuse them. (The chaincode's committed policy keeps
    naming it; its endorsements no longer count, so the others must then all endorse until a new one.)"""
    others = [org for org in network.topology.organizations if org is not leaving]
    needed = len(network.topology.organizations) // 2 + 1
    if len(others) < needed:
        raise NetworkError(f"the others ({len(others)}) are no majority of the channel's organisations")
    signers = others[:needed]
    for orderer in leaving.orderers:
        if _consenter(network, orderer.cluster_port):
            network.say(f"leave: {orderer.node_id} out of the Raft consenter set")
            update = membership.propose_remove_consenter(network, signers[0], orderer)
            submit_consenter_change(network, update, signers)
    if _member(network, leaving):
        network.say(f"leave: {leaving.name} out of the channel's groups")
        _sign_all(network, membership.propose_remove_org(network, signers[0], leaving), signers)


def _sign_all(network: NetworkContext, update: Path, signers: Sequence[Organization]) -> None:
    submitter, *others = signers
    for org in others:
        config_updates.sign(network, org, update)
    config_updates.submit(network, submitter, update)
