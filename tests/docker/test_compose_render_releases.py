"""Each peer's and orderer's image follows its own Fabric release (no Docker needed): the topology's by
default, another for the nodes a rolling upgrade has moved (docker_releases.py's record), and a network
on Fabric 3 ordered by SmartBFT runs its four orderers on the 3.x image."""

from __future__ import annotations

import pytest
from seocho_network import docker_releases
from seocho_network.compose_render import (
    ImageReferenceError,
    all_image_variables,
    compose_document,
    write_compose,
)
from seocho_network.context import NetworkError
from seocho_network.layout import NetworkLayout
from seocho_network.topology import BFT, load_topology

OLD, NEW = "2.5.16", "3.1.5"


def _images(document: dict) -> dict[str, str]:  # type: ignore[type-arg]
    return {name: service["image"] for name, service in document["services"].items()}


def test_a_node_on_another_release_gets_that_release_s_image_and_the_others_keep_theirs() -> None:
    topology = load_topology(port_offset=0)
    moved = topology.orderers[0].node_id
    images = _images(compose_document(topology, releases={moved: NEW}))
    assert images[moved] == "${FABRIC_ORDERER_IMAGE_3_1_5:-hyperledger/fabric-orderer:3.1.5}"
    for node in [*topology.orderers[1:]]:
        assert images[node.node_id] == "${FABRIC_ORDERER_IMAGE:-hyperledger/fabric-orderer:2.5.16}"
    for peer in topology.peers:
        assert images[peer.node_id] == "${FABRIC_PEER_IMAGE:-hyperledger/fabric-peer:2.5.16}"
    # Only the moved node's service differs from the rendering without a record.
    plain = compose_document(topology)["services"]
    moved_too = compose_document(topology, releases={moved: NEW})["services"]
    assert [name for name in plain if plain[name] != moved_too[name]] == [moved]


def test_a_bft_network_on_fabric_3_runs_four_orderers_on_the_3_x_image(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SEOCHO_FABRIC_VERSION", NEW)
    topology = load_topology(port_offset=0, orderer_type=BFT)
    images = _images(compose_document(topology))
    assert len(topology.orderers) == 4
    assert {len(org.orderers) for org in topology.organizations} == {2}
    assert {images[o.node_id] for o in topology.orderers} == {
        "${FABRIC_ORDERER_IMAGE_3_1_5:-hyperledger/fabric-orderer:3.1.5}"
    }
    assert {images[p.node_id] for p in topology.peers} == {
        "${FABRIC_PEER_IMAGE_3_1_5:-hyperledger/fabric-peer:3.1.5}"
    }
    # A node recorded on the old release (rolled back, or not yet upgraded) keeps the old image.
    peer = topology.peers[0].node_id
    assert _images(compose_document(topology, releases={peer: OLD}))[peer] == (
        "${FABRIC_PEER_IMAGE:-hyperledger/fabric-peer:2.5.16}"
    )


def test_each_release_s_image_variables_are_checked(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert {"FABRIC_PEER_IMAGE_3_1_5", "FABRIC_ORDERER_IMAGE_3_1_5", "FABRIC_PEER_IMAGE"} <= set(
        all_image_variables()
    )
    monkeypatch.setenv("FABRIC_PEER_IMAGE_3_1_5", "Hyperledger/Fabric-Peer:3.1.5")
    with pytest.raises(ImageReferenceError, match="FABRIC_PEER_IMAGE_3_1_5"):
        write_compose(NetworkLayout(tmp_path), load_topology(port_offset=0))
    assert not (tmp_path / "compose.yaml").exists()


def test_the_release_record_round_trips_and_refuses_what_is_not_a_pinned_release(tmp_path) -> None:
    layout = NetworkLayout(tmp_path)
    assert docker_releases.node_releases(layout) == {}
    docker_releases.set_release(layout, "orderer0.district.seocho.local", NEW)
    docker_releases.set_release(layout, "peer0.district.seocho.local", OLD)
    assert docker_releases.node_releases(layout) == {
        "orderer0.district.seocho.local": NEW,
        "peer0.district.seocho.local": OLD,
    }
    with pytest.raises(NetworkError, match="not pinned"):
        docker_releases.set_release(layout, "peer0.district.seocho.local", "9.9.9")
    assert docker_releases.node_releases(layout)["peer0.district.seocho.local"] == OLD  # unchanged
    docker_releases.record_path(layout).write_text('{"peer0.district.seocho.local": "2.4"}')
    with pytest.raises(NetworkError, match="pinned releases"):
        docker_releases.node_releases(layout)
    docker_releases.clear_releases(layout)
    assert docker_releases.node_releases(layout) == {}
