"""One Compose project per organisation, as rendered (no Docker needed): each holds only its own
organisation's containers, publishes on the exchange address only the ports other organisations dial, and
names only the other organisations' orderers and peers, at the host's gateway."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from seocho_network.cli import cli
from seocho_network.compose import DEFAULT_EXCHANGE_ADDRESS, PROJECTS_VARIABLE, mode_problem, per_organisation
from seocho_network.compose_render import (
    compose_document,
    compose_text,
    organisation_compose_file,
    project_name,
)
from seocho_network.context import NetworkError
from seocho_network.layout import NetworkLayout
from seocho_network.topology import load_topology

EXCHANGE = "172.17.0.1"
REFERENCES = Path(__file__).resolve().parents[2] / "network" / "docker"


def test_committed_references_are_each_organisations_rendering() -> None:
    """What the Docker runtime writes by default, one file per organisation, as `docker render --org`
    prints it (Docker's default bridge as the exchange address)."""
    topology = load_topology(port_offset=0)
    for org in topology.organizations:
        reference = REFERENCES / f"compose.{org.domain}.yaml"
        rendered = compose_text(topology, None, org, DEFAULT_EXCHANGE_ADDRESS)
        assert reference.read_text(encoding="utf-8") == rendered, (
            f"{reference.name} is stale: SEOCHO_NETWORK_PORT_OFFSET=0 .venv/bin/python -m seocho_network "
            f"docker render --org {org.domain} > network/docker/{reference.name}"
        )


def test_render_prints_the_project_of_the_organisation_asked_and_refuses_an_unknown_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SEOCHO_NETWORK_PORT_OFFSET", "0")
    monkeypatch.delenv("SEOCHO_DOCKER_EXCHANGE_ADDRESS", raising=False)
    topology = load_topology(port_offset=0)
    partners = topology.organizations[1]
    runner = CliRunner()
    printed = runner.invoke(cli, ["docker", "render", "--org", "Partners", "--exchange-address", "10.0.0.5"])
    assert printed.exit_code == 0, printed.output
    assert printed.output == compose_text(topology, None, partners, "10.0.0.5")
    unknown = runner.invoke(cli, ["docker", "render", "--org", "Nowhere"])
    assert unknown.exit_code == 2 and "no organisation 'Nowhere'" in unknown.output


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


def test_the_single_project_rendering_is_unchanged_by_the_split() -> None:
    topology = load_topology(port_offset=0)
    document = compose_document(topology)
    assert document["name"] == "seocho"
    assert not any("extra_hosts" in service for service in document["services"].values())


def test_one_project_per_organisation_is_the_default_and_a_deployment_of_the_other_mode_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    topology = load_topology(port_offset=0)
    layout = NetworkLayout(tmp_path)
    monkeypatch.delenv(PROJECTS_VARIABLE, raising=False)
    assert per_organisation() and mode_problem(layout, topology) is None  # nothing deployed yet
    (tmp_path / "compose.yaml").write_text("name: seocho\n")  # a deployment made as one project
    assert "SEOCHO_DOCKER_PROJECTS=single" in str(mode_problem(layout, topology))
    monkeypatch.setenv(PROJECTS_VARIABLE, "single")
    assert not per_organisation() and mode_problem(layout, topology) is None
    (tmp_path / "compose.yaml").unlink()
    organisation_compose_file(layout, topology.organizations[0]).write_text("name: seocho-district\n")
    assert "unset SEOCHO_DOCKER_PROJECTS" in str(mode_problem(layout, topology))
    monkeypatch.setenv(PROJECTS_VARIABLE, "network")
    with pytest.raises(NetworkError, match=r"`organisation` .* or `single`"):
        per_organisation()


def test_the_exchange_address_is_the_bridges_gateway_or_else_its_subnets_first_host() -> None:
    from seocho_network.compose import bridge_gateway

    assert bridge_gateway(["172.18.0.1", "172.18.0.0/16"]) == "172.18.0.1"
    # Debian's Docker 20.10 names only the subnet on a fresh engine.
    assert bridge_gateway(["172.17.0.0/16"]) == "172.17.0.1"
    with pytest.raises(NetworkError, match="has no gateway"):
        bridge_gateway([])
