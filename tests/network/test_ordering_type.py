"""The topology chooses the ordering service: Raft (3 orderers) or SmartBFT (4, Fabric 3 only).

These read and render the topology only (no node runs); the BFT network itself runs in the Fabric 3.1.5
session of scripts/test.sh (tests/network/test_bft.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from seocho_network.configs import CHANNEL_PROFILE, write_configtx
from seocho_network.layout import NetworkLayout
from seocho_network.topology import (
    DEFAULT_TOPOLOGY,
    FABRIC_VERSION_VARIABLE,
    ORDERER_TYPE_VARIABLE,
    TopologyError,
    load_topology,
)


@pytest.fixture(autouse=True)
def _no_session_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    # The Fabric 3.1.5 BFT session sets both; these tests choose their own.
    monkeypatch.delenv(FABRIC_VERSION_VARIABLE, raising=False)
    monkeypatch.delenv(ORDERER_TYPE_VARIABLE, raising=False)


def _choose(monkeypatch: pytest.MonkeyPatch, version: str, kind: str) -> None:
    monkeypatch.setenv(FABRIC_VERSION_VARIABLE, version)
    monkeypatch.setenv(ORDERER_TYPE_VARIABLE, kind)


def test_raft_is_the_default_with_three_orderers() -> None:
    topology = load_topology()
    assert topology.orderer_type == "raft"
    assert [len(org.orderers) for org in topology.organizations] == [2, 1]


def test_bft_spreads_four_orderers_over_both_organisations(monkeypatch: pytest.MonkeyPatch) -> None:
    _choose(monkeypatch, "3.1.5", "bft")
    topology = load_topology()
    assert topology.orderer_type == "bft"
    assert [len(org.orderers) for org in topology.organizations] == [2, 2]
    assert len(set(topology.ports())) == len(topology.ports())


def test_bft_on_fabric_2_is_refused_clearly(monkeypatch: pytest.MonkeyPatch) -> None:
    _choose(monkeypatch, "2.5.16", "bft")
    with pytest.raises(TopologyError, match="BFT ordering needs Fabric 3"):
        load_topology()


def test_an_unknown_ordering_type_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    _choose(monkeypatch, "3.1.5", "kafka")
    with pytest.raises(TopologyError, match="'kafka' is not one of raft, bft"):
        load_topology()


def test_bft_with_fewer_than_four_orderers_is_refused(tmp_path: Path) -> None:
    document = yaml.safe_load(DEFAULT_TOPOLOGY.read_text())
    document["fabric_version"] = "3.1.5"
    document["ordering"]["type"] = "bft"
    document["organizations"][1]["orderers"] = document["organizations"][1]["orderers"][:1]
    path = tmp_path / "topology.yaml"
    path.write_text(yaml.safe_dump(document))
    with pytest.raises(TopologyError, match="BFT needs at least 4 orderers"):
        load_topology(path)


def _orderer_section(tmp_path: Path) -> dict:
    topology = load_topology()
    path = write_configtx(NetworkLayout.for_topology(tmp_path, topology), topology)
    return yaml.safe_load(path.read_text())["Profiles"][CHANNEL_PROFILE]["Orderer"]


def test_configtx_maps_every_bft_consenter_with_its_identity(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _choose(monkeypatch, "3.1.5", "bft")
    orderer = _orderer_section(tmp_path)
    assert orderer["OrdererType"] == "BFT" and "EtcdRaft" not in orderer
    mapping = orderer["ConsenterMapping"]
    topology = load_topology()
    assert [c["ID"] for c in mapping] == [1, 2, 3, 4]
    assert [c["Port"] for c in mapping] == [o.cluster_port for o in topology.orderers]
    assert [c["MSPID"] for c in mapping] == [o.org.msp_id for o in topology.orderers]
    for consenter, node in zip(mapping, topology.orderers, strict=True):
        assert consenter["Identity"].endswith(f"{node.node_id}.identity.crt")
        assert consenter["ClientTLSCert"] == consenter["ServerTLSCert"]
        assert consenter["ClientTLSCert"].endswith(f"{node.node_id}.crt")
    options = orderer["SmartBFT"]
    assert options["RequestBatchMaxInterval"] == topology.batch_timeout
    assert options["IncomingMessageBufferSize"] > 0 and options["RequestPoolSize"] > 0


def test_configtx_keeps_raft_consenters_for_raft(tmp_path: Path) -> None:
    orderer = _orderer_section(tmp_path)
    assert orderer["OrdererType"] == "etcdraft" and "ConsenterMapping" not in orderer
    assert len(orderer["EtcdRaft"]["Consenters"]) == 3
