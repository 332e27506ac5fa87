"""The topology's `certificates.lifetime` reaches the Docker CAs (no Docker needed): their containers write
their own config at their first start, so the lifetime is given as environment overrides of its expiries."""

from __future__ import annotations

from pathlib import Path

import yaml
from seocho_network.compose_render import compose_document
from seocho_network.topology import load_topology

TOPOLOGY = Path(__file__).resolve().parents[2] / "network" / "topology.yaml"
EXPIRIES = ("FABRIC_CA_SERVER_SIGNING_DEFAULT_EXPIRY", "FABRIC_CA_SERVER_SIGNING_PROFILES_TLS_EXPIRY")


def test_every_ca_container_signs_for_the_topologys_lifetime(tmp_path: Path) -> None:
    document = yaml.safe_load(TOPOLOGY.read_text(encoding="utf-8"))
    document["certificates"] = {"lifetime": "20m"}
    copy = tmp_path / "topology.yaml"
    copy.write_text(yaml.safe_dump(document), encoding="utf-8")
    topology = load_topology(copy, port_offset=0)
    services = compose_document(topology)["services"]
    for ca in topology.cas:
        environment = services[ca.node_id]["environment"]
        assert [environment[name] for name in EXPIRIES] == ["20m", "20m"], ca.node_id
    others = [s for name, s in services.items() if name not in {ca.node_id for ca in topology.cas}]
    assert not [s for s in others if set(EXPIRIES) & set(s.get("environment", {}))]


def test_without_a_lifetime_the_cas_keep_their_default() -> None:
    topology = load_topology(TOPOLOGY, port_offset=0)
    services = compose_document(topology)["services"]
    for ca in topology.cas:
        assert not set(EXPIRIES) & set(services[ca.node_id]["environment"]), ca.node_id
