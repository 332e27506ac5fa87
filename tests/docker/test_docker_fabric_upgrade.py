"""The rolling upgrade from Fabric 2.5.16 to 3.1.5 of a Docker deployment under a load of coin movements
(issue 20, item 5, in Docker): `network.sh --topology T docker upgrade-fabric --to 3.1.5`, as district IT
runs it, recreates one container at a time on its 3.1.5 image (its ledger volume archived first):
every orderer, then every peer, then the channel's V3_0 capability, signed by both organisations.

On a deployment of its own, on 2.5.16 with Raft whatever the session runs (its topology is a copy whose
`fabric_version` the upgrade rewrites), with the demo's story told first. First a partial upgrade (one
orderer and one peer container on 3.1.5, an `up` meanwhile that recreates nothing) is rolled back under
load, as the runbook says one may before the capability step. Then the whole upgrade; meanwhile the
containers are watched: for a while some run 3.1.5 and the others 2.5.16 (each node's image is its own).
After: every
orderer and peer container runs the 3.1.5 image and says 3.1.5; the channel has V3_0; from the block
stream, nothing the clients were told committed is lost or doubled, nothing told not committed is
there; every member's balance is the demo's plus the load's VALID movements, the institutions the load
never touches keep the demo's statements exactly, and both organisations' peers answer the same.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from background import Background
from docker_network_support import container, container_image, docker_running_network, run_network_sh
from docker_support import DockerImages
from fabric_network_support import RunningNetwork
from ledger_record import tally
from load import MEMBERS, STAFF, Load, _evidence
from polling import wait_for
from seocho_network import docker_releases
from seocho_network.backup import ARCHIVE, read_manifest
from seocho_network.docker_upgrade import record_running_releases, upgrade_container
from seocho_network.topology import load_topology
from seocho_network.upgrade import (
    at_release,
    channel_capabilities,
    node_versions,
    wait_for_consenter,
    wait_for_peer,
)
from test_faults_under_load import balance, resolve_unknowns
from upgrade_checks import a_new_earning_commits, check_balances, institution_statements
from upgrade_support import (
    AFTER_SECONDS,
    FROM,
    TO,
    default_topology_copy,
)

pytestmark = [pytest.mark.docker, pytest.mark.timeout(2400)]



@pytest.fixture(scope="module")
def topology_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return default_topology_copy(tmp_path_factory.mktemp("docker-upgrade-topology"))


@pytest.fixture(scope="module")
def old(
    docker_images: DockerImages,
    tmp_path_factory: pytest.TempPathFactory,
    docker_port_offset: int,
    topology_copy: Path,
) -> Iterator[RunningNetwork]:
    home = tmp_path_factory.mktemp("seocho-docker-upgrade")
    yield from docker_running_network(docker_images, home, docker_port_offset, {}, topology_copy)


def _images(network: RunningNetwork) -> dict[str, str]:
    nodes = [*network.topology.orderers, *network.topology.peers]
    return {node.node_id: container_image(node) for node in nodes}


def test_before_the_capability_step_a_partial_upgrade_rolls_back(
    old: RunningNetwork, topology_copy: Path, docker_images: DockerImages
) -> None:
    """One orderer and one peer container moved to 3.1.5 (the others stay on 2.5.16, and an `up`
    meanwhile recreates none of them), then `upgrade-fabric --to 2.5.16` (the runbook's rollback), all
    under load: every container on its 2.5.16 image again with its volume, nothing lost, no V3_0."""
    network, env = old.network, dict(os.environ)
    upgraded = at_release(network, TO)
    moved = [old.district.orderers[0], old.partners.peers[0]]
    nodes = [*network.topology.orderers, *network.topology.peers]
    plain = {node.node_id: container_image(node) for node in nodes}
    load = Load(old, workers=4)
    first_block = network.peer_admin(old.district.peers[0]).height(network.topology.channel)
    seen: dict[str, object] = {}

    def partly_then_back() -> str:
        record_running_releases(network)
        assert upgrade_container(network, upgraded, moved[0], wait_for_consenter)
        assert upgrade_container(network, upgraded, moved[1], wait_for_peer)
        seen["images"] = _images(old)
        ids = {node.node_id: container(node) for node in nodes}
        run_network_sh(env, "up", "--no-demo", topology_file=topology_copy)  # mid-upgrade: moves nothing
        seen["after_up"] = _images(old)
        seen["same_containers"] = ids == {node.node_id: container(node) for node in nodes}
        return run_network_sh(env, "upgrade-fabric", "--to", FROM, topology_file=topology_copy, timeout=900)

    outcomes, output = load.run(0.0, partly_then_back, after=4.0, fault_timeout=1200)
    assert output is not None
    resolve_unknowns(old, outcomes)
    new_image = {
        moved[0].node_id: docker_images.env["FABRIC_ORDERER_IMAGE_3_1_5"],
        moved[1].node_id: docker_images.env["FABRIC_PEER_IMAGE_3_1_5"],
    }
    assert seen["images"] == plain | new_image  # those two on 3.1.5, every other where it was
    assert seen["after_up"] == seen["images"] and seen["same_containers"] is True
    assert _images(old) == plain and set(node_versions(network).values()) == {FROM}
    assert "V3_0" not in channel_capabilities(network)
    assert load_topology(topology_copy).fabric_version == FROM
    assert docker_releases.node_releases(network.layout) == {}
    # The moved peer's volume as it stopped on 2.5.16, a backup `docker restore` takes.
    manifest = read_manifest(network.layout.root / "backups" / f"fabric-{FROM}" / moved[1].node_id)
    assert manifest.height >= first_block
    counted = tally(old, first_block, load.prefix, outcomes)
    steps = re.findall(r"^upgrade: ((?:orderer|peer) .*: [0-9.]+ s)$", output, re.M)
    print(f"\nDocker rollback of a partial upgrade under load: {'; '.join(steps)}; {counted.summary()}")
    counted.assert_nothing_lost()


def test_a_rolling_upgrade_of_the_containers_under_load_loses_nothing(
    old: RunningNetwork, topology_copy: Path, docker_images: DockerImages
) -> None:
    network, env = old.network, dict(os.environ)
    old_images = {docker_images.env["FABRIC_ORDERER_IMAGE"], docker_images.env["FABRIC_PEER_IMAGE"]}
    new_images = {
        docker_images.env["FABRIC_ORDERER_IMAGE_3_1_5"],
        docker_images.env["FABRIC_PEER_IMAGE_3_1_5"],
    }
    assert set(node_versions(network).values()) == {FROM}
    assert set(_images(old).values()) == old_images
    assert "V3_0" not in channel_capabilities(network)
    demo_members = {m: balance(old, m) for m in MEMBERS}
    demo_statements = institution_statements(old)
    assert demo_statements["seocho-welfare"]["settlements"], demo_statements  # type: ignore[index]
    load = Load(old, workers=4)
    first_block = network.peer_admin(old.district.peers[0]).height(network.topology.channel)
    timing: dict[str, float] = {}

    # Watched meanwhile: which image each container runs (a mix of both releases for a while).
    watching = threading.Event()
    seen: list[dict[str, str]] = []

    def watch() -> None:
        while not watching.is_set():
            seen.append(_images(old))
            time.sleep(2)

    def upgrade() -> str:
        began = time.monotonic()
        output = run_network_sh(env, "upgrade-fabric", "--to", TO, topology_file=topology_copy, timeout=1800)
        timing["finished"] = time.monotonic()
        timing["upgrade"] = timing["finished"] - began
        return output

    watcher = Background(watch, name="watch-images")
    try:
        outcomes, output = load.run(0.0, upgrade, after=AFTER_SECONDS, fault_timeout=1800)
    finally:
        watching.set()
    watcher.join(timeout=60)
    assert output is not None
    resolve_unknowns(old, outcomes)

    # Every orderer and peer container runs the 3.1.5 image and serves 3.1.5; the channel has V3_0.
    assert set(node_versions(network).values()) == {TO}
    images = _images(old)
    for node in [*network.topology.orderers, *network.topology.peers]:
        kind = "ORDERER" if node in network.topology.orderers else "PEER"
        assert images[node.node_id] == docker_images.env[f"FABRIC_{kind}_IMAGE_3_1_5"], node.node_id
    mixed = [
        snapshot
        for snapshot in seen
        if set(snapshot.values()) & old_images and set(snapshot.values()) & new_images
    ]
    assert mixed, f"never one container on each release: {seen}"
    assert "V3_0" in channel_capabilities(network)
    assert load_topology(topology_copy).fabric_version == TO
    assert docker_releases.node_releases(network.layout) == {}  # every node on the topology's release
    # Each node's ledger volume was archived (0600) before its container was recreated.
    for node_id in images:
        archive = network.layout.root / "backups" / f"fabric-{FROM}" / node_id / ARCHIVE
        assert archive.stat().st_size > 0 and archive.stat().st_mode & 0o777 == 0o600, archive
    # A peer's is a backup `docker restore` takes: of that peer, of Docker, at the height it stopped at.
    for peer in network.topology.peers:
        manifest = read_manifest(network.layout.root / "backups" / f"fabric-{FROM}" / peer.node_id)
        assert (manifest.node, manifest.runtime, manifest.fabric_version) == (peer.node_id, "docker", FROM)
        assert manifest.height > 0  # the rollback test's copy where it made one first (kept, not replaced)

    # Nothing lost, nothing doubled, nothing phantom (the ledger's block stream against the clients).
    counted = tally(old, first_block, load.prefix, outcomes)
    valid_after = counted.valid_started_after(timing["finished"])
    steps = "; ".join(
        match.group(1)
        for match in re.finditer(r"^upgrade: ((?:orderer|peer|channel) .*: [0-9.]+ s)$", output, re.M)
    )
    print(
        f"\nDocker rolling upgrade {FROM} -> {TO} under load: {timing['upgrade']:.1f} s ({steps}); "
        f"{counted.summary()}; {valid_after} valid started after it; "
        f"{len(mixed)} of {len(seen)} image snapshots had both releases"
    )
    counted.assert_nothing_lost()
    assert valid_after > 0

    # The demo's balances, plus exactly the load's VALID movements; the rest exactly the demo's.
    check_balances(old, outcomes, demo_members, demo_statements)

    a_new_earning_commits(old, f"{load.prefix}after-upgrade")  # on 3.1.5 with V3_0


def test_the_command_again_finds_everything_done(old: RunningNetwork, topology_copy: Path) -> None:
    output = run_network_sh(dict(os.environ), "upgrade-fabric", "--to", TO, topology_file=topology_copy)
    nodes = len(old.topology.orderers) + len(old.topology.peers)
    assert output.count(": done already") == nodes + 1, output  # every node, and the capability
    assert docker_releases.node_releases(old.network.layout) == {}


def test_after_the_upgrade_down_and_up_start_every_container_on_3_1(
    old: RunningNetwork, topology_copy: Path, docker_images: DockerImages
) -> None:
    """The topology records 3.1.5 and no node is recorded elsewhere: a plain `down` and `up` (the
    containers removed, the volumes kept) make every orderer and peer on the 3.1.5 image again."""
    env = dict(os.environ)
    run_network_sh(env, "down", topology_file=topology_copy)
    run_network_sh(env, "up", "--no-demo", topology_file=topology_copy)
    assert set(node_versions(old.network).values()) == {TO}
    for node in [*old.topology.orderers, *old.topology.peers]:
        kind = "ORDERER" if node in old.topology.orderers else "PEER"
        assert container_image(node) == docker_images.env[f"FABRIC_{kind}_IMAGE_3_1_5"], node.node_id
    run_network_sh(env, "deploy", topology_file=topology_copy)  # the chaincode containers back
    before: list[int] = []

    def earned() -> bool:
        try:
            current = balance(old, "S-0003")
            request_id = f"after-up-{time.monotonic_ns()}"
            with old.coin(STAFF) as staff:
                staff.earn("S-0003", "course_session", 1, _evidence(request_id), request_id)
        except Exception:  # the peers redial the chaincode servers by themselves
            return False
        before.append(current)
        return True

    wait_for(earned, "an earning through the redeployed chaincode containers", timeout=90, interval=2)
    assert balance(old, "S-0003") == before[0] + 1
