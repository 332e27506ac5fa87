"""The project's own Fabric v2.5.16 network: two organisations, three Raft orderers, a CA each, the coin
chaincode served by each organisation over mutual TLS, endorsed by both.

The tests share one network; the demo runs first, on the fresh ledger, and the others use its cast.
"""

from __future__ import annotations

import hashlib
import json
import socket
from pathlib import Path

import fabric_gateway as fg
import pytest
from click.testing import CliRunner
from fabric_network_support import RunningNetwork
from polling import wait_for
from seocho.cli import cli
from seocho_network.admin import OrdererAdmin
from seocho_network.processes import running_pid, stop
from seocho_network.status import collect

pytestmark = pytest.mark.fabric


def seocho(*args: str | Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, [str(a) for a in args])
    return result.exit_code, result.stdout, result.stderr


def evidence(text: str) -> str:
    return hashlib.sha256(text.encode() + b"test-salt").hexdigest()


def balance(fabric_network: RunningNetwork, member: str) -> int:
    with fabric_network.coin("district-auditor") as auditor:
        return int(auditor.get_balance(member)["coins"])


def orderer_heights(fabric_network: RunningNetwork) -> dict[str, int]:
    network = fabric_network.network
    return {
        o.node_id: int(
            OrdererAdmin(network.binaries, network.layout, o).info(network.topology.channel)["height"]
        )
        for o in network.topology.orderers
    }


def peer_heights(fabric_network: RunningNetwork) -> dict[str, int]:
    network = fabric_network.network
    return {p.node_id: network.peer_admin(p).height(network.topology.channel) for p in network.topology.peers}


def test_the_demo_on_the_network_reports_what_the_embedded_demo_reports(
    demo_on_network: dict[str, object],
) -> None:
    code, out, err = seocho("demo", "--json")
    assert code == 0, err
    embedded = json.loads(out)
    # The embedded story happens on its own 2023 dates; a network's peers only take today's: the months
    # differ, and nothing else may.
    monthly = ("by_month", "members_by_month")
    assert {k: v for k, v in demo_on_network.items() if k not in monthly} == {
        k: v for k, v in embedded.items() if k not in monthly
    }
    for key in monthly:
        assert _month_totals(demo_on_network[key]) == _month_totals(embedded[key]), key


def _month_totals(by_month: object) -> dict[str, int]:
    assert isinstance(by_month, dict)
    totals: dict[str, int] = {}
    for figures in by_month.values():
        for kind, coins in figures.items():
            totals[kind] = totals.get(kind, 0) + coins
    return totals


def test_queries_through_each_organisations_peer_agree(after_demo: RunningNetwork) -> None:
    answers = []
    for org in (after_demo.district, after_demo.partners):
        with after_demo.coin("district-auditor", org) as auditor:
            answers.append((auditor.get_report(), auditor.audit_supply(), auditor.get_balance("S-0001")))
    assert answers[0] == answers[1]
    report, audit, _ = answers[0]
    # The demo's seven and any members other modules registered on the session network before: the report's
    # count is the aggregate, the audit's a recount of the member records.
    assert audit["ok"] is True and report["members"] == audit["counted"]["members"] >= 7


def test_a_movement_endorsed_by_one_organisation_only_is_invalidated_and_changes_nothing(
    after_demo: RunningNetwork,
) -> None:
    before, height_before = balance(after_demo, "S-0005"), peer_heights(after_demo)
    args = ("S-0005", "volunteer_hour", "1", evidence("one-org"), "VOL-ONE-ORG")
    with after_demo.contract("staff-welfare", after_demo.partners) as contract:
        with pytest.raises(fg.CommitError) as refused:
            contract.submit_transaction("earn", *args, endorsing_organizations=["PartnersMSP"])
        assert refused.value.code_name == "ENDORSEMENT_POLICY_FAILURE"
        assert balance(after_demo, "S-0005") == before
        # The invalid transaction is in a block, but it consumed nothing: the same request id still works.
        assert all(h > height_before[p] for p, h in peer_heights(after_demo).items())
        contract.submit_transaction("earn", *args)
    assert balance(after_demo, "S-0005") == before + 3


def test_status_shows_every_node_the_heights_the_raft_leader_and_the_chaincode(
    after_demo: RunningNetwork,
) -> None:
    status = collect(after_demo.network)
    assert status.all_up, status.nodes
    topology = after_demo.topology
    servers = {org.chaincode_server.node_id for org in topology.organizations}
    assert set(topology.node_ids()) | servers <= set(status.nodes)  # (+ servers of test chaincodes)
    heights = set(status.peer_heights.values()) | set(status.orderer_heights.values())
    assert len(heights) == 1 and heights.pop() > 5
    assert status.raft_leader in {o.node_id for o in after_demo.topology.orderers}
    assert status.chaincode is not None and status.chaincode["name"] == "seocho"


def test_with_one_orderer_of_three_stopped_transactions_commit_and_it_catches_up(
    after_demo: RunningNetwork,
) -> None:
    network = after_demo.network
    leader = network.raft_leader()
    assert leader is not None
    assert stop(network.layout.node(leader).pid)  # the leader: the other two must elect a new one
    try:
        # Raft elects within its election timeout (10 ticks of 500 ms); until then ordering pauses.
        wait_for(lambda: network.raft_leader() not in (None, leader), "a new Raft leader", timeout=30)
        before = balance(after_demo, "S-0004")
        with after_demo.coin("staff-welfare") as staff:
            for hour in range(3):
                staff.earn("S-0004", "volunteer_hour", 1, evidence(f"orderer-down-{hour}"), f"VOL-OD-{hour}")
        assert balance(after_demo, "S-0004") == before + 9
    finally:
        network.up()
    wait_for(lambda: len(set(orderer_heights(after_demo).values())) == 1, "the restarted orderer catching up")


def test_deploy_without_a_change_commits_nothing_and_upgrade_keeps_the_state(
    after_demo: RunningNetwork,
) -> None:
    network = after_demo.network
    first = network.committed()
    assert first is not None
    network.deploy()
    assert network.committed() == first
    before = balance(after_demo, "S-0002")
    network.deploy(force_new_sequence=True)
    upgraded = network.committed()
    assert upgraded is not None and upgraded.sequence == first.sequence + 1
    assert balance(after_demo, "S-0002") == before
    with after_demo.coin("staff-welfare") as staff:
        staff.earn("S-0002", "volunteer_hour", 1, evidence("after upgrade"), "VOL-UPGRADED")
    assert balance(after_demo, "S-0002") == before + 3


def test_down_stops_everything_and_up_resumes_with_state_and_heights(after_demo: RunningNetwork) -> None:
    network = after_demo.network
    balances = {m: balance(after_demo, m) for m in ("S-0001", "S-0004", "S-0005")}
    heights = peer_heights(after_demo)
    network.down()
    assert all(running_pid(pid_file) is None for pid_file in network.pid_files().values())
    for port in network.topology.ports():
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still listens after down"
    network.up()
    assert peer_heights(after_demo) == heights
    assert {m: balance(after_demo, m) for m in balances} == balances
    with after_demo.coin("staff-welfare") as staff:
        staff.earn("S-0001", "volunteer_hour", 1, evidence("after restart"), "VOL-RESTARTED")
    assert balance(after_demo, "S-0001") == balances["S-0001"] + 3


def test_the_cli_says_what_the_peer_says_when_the_chaincode_is_down_or_the_channel_wrong(
    after_demo: RunningNetwork, tmp_path: Path
) -> None:
    network = after_demo.network
    profile = after_demo.profile()
    wrong = tmp_path / "profile.yaml"
    wrong.write_text(profile.read_text().replace("channel: seocho", "channel: no-such-channel"))
    for name, value in (("tls", "tls"), ("users", "users")):
        (tmp_path / name).symlink_to(profile.parent / value)
    code, _, err = seocho("--lang", "en", "--profile", wrong, "--as", "district-auditor", "audit")
    assert code == 1 and "no channel 'no-such-channel'" in err, err
    servers = [
        network.layout.node(org.chaincode_server.node_id).pid for org in network.topology.organizations
    ]
    try:
        for pid_file in servers:
            assert stop(pid_file)
        code, _, err = seocho("--lang", "en", "--profile", profile, "--as", "district-auditor", "audit")
        assert code == 8, err
        assert "the chaincode is not running" in err and "could not launch chaincode" in err
        assert len(err.strip().splitlines()) == 1
    finally:
        network.up()  # restarts the chaincode servers for the package they served
    code, _, err = seocho("--profile", profile, "--as", "district-auditor", "audit")
    assert code == 0, err
