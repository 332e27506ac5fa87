"""The rules of joining without a network: the third organisation's fragment, definitions as handed over,
and how many members sign (the real join runs in tests/faults/test_third_organisation.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from seocho_network.context import NetworkError
from seocho_network.membership import read_definition
from seocho_network.org_join import majority
from seocho_network.topology import TopologyError, load_topology

REPO = Path(__file__).resolve().parents[2]
FRAGMENT = REPO / "network" / "orgs" / "community-chest.yaml"


def test_the_default_topology_keeps_its_two_organisations() -> None:
    topology = load_topology(port_offset=0)
    assert [org.name for org in topology.organizations] == ["SeochoDistrict", "Partners"]
    assert topology.chaincode.endorsement_policy.startswith("AND(")
    assert len(topology.orderers) == 3


def test_the_community_chest_fragment_adds_an_organisation_its_orderer_and_the_majority_policy() -> None:
    topology = load_topology(port_offset=300, joined=[FRAGMENT])
    chest = topology.organizations[2]
    assert (chest.name, chest.msp_id) == ("CommunityChest", "CommunityChestMSP")
    assert [o.node_id for o in chest.orderers] == ["orderer0.chest.seocho.local"]
    assert chest.peers[0].port == 9051 + 300  # the offset shifts the fragment's ports too
    assert len(topology.orderers) == 4
    policy = topology.chaincode.endorsement_policy
    assert policy.startswith("OutOf(2,") and all(o.msp_id in policy for o in topology.organizations)
    assert topology.chaincode.name == "seocho"  # only the keys the fragment names change


def test_a_fragment_reusing_a_port_or_an_msp_id_is_refused(tmp_path: Path) -> None:
    document = yaml.safe_load(FRAGMENT.read_text(encoding="utf-8"))
    document["organizations"][0]["peers"][0]["port"] = 7051  # the district's peer
    clash = tmp_path / "clash.yaml"
    clash.write_text(yaml.safe_dump(document), encoding="utf-8")
    with pytest.raises(TopologyError, match="ports used twice: 7051"):
        load_topology(port_offset=0, joined=[clash])
    broken = tmp_path / "broken.yaml"
    broken.write_text("chaincode: {}\n", encoding="utf-8")
    with pytest.raises(TopologyError, match="missing key 'organizations'"):
        load_topology(port_offset=0, joined=[broken])


def test_a_definition_missing_its_consenter_certificate_is_refused(tmp_path: Path) -> None:
    (tmp_path / "msp" / "cacerts").mkdir(parents=True)
    (tmp_path / "msp" / "tlscacerts").mkdir()
    document = {
        "name": "CommunityChest", "msp_id": "CommunityChestMSP", "domain": "chest.seocho.local",
        "anchor_peers": [{"host": "peer0.chest.seocho.local", "address": "127.0.0.1:9051"}],
        "orderers": [
            {"host": "orderer0.chest.seocho.local", "address": "127.0.0.1:9050", "cluster_port": 9060}
        ],
    }  # fmt: skip
    (tmp_path / "definition.yaml").write_text(yaml.safe_dump(document), encoding="utf-8")
    with pytest.raises(NetworkError, match=r"orderer0\.chest\.seocho\.local\.crt"):
        read_definition(tmp_path)
    (tmp_path / "orderers").mkdir()
    (tmp_path / "orderers" / "orderer0.chest.seocho.local.crt").write_text("certificate", encoding="utf-8")
    definition = read_definition(tmp_path)
    assert definition.orderers[0].cluster_host == "127.0.0.1"
    assert definition.anchor_peers == ("127.0.0.1:9051",)
    (tmp_path / "definition.yaml").write_text("name: [", encoding="utf-8")
    with pytest.raises(NetworkError, match="not an organisation definition"):
        read_definition(tmp_path)


@given(st.integers(min_value=1, max_value=9))
def test_a_majority_is_more_than_half_and_no_more_than_needed(members: int) -> None:
    chosen = majority(list(range(members)))  # type: ignore[arg-type]
    assert 2 * len(chosen) > members
    assert 2 * (len(chosen) - 1) <= members
