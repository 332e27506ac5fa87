"""The compose file rendered from the topology (no Docker needed): what district IT reviews and runs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from seocho_network.compose_render import (
    IMAGE_VARIABLES,
    ImageReferenceError,
    _rebase,
    compose_document,
    compose_text,
    image_reference_problem,
    write_compose,
)
from seocho_network.layout import NetworkLayout
from seocho_network.topology import load_topology

REFERENCE = Path(__file__).resolve().parents[2] / "network" / "docker" / "compose.yaml"


def test_committed_reference_is_the_rendering_of_the_topology() -> None:
    rendered = compose_text(load_topology(port_offset=0))
    assert REFERENCE.read_text(encoding="utf-8") == rendered, (
        "network/docker/compose.yaml is stale: SEOCHO_NETWORK_PORT_OFFSET=0 "
        ".venv/bin/python -m seocho_network docker render > network/docker/compose.yaml"
    )


def test_images_default_to_the_official_ones_and_ports_are_loopback_only() -> None:
    services = compose_document(load_topology(port_offset=0))["services"]
    images = {service["image"] for service in services.values()}
    assert {
        "${FABRIC_PEER_IMAGE:-hyperledger/fabric-peer:2.5.16}",
        "${FABRIC_ORDERER_IMAGE:-hyperledger/fabric-orderer:2.5.16}",
        "${FABRIC_CA_IMAGE:-hyperledger/fabric-ca:1.5.15}",
    } <= images
    published = [port for service in services.values() for port in service.get("ports", [])]
    assert published and all(port.startswith("127.0.0.1:") for port in published)


def test_every_ledger_and_ca_database_is_a_named_volume() -> None:
    document = compose_document(load_topology(port_offset=0))
    topology = load_topology(port_offset=0)
    for node in [*topology.orderers, *topology.peers]:
        mounts = document["services"][node.node_id]["volumes"]
        named = [m for m in mounts if not m.startswith("./")]
        assert named == [f"ledger-{node.node_id.replace('.', '-')}:/var/hyperledger"]
        assert named[0].split(":")[0] in document["volumes"]
    for ca in topology.cas:
        assert any(
            m.endswith(":/var/hyperledger/fabric-ca") for m in document["services"][ca.node_id]["volumes"]
        )


def test_operations_endpoints_want_tls_clients_and_each_chaincode_accepts_only_its_peers() -> None:
    topology = load_topology(port_offset=0)
    services = compose_document(topology)["services"]
    home = "/etc/hyperledger/fabric-ca-server"
    for ca in topology.cas:
        environment = services[ca.node_id]["environment"]
        tls = {k.removeprefix("FABRIC_CA_SERVER_OPERATIONS_TLS_"): v for k, v in environment.items()
               if k.startswith("FABRIC_CA_SERVER_OPERATIONS_TLS_")}  # fmt: skip
        # The names fabric-ca-server 1.5.15 decodes (CLIENTCERTREQUIRED, CLIENTCACERTFILES) and the
        # documented ones: client certificates of the organisation's TLS CA are required.
        roots = f"{home}/ca-cert.pem" if ca is ca.org.tls_ca else f"{home}/operations/tls/ca.crt"
        assert tls == {
            "ENABLED": "true",
            "CERT_FILE": f"{home}/operations/tls/server.crt",
            "KEY_FILE": f"{home}/operations/tls/server.key",
            "CLIENTCERTREQUIRED": "true",
            "CLIENTCACERTFILES": roots,
            "CLIENTAUTHREQUIRED": "true",
            "CLIENTROOTCAS_FILES": roots,
        }
    # Every operations endpoint wants a client certificate the images' tools cannot show: health is
    # asked from the host.
    for node in [*topology.cas, *topology.orderers, *topology.peers]:
        assert "healthcheck" not in services[node.node_id]
    for org in topology.organizations:
        chaincode = services[org.chaincode_server.node_id]
        assert chaincode["environment"]["CHAINCODE_ID"] == f"${{CHAINCODE_ID_{org.name.upper()}:-}}"
        assert chaincode["environment"]["CHAINCODE_CLIENT_CN"] == f"chaincode-client.{org.domain}"
        assert chaincode["volumes"][0].endswith(":/etc/seocho/tls:ro")
        # Its metrics (same TLS, the organisation's clients) on the topology's port, published on loopback.
        metrics = org.chaincode_server.metrics_port
        assert chaincode["environment"]["CHAINCODE_METRICS_ADDRESS"] == f"0.0.0.0:{metrics}"
        assert chaincode["ports"] == [f"127.0.0.1:{metrics}:{metrics}"]


def test_each_organisation_runs_an_identity_ca_and_a_tls_ca_with_their_own_homes_and_databases() -> None:
    topology = load_topology(port_offset=0)
    services = compose_document(topology)["services"]
    for org in topology.organizations:
        identity, tls = services[org.ca.node_id], services[org.tls_ca.node_id]
        # Both CA homes are in the organisation's own home (layout.ca_server_home).
        home = f"./orgs/{org.domain}"
        assert identity["volumes"][0] == f"{home}/fabric-ca:/etc/hyperledger/fabric-ca-server"
        assert tls["volumes"][0] == f"{home}/fabric-tlsca:/etc/hyperledger/fabric-ca-server"
        assert identity["volumes"][1] != tls["volumes"][1]
        assert tls["command"][tls["command"].index("--port") + 1] == str(org.tls_ca.port)
        assert tls["env_file"] == [f"{home}/fabric-tlsca/bootstrap.env"]


def test_rebase_moves_host_paths_only_at_path_boundaries() -> None:
    mapping = {"/h/nodes/p/msp": "/etc/hyperledger/fabric/msp"}
    document = {"a": "/h/nodes/p/msp/keystore", "b": ["/h/nodes/p/mspx", "/h/nodes/p/msp"], "c": 7}
    assert _rebase(document, mapping) == {
        "a": "/etc/hyperledger/fabric/msp/keystore",
        "b": ["/h/nodes/p/mspx", "/etc/hyperledger/fabric/msp"],
        "c": 7,
    }


def test_every_container_is_hardened_and_fabric_ones_keep_one_capability_only_for_a_non_root_deployer() -> (
    None
):
    topology = load_topology(port_offset=0)
    for deployer in (None, "1000:1000"):
        services = compose_document(topology, deployer)["services"]
        # Per organisation its CAs, peer and chaincode server; the orderers; the district's HTTP service.
        assert len(services) == 4 * len(topology.organizations) + len(topology.orderers) + 1
        for name, service in services.items():
            assert service["read_only"] is True, name
            assert service["cap_drop"] == ["ALL"], name
            assert service["security_opt"] == ["no-new-privileges:true"], name
            assert re.fullmatch(r"[0-9]+[mg]", service["mem_limit"]), name
            assert 0 < service["pids_limit"] <= 1024, name
            assert service["logging"]["driver"] == "json-file", name
            assert set(service["logging"]["options"]) == {"max-size", "max-file"}, name
            assert all(mount.startswith("/tmp") for mount in service["tmpfs"]), name
            is_chaincode = name.startswith(("chaincode.", "api."))  # both run as a user of their own
            expected_caps = [] if deployer is None or is_chaincode else ["DAC_OVERRIDE"]
            assert service.get("cap_add", []) == expected_caps, name
            assert service.get("user") == (deployer if is_chaincode else None), name


def _interpolate(text: str, environ: dict[str, str]) -> str:
    """Compose's `${NAME:-default}`, for the variables this file uses."""
    return re.sub(r"\$\{([A-Z_]+):-([^}]*)\}", lambda m: environ.get(m.group(1)) or m.group(2), text)


DIGEST = "sha256:" + "0123456789abcdef" * 4


@pytest.mark.parametrize("kind", sorted(IMAGE_VARIABLES))
def test_every_image_variable_takes_a_digest(kind: str) -> None:
    variable, default = IMAGE_VARIABLES[kind]
    name = default.split(":")[0]
    pinned = {variable: f"registry.example:5000/{name}@{DIGEST}"}
    topology = load_topology(port_offset=0)
    rendered = _interpolate(compose_text(topology), pinned)
    assert f"image: registry.example:5000/{name}@{DIGEST}" in rendered
    assert f"image: {default}" not in rendered
    for reference in (default, f"{name}@{DIGEST}", f"{default}@{DIGEST}", pinned[variable]):
        assert image_reference_problem(reference) is None, reference


def test_a_malformed_image_variable_is_refused_before_docker_and_nothing_is_written(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert "64 lower-case hex" in str(image_reference_problem("hyperledger/fabric-peer@sha256:abc"))
    assert image_reference_problem("Hyperledger/Fabric-Peer:2.5") is not None
    assert image_reference_problem("hyperledger/fabric-peer:") is not None
    monkeypatch.setenv("FABRIC_ORDERER_IMAGE", "hyperledger/fabric-orderer@sha256:" + "0" * 63)
    with pytest.raises(ImageReferenceError, match="FABRIC_ORDERER_IMAGE"):
        write_compose(NetworkLayout(tmp_path), load_topology(port_offset=0))
    assert not (tmp_path / "compose.yaml").exists()
