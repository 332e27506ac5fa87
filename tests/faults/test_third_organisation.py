"""A third organisation (the Community Chest) joins the running channel under load (issue 17, item 4).

On a network of its own (the consortium changes, so not the session's shared one): while eight clients
earn, pay and donate, the Community Chest brings up its CAs, orderer, peer and chaincode server; the
update adding it to the Application and Orderer groups is signed by a majority of the two members; its
orderer enters the Raft consenter set in an update of its own and joins with the latest config block;
its peer joins from block 0 and catches up; the chaincode's next sequence takes the fragment's policy,
any two of the three (every organisation approves). Then: a movement endorsed by any two organisations
commits, one endorsed by one alone is invalidated (ENDORSEMENT_POLICY_FAILURE), all three peers answer
the same balances, and from the block stream nothing the clients were told committed is lost, nothing is
committed twice, nothing told not committed is there. The join's time is printed (measured). Then it
leaves (its consenter, then its groups): the orderers answer its admin FORBIDDEN, the Gateway refuses its
identity (creator org unknown), and the two that stay endorse together, neither alone.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import fabric_gateway as fg
import pytest
from click.testing import CliRunner
from fabric_network_support import RunningNetwork, gateway_as, start_session_network
from ledger_record import tally
from load import MEMBERS, STAFF, Load, _evidence
from network_cli_support import network_sh_process
from seocho.cli import cli
from seocho_network import Network, config_updates, membership
from seocho_network.binaries import CommandError
from seocho_network.topology import Organization
from test_faults_under_load import resolve_unknowns

pytestmark = [pytest.mark.fabric, pytest.mark.faults]

FRAGMENT = Path(__file__).resolve().parents[2] / "network" / "orgs" / "community-chest.yaml"
AFTER_SECONDS = 8.0  # load kept up after the join, under the new policy


@pytest.fixture(scope="module")
def own_network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningNetwork]:
    for running in start_session_network(tmp_path_factory.mktemp("third-org")):
        # The load's members, institutions and staff are the demo's, as on the session network.
        told = CliRunner().invoke(cli, ["--profile", str(running.profile()), "demo", "--json"])
        assert told.exit_code == 0, told.stderr
        yield running


@pytest.fixture(scope="module")
def three_orgs(own_network: RunningNetwork) -> Iterator[Network]:
    """The same network opened with the Community Chest's fragment (down with the rest at the end)."""
    base = own_network.network
    joined = Network.open(
        base.layout.root,
        say=own_network.said.append,
        port_offset=base.topology.port_offset,
        joined=[FRAGMENT],
    )
    try:
        yield joined
    finally:
        joined.org_down(joined.org("CommunityChest"))


def earn(network: RunningNetwork, via: Organization, endorsers: list[str], request_id: str) -> None:
    """Staff attest one course session for S-0001, endorsed only by the peers of `endorsers`."""
    with network.contract(STAFF, via) as contract:
        contract.submit_transaction(
            "earn", "S-0001", "course_session", "1", _evidence(request_id), request_id,
            endorsing_organizations=endorsers,
        )  # fmt: skip


@pytest.mark.timeout(1500)
def test_a_third_organisation_joins_under_load(own_network: RunningNetwork, three_orgs: Network) -> None:
    chest = three_orgs.org("CommunityChest")
    district, partners = own_network.district, own_network.partners
    load = Load(own_network)
    first_block = three_orgs.peer_admin(district.peers[0]).height(three_orgs.topology.channel)
    timing: dict[str, float] = {}
    # Its own nodes first (its CAs, identities, orderer and peer; no channel yet): the join is what follows.
    began = time.monotonic()
    three_orgs.org_up(chest)
    timing["org up"] = time.monotonic() - began

    def join() -> None:
        # District IT's and the partners' own steps, as the runbook gives them (`org join` scripts these).
        began = time.monotonic()
        steps = NetworkSteps(three_orgs)
        definition = str(three_orgs.layout.definition(chest))
        update = steps.run("channel", "add-org", definition, "--org", district.name)
        steps.run("channel", "sign", update, "--org", partners.name)
        steps.run("channel", "submit", update, "--org", district.name)
        for orderer in chest.orderers:
            update = steps.run(
                "channel", "add-consenter", definition, "--org", district.name, "--orderer", orderer.node_id
            )
            steps.run("channel", "sign", update, "--org", partners.name)
            steps.run("channel", "submit", update, "--org", district.name)
        steps.run("channel", "join-running", chest.name)
        # The same code under the fragment's policy (MAJORITY): a new sequence, which only the operator knows.
        current = three_orgs.committed()
        assert current is not None
        sequence = str(current.sequence + 1)
        for approver in (district, partners, chest):
            steps.run("chaincode", "approve", approver.name, "--sequence", sequence)
        steps.run("chaincode", "commit", district.name, "--sequence", sequence)
        timing["finished"] = time.monotonic()
        timing["join"] = timing["finished"] - began

    # Eleven network.sh processes, each allowed 600 s (NetworkSteps): more than Load's default 300 s may pass.
    outcomes, _ = load.run(0.0, join, after=AFTER_SECONDS, fault_timeout=1200)
    resolve_unknowns(own_network, outcomes)

    # The membership, as the channel and the nodes see it.
    definition = three_orgs.committed()
    assert definition is not None and definition.approvals.get(chest.msp_id) is True, definition
    assert three_orgs.orderer_admin(chest.orderers[0]).info("seocho").get("consensusRelation") == "consenter"

    # Nothing lost, nothing doubled, nothing phantom (the ledger's block stream against the clients).
    counted = tally(own_network, first_block, load.prefix, outcomes)
    valid_after = counted.valid_started_after(timing["finished"])
    print(
        f"\nthird organisation: org up {timing['org up']:.1f} s; "
        f"joined under load in {timing['join']:.1f} s; {counted.summary()}; "
        f"{valid_after} valid started after the join"
    )
    counted.assert_nothing_lost()
    assert valid_after > 0

    # Any two of the three endorse a movement; one alone does not.
    for pair in ((district, chest), (partners, chest), (district, partners)):
        earn(
            own_network, pair[0], [o.msp_id for o in pair], f"{load.prefix}pair-{pair[0].name}-{pair[1].name}"
        )
    for alone in (district, partners, chest):
        with pytest.raises(fg.CommitError) as refused:
            earn(own_network, alone, [alone.msp_id], f"{load.prefix}alone-{alone.name}")
        assert refused.value.code_name == "ENDORSEMENT_POLICY_FAILURE"

    # Every peer has every block and answers the same balances.
    channel = three_orgs.topology.channel
    _wait_for_equal_heights(three_orgs)
    balances = {}
    for org in (district, partners, chest):
        with own_network.coin("district-auditor", org) as auditor:
            balances[org.name] = {m: int(auditor.get_balance(m)["coins"]) for m in MEMBERS}
    assert balances[partners.name] == balances[district.name] == balances[chest.name]
    assert three_orgs.peer_admin(chest.peers[0]).height(channel) >= first_block


class NetworkSteps:
    """`python -m seocho_network` (what scripts/network.sh runs) on the three organisations' network: each
    step a process of its own, as each organisation's admin would run it."""

    def __init__(self, network: Network) -> None:
        self.network = network

    def run(self, *args: str) -> str:
        """The step's last line of output (a proposed update's path); fails the test if the step fails."""
        done = network_sh_process(self.network, *args, joined=[FRAGMENT], timeout=600)
        if done.returncode != 0:
            raise AssertionError(
                f"network.sh {' '.join(args)}: exit {done.returncode}\n{done.stderr[-2000:]}"
            )
        lines = done.stdout.strip().splitlines()
        return lines[-1] if lines else ""


def _wait_for_equal_heights(network: Network) -> None:
    deadline = time.monotonic() + 60
    while True:
        heights = {network.peer_admin(p).height(network.topology.channel) for p in network.topology.peers}
        if len(heights) == 1:
            return
        assert time.monotonic() < deadline, f"peer heights differ: {heights}"
        time.sleep(0.5)


def test_the_third_organisation_leaves_and_its_identities_are_refused(
    own_network: RunningNetwork, three_orgs: Network
) -> None:
    chest = three_orgs.org("CommunityChest")
    district, partners = own_network.district, own_network.partners
    admin = three_orgs.peer_admin(chest.peers[0])
    member_orderer = district.orderers[0]
    flags = [
        "-o",
        member_orderer.address,
        "--tls",
        "--cafile",
        str(three_orgs.layout.definition_tls_root(district)),
    ]
    fetch = [
        "channel",
        "fetch",
        "newest",
        str(three_orgs.layout.updates_dir / "chest-newest.block"),
        "-c",
        "seocho",
    ]
    admin.run([*fetch, *flags])  # a member: the orderers deliver to its admin

    steps = NetworkSteps(three_orgs)  # a majority of the three (the two that stay) signs each update
    for orderer in chest.orderers:
        update = steps.run("channel", "remove-consenter", orderer.node_id, "--org", district.name)
        steps.run("channel", "sign", update, "--org", partners.name)
        steps.run("channel", "submit", update, "--org", district.name)
    update = steps.run("channel", "remove-org", chest.name, "--org", district.name)
    with pytest.raises(AssertionError) as short:  # the district's signature alone: one of three
        steps.run("channel", "submit", update, "--org", district.name)
    assert "sub-policies to be satisfied" in str(short.value), short.value
    assert membership.is_member(config_updates.channel_config(three_orgs, district), chest)  # unchanged
    steps.run("channel", "sign", update, "--org", partners.name)
    steps.run("channel", "submit", update, "--org", district.name)

    with pytest.raises(CommandError, match="FORBIDDEN"):
        admin.run([*fetch, *flags])
    identity, signer = fg.load_msp_directory(chest.msp_id, three_orgs.layout.org_admin(chest).msp)
    with pytest.raises(fg.GatewayError) as refused, gateway_as(own_network, identity, signer, district) as c:
        c.evaluate_transaction("get_balance", "S-0001")
    print(f"\nthe Community Chest's admin after leaving, through the district's Gateway: {refused.value}")
    assert "creator org unknown" in str(refused.value)
    # The two that stay endorse together still; one alone does not.
    earn(own_network, district, [district.msp_id, partners.msp_id], f"after-leave-{time.monotonic_ns()}")
    with pytest.raises(fg.CommitError) as alone:
        earn(own_network, district, [district.msp_id], f"after-leave-alone-{time.monotonic_ns()}")
    assert alone.value.code_name == "ENDORSEMENT_POLICY_FAILURE"
