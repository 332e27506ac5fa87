"""The rules of a peer added later, without a network: the fragment that adds a peer to a known
organisation, and what a snapshot directory must hold (the real snapshot and join run in
tests/network/test_snapshot_join.py)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import yaml
from network_cli_support import network_sh
from seocho_network import Network, snapshots
from seocho_network.binaries import MissingBinariesError
from seocho_network.context import NetworkError
from seocho_network.topology import TopologyError, load_topology

REPO = Path(__file__).resolve().parents[2]
PEER_FRAGMENT = REPO / "network" / "orgs" / "district-peer1.yaml"
CHEST_FRAGMENT = REPO / "network" / "orgs" / "community-chest.yaml"


def test_the_fragment_adds_a_second_peer_to_the_district_and_nothing_else() -> None:
    base = load_topology(port_offset=600)
    topology = load_topology(port_offset=600, joined=[PEER_FRAGMENT])
    district = topology.organizations[0]
    assert [p.node_id for p in district.peers] == [
        "peer0.district.seocho.local",
        "peer1.district.seocho.local",
    ]
    assert district.peers[1].org is district and district.peers[1].port == 7251 + 600
    assert [o.name for o in topology.organizations] == [o.name for o in base.organizations]
    assert topology.orderers == tuple(
        o for o in topology.orderers if o.node_id in {b.node_id for b in base.orderers}
    )
    assert topology.chaincode == base.chaincode
    both = load_topology(port_offset=0, joined=[PEER_FRAGMENT, CHEST_FRAGMENT])
    assert len(both.peers) == 4 and len(both.organizations) == 3


def test_a_fragment_may_add_only_peers_to_a_known_organisation(tmp_path: Path) -> None:
    fragment = tmp_path / "sneaky.yaml"
    document = {"organizations": [{"name": "SeochoDistrict", "msp_id": "OtherMSP", "peers": []}]}
    fragment.write_text(yaml.safe_dump(document), encoding="utf-8")
    with pytest.raises(TopologyError, match="may add peers to it, not msp_id"):
        load_topology(port_offset=0, joined=[fragment])
    clash = tmp_path / "clash.yaml"
    peer = {"name": "peer1", "port": 8051, "chaincode_port": 7252, "operations_port": 9460}
    clash.write_text(yaml.safe_dump({"organizations": [{"name": "SeochoDistrict", "peers": [peer]}]}))
    with pytest.raises(TopologyError, match="ports used twice: 8051"):
        load_topology(port_offset=0, joined=[clash])


def _snapshot(directory: Path) -> Path:
    """A directory in the layout Fabric writes: data files, their hashes, the hash of those."""
    directory.mkdir(parents=True)
    files = {"public_state.data": b"state rows", "txids.data": b"transaction ids"}
    for name, data in files.items():
        (directory / name).write_bytes(data)
    signable = json.dumps({
        "channel_name": "seocho", "last_block_number": 41, "last_block_hash": "ab",
        "previous_block_hash": "cd",
        "state_db_type": "SimpleKeyValueDB",
        "snapshot_files_raw_hashes": {n: hashlib.sha256(d).hexdigest() for n, d in files.items()},
    }).encode()  # fmt: skip
    (directory / snapshots.SIGNABLE_METADATA).write_bytes(signable)
    additional = {"snapshot_hash": hashlib.sha256(signable).hexdigest(), "last_block_commit_hash": ""}
    (directory / snapshots.ADDITIONAL_METADATA).write_text(json.dumps(additional))
    return directory


def test_a_snapshot_is_read_only_when_its_files_match_its_hashes(tmp_path: Path) -> None:
    snapshot = snapshots.read_snapshot(_snapshot(tmp_path / "good"))
    assert (snapshot.channel, snapshot.last_block, snapshot.height) == ("seocho", 41, 42)

    altered = _snapshot(tmp_path / "altered")
    (altered / "public_state.data").write_bytes(b"state rows, changed")
    with pytest.raises(NetworkError, match=r"public_state\.data does not match its hash"):
        snapshots.read_snapshot(altered)

    lacking = _snapshot(tmp_path / "lacking")
    (lacking / "txids.data").unlink()
    with pytest.raises(NetworkError, match=r"lacks txids\.data"):
        snapshots.read_snapshot(lacking)

    relabelled = _snapshot(tmp_path / "relabelled")
    metadata = relabelled / snapshots.SIGNABLE_METADATA
    metadata.write_bytes(
        metadata.read_bytes().replace(b'"last_block_number": 41', b'"last_block_number": 99')
    )
    with pytest.raises(NetworkError, match="does not match the snapshot hash"):
        snapshots.read_snapshot(relabelled)

    with pytest.raises(NetworkError, match="no completed snapshot"):
        snapshots.read_snapshot(tmp_path / "nowhere")


def test_a_snapshot_at_block_0_is_refused_before_any_peer_is_asked(tmp_path: Path) -> None:
    """Fabric reads block 0 as "the last committed block": asked for it, the peer would write the snapshot
    of another block, which `take` would wait for in the wrong directory."""
    try:
        network = Network.open(tmp_path / "home", say=lambda line: None)
    except MissingBinariesError as exc:
        pytest.skip(str(exc))
    peer = network.topology.peers[0]
    for block in (0, -1):
        with pytest.raises(NetworkError, match="block number is 1 or more"):
            snapshots.take(network, peer, block=block)  # no peer runs: a request would fail otherwise
    code, output = network_sh(network, "peer", "snapshot", "--block", "0")
    assert code == 2 and "0 is not in the range x>=1" in output, output
    assert not (tmp_path / "home").exists()
