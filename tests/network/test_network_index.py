"""`seocho index` on the real network: block events from a v2.5.16 peer into the reporting store, a peer
restart while following, and reconciliation with the ledger's own report and audit."""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path

import pytest
from background import Background
from click.testing import CliRunner
from fabric_network_support import RunningNetwork
from polling import wait_for
from seocho.backend import connect_gateway
from seocho.cli import cli
from seocho.errors import ConflictError
from seocho.index_report import store_report
from seocho.index_store import open_store
from seocho.indexer import run_index
from seocho.profile import load_profile
from seocho_network.processes import stop

pytestmark = pytest.mark.fabric


def seocho(*args: str | Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, [str(a) for a in args])
    return result.exit_code, result.stdout, result.stderr


def test_the_store_follows_the_network_through_a_peer_restart(
    demo_on_network: dict[str, object], fabric_network: RunningNetwork, tmp_path: Path
) -> None:
    profile = fabric_network.profile()
    db = tmp_path / "index.sqlite"
    code, out, err = seocho("--profile", profile, "--as", "district-auditor", "--json", "index", "--db", db)
    assert code == 0, err
    assert json.loads(out)["movements"] > 0
    with open_store(db) as store, fabric_network.coin("district-auditor") as auditor:
        assert store_report(store)["coins"] == auditor.get_report()["coins"]

    network = fabric_network.network
    peer = network.topology.peers[0]  # the district's peer: the profile's Gateway
    stop_following = threading.Event()

    def follow() -> tuple[int, int]:
        with open_store(db) as store, connect_gateway(load_profile(profile), "district-auditor") as gateway:
            stats, moved = run_index(
                gateway.get_network(fabric_network.topology.channel), store, "seocho",
                idle_seconds=None, stop=stop_following, give_up_after=120,
            )  # fmt: skip
        return stats.reconnects, moved

    def store_next_block() -> int:
        with open_store(db) as store:
            return store.next_block()

    follower = Background(follow, name="follower")
    try:
        # A block committed now reaches the store only through the follower's open stream: once it has,
        # the peer restart below happens mid-stream (a read committed as a transaction moves no coin).
        with fabric_network.contract("district-auditor") as contract:
            marker = contract.submit_async("list_policies").status().block_number
        wait_for(lambda: store_next_block() > marker, "the follower did not follow a new block")
        assert stop(network.layout.node(peer.node_id).pid)  # waits until the process is gone
        network.up()  # restarts the stopped peer
        evidence = hashlib.sha256(b"index after a peer restart" + b"salt").hexdigest()
        with fabric_network.coin("staff-welfare") as staff:
            # Any senior with volunteer hours left today (the daily cap is 8; other tests use some).
            for number, member in enumerate(("S-0005", "S-0003", "S-0002", "S-0001", "S-0004")):
                try:
                    staff.earn(member, "volunteer_hour", 1, evidence, f"VOL-INDEX-RESTART-{number}")
                    break
                except ConflictError:
                    continue
            else:
                pytest.fail("no senior of the demo has volunteer hours left today")
        with fabric_network.coin("district-auditor") as auditor:
            earned = auditor.get_report()["coins"]["earned"]

        def store_earned() -> bool:
            with open_store(db) as store:
                return bool(store_report(store)["coins"]["earned"] == earned)

        wait_for(store_earned, "the store did not catch up after the peer restart")
    finally:
        stop_following.set()
    reconnects, moved = follower.join(timeout=60)
    assert reconnects >= 1 and moved == 1

    code, out, err = seocho(
        "--profile", profile, "--as", "district-auditor", "--json", "index", "--db", db, "reconcile"
    )
    assert code == 0 and json.loads(out)["ok"], (out, err)
