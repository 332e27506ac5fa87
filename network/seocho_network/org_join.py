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
from pathlib import Path

from . import channel, config_updates, deployment, membership, profiles
from .context import NetworkError
from .network import Network
from .topology import LOOPBACK, Organization


def majority(members: Sequence[Organization]) -> list[Organization]:
    """The fewest members whose admins satisfy a MAJORITY Admins policy: more than half of them."""
    return list(members[: len(members) // 2 + 1])


def sign_and_submit(network: Network, update: Path, members: Sequence[Organization]) -> None:
    """A majority of `members` signs `update`, its first one submitting (which signs as it sends)."""
    submitter, *others = majority(members)
    for org in others:
        config_updates.sign(network, org, update)
    config_updates.submit(network, submitter, update)


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
            sign_and_submit(network, update, members)
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
            _sign_all(network, update, signers)
    if _member(network, leaving):
        network.say(f"leave: {leaving.name} out of the channel's groups")
        _sign_all(network, membership.propose_remove_org(network, signers[0], leaving), signers)


def _sign_all(network: Network, update: Path, signers: Sequence[Organization]) -> None:
    submitter, *others = signers
    for org in others:
        config_updates.sign(network, org, update)
    config_updates.submit(network, submitter, update)
