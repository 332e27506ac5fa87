"""The chaincode lifecycle as steps, each run by the organisation that owns it: package and install on
its peers, approve its definition, commit (any one organisation, once a majority approved), serve.

`deploy` runs them all for one machine and is idempotent: with the committed version equal to the
code's, it only makes sure the servers run; after a code change (or with `force_new_sequence`, which
`upgrade` uses) it commits sequence + 1. The ledger's state is never touched by a new definition.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from . import lifecycle
from .admin import wait_until
from .binaries import CommandError
from .context import STARTUP_TIMEOUT, NetworkContext
from .lifecycle import ChaincodeService, CommittedDefinition
from .runtime import Runtime
from .serving import served
from .topology import Organization


def committed(ctx: NetworkContext, name: str, org: Organization | None = None) -> CommittedDefinition | None:
    """The chaincode's committed definition as `org`'s (default: the district's) first peer knows it."""
    peer = (org or ctx.topology.organizations[0]).peers[0]
    return lifecycle.committed(ctx.peer_admin(peer), ctx.topology, name)


def next_sequence(
    ctx: NetworkContext, service: ChaincodeService, force_new_sequence: bool, org: Organization | None = None
) -> int | None:
    """The sequence to commit, or None when the committed definition is this code already; asked of
    `org`'s (default: the district's) peer by `org`'s admin, so each organisation asks its own."""
    current = committed(ctx, service.spec.name, org)
    if current is not None and current.version == service.version and not force_new_sequence:
        return None
    return current.sequence + 1 if current is not None else 1


def install(ctx: NetworkContext, org: Organization, service: ChaincodeService) -> str:
    """Packages `service` for `org` (its own server) and installs it on its peers; the package ID."""
    path, package_id = lifecycle.build_package(ctx.layout, org, service)
    for peer in org.peers:
        did = "installed" if lifecycle.install(ctx.peer_admin(peer), path, package_id) else "has"
        ctx.say(f"  {peer.node_id}: {did} {package_id[:48]}...")
    return package_id


def approve(
    ctx: NetworkContext, org: Organization, service: ChaincodeService, package_id: str, sequence: int
) -> None:
    """`org`'s admin approves the definition for its organisation."""
    admin = ctx.peer_admin(org.peers[0])
    _while_ordering_elects(lambda: lifecycle.approve(admin, ctx.topology, service, package_id, sequence))
    ctx.say(f"  {org.msp_id}: approved sequence {sequence}")


def commit(ctx: NetworkContext, org: Organization, service: ChaincodeService, sequence: int) -> None:
    """`org`'s admin commits the definition, endorsed by a peer of each organisation; waits for its peers."""
    admin = ctx.peer_admin(org.peers[0])
    _while_ordering_elects(lambda: lifecycle.commit(admin, ctx.layout, ctx.topology, service, sequence))
    ctx.say(f"  committed sequence {sequence}; endorsement policy {service.spec.endorsement_policy}")
    wait_committed(ctx, org, service.spec.name, sequence)


def _while_ordering_elects(step: Callable[[], None]) -> None:
    """Runs `step`, again while the orderers answer that Raft has no leader yet (just after the joins)."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while True:
        try:
            step()
            return
        except CommandError as exc:
            if "no Raft leader" not in str(exc) or time.monotonic() > deadline:
                raise
        time.sleep(1)


def wait_committed(ctx: NetworkContext, org: Organization, name: str, sequence: int) -> None:
    """Waits until every peer of `org` (asked by `org`'s admin) has committed `sequence` of `name`."""
    for peer in org.peers:
        admin = ctx.peer_admin(peer)

        def done(admin: lifecycle.PeerAdmin = admin) -> bool:
            definition = lifecycle.committed(admin, ctx.topology, name)
            return definition is not None and definition.sequence >= sequence

        wait_until(done, f"{name} sequence {sequence} on {peer.node_id}", STARTUP_TIMEOUT, lambda: True)


def deploy(
    ctx: NetworkContext, runtime: Runtime, service: ChaincodeService, force_new_sequence: bool
) -> None:
    """Every organisation installs, serves and approves; the district commits."""
    name = service.spec.name
    sequence = next_sequence(ctx, service, force_new_sequence)
    if sequence is None:
        current = committed(ctx, name)
        assert current is not None
        ctx.say(f"deploy: {name} {current.version} (sequence {current.sequence}) is committed")
        for org in ctx.topology.organizations:
            _, package_id = lifecycle.build_package(ctx.layout, org, service)
            runtime.serve_chaincode(org, service, package_id)
        return
    ctx.say(f"deploy: {name} {service.version}, sequence {sequence}")
    package_ids = {org.msp_id: install(ctx, org, service) for org in ctx.topology.organizations}
    for org in ctx.topology.organizations:
        runtime.serve_chaincode(org, service, package_ids[org.msp_id])
    for org in ctx.topology.organizations:
        approve(ctx, org, service, package_ids[org.msp_id], sequence)
    district, *others = ctx.topology.organizations
    commit(ctx, district, service, sequence)
    for org in others:
        wait_committed(ctx, org, name, sequence)


def resume_servers(
    ctx: NetworkContext, runtime: Runtime, orgs: tuple[Organization, ...] | None = None
) -> None:
    """After `up`, serves again every chaincode each organisation served before `down`."""
    for org in orgs if orgs is not None else ctx.topology.organizations:
        for service, package_id in served(ctx.layout, org):
            runtime.serve_chaincode(org, service, package_id)
