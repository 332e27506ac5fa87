"""One Compose project per organisation, as rendered (no Docker needed): each holds only its own
organisation's containers, publishes on the exchange address only the ports other organisations dial, and
names only the other organisations' orderers and peers, at the host's gateway."""

from __future__ import annotations

from seocho_network.compose_render import compose_document, project_name
from seocho_network.topology import load_topology

EXCHANGE = "172.17.0.1"


def test_each_project_holds_only_its_organisations_containers() -> None:
    topology = load_topology(port_offset=0)
    together = compose_document(topology)["services"]
    split: dict[str, object] = {}
    for org in topology.organizations:
        document = compose_document(topology, None, org, EXCHANGE)
        assert document["name"] == project_name("seocho", org) == f"seocho-{org.name.lower()}"
        assert all(name.endswith("." + org.domain) for name in document["services"]), org.name
        assert not set(split) & set(document["services"])
        split |= document["services"]
    assert set(split) == set(together)


def test_only_the_ports_between_organisations_are_published_on_the_exchange_address() -> None:
    topology = load_topology(port_offset=0)
    for org in topology.organizations:
        services = compose_document(topology, None, org, EXCHANGE)["services"]
        published = [port for service in services.values() for port in service.get("ports", [])]
        exchanged = sorted(int(p.rsplit(":", 1)[1]) for p in published if p.startswith(EXCHANGE + ":"))
        wanted = [port for o in org.orderers for port in (o.port, o.cluster_port)] + [
            p.port for p in org.peers
        ]
        assert exchanged == sorted(wanted), org.name
        # Everything else (CAs, admin and operations ports, chaincode servers) on loopback only, as before.
        assert all(p.startswith((EXCHANGE + ":", "127.0.0.1:")) for p in published)


def test_orderers_and_peers_reach_the_other_organisations_nodes_at_the_host_gateway() -> None:
    topology = load_topology(port_offset=0)
    for org in topology.organizations:
        others = {n.node_id for n in (*topology.orderers, *topology.peers) if n.org is not org}
        services = compose_document(topology, None, org, EXCHANGE)["services"]
        for node in (*org.orderers, *org.peers):
            assert services[node.node_id]["extra_hosts"] == dict.fromkeys(others, "host-gateway")
        for node_id in (org.ca.node_id, org.tls_ca.node_id, org.chaincode_server.node_id):
            assert "extra_hosts" not in services[node_id]  # they talk to their own organisation only


def test_the_one_project_rendering_is_unchanged_by_the_split() -> None:
    topology = load_topology(port_offset=0)
    document = compose_document(topology)
    assert document["name"] == "seocho"
    assert not any("extra_hosts" in service for service in document["services"].values())
