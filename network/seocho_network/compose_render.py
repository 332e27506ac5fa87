"""The Docker Compose deployment of the topology: the compose file and each container's node config.

The node configs are the native network's (`configs.py` renders them over the release's sample configs);
here they are moved into containers: every path is rebased onto the official images' layout, the nodes
listen on all of the container's interfaces, and what a node announces to others (peer address, gossip
endpoints, anchor peers, Raft consenters, orderer endpoints) is its host name on the compose network.
Host ports are the topology's, published on 127.0.0.1 only, so the host-side tools (peer CLI, osnadmin,
the Fabric CA client, `seocho --profile`) reach each node at the same address as on the native network.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from .binaries import FABRIC_CA_VERSION, FABRIC_VERSION, FABRIC_VERSIONS, FabricBinaries
from .configs import (
    ADMIN_CLIENT_ROOTS,
    ca_operations_environment,
    orderer_process,
    write_configtx,
    write_peer_config,
)
from .crypto import chaincode_client_name
from .layout import NetworkLayout, node_path, org_home_path
from .topology import LOOPBACK, TLS_CA, CertificateAuthority, Orderer, Organization, Peer, Topology

# Where the official images keep things (hyperledger/fabric-peer, fabric-orderer, fabric-ca).
CONFIG_DIR = "/etc/hyperledger/fabric"
VAR_DIR = "/var/hyperledger"
DATA_DIR = f"{VAR_DIR}/production"
CCAAS_BUILDER = "/opt/hyperledger/ccaas_builder"
CA_HOME = "/etc/hyperledger/fabric-ca-server"
CA_DB_DIR = "/var/hyperledger/fabric-ca"
CHAINCODE_TLS = "/etc/seocho/tls"
CHAINCODE_UID = 10001  # the chaincode image's user (chaincode/Dockerfile)
NETWORK = "seocho"

IMAGE_VARIABLES = {
    "peer": ("FABRIC_PEER_IMAGE", f"hyperledger/fabric-peer:{FABRIC_VERSION}"),
    "orderer": ("FABRIC_ORDERER_IMAGE", f"hyperledger/fabric-orderer:{FABRIC_VERSION}"),
    "ca": ("FABRIC_CA_IMAGE", f"hyperledger/fabric-ca:{FABRIC_CA_VERSION}"),
    "chaincode": ("SEOCHO_CHAINCODE_IMAGE", "seocho/chaincode:0.1.0"),
    "service": ("SEOCHO_SERVICE_IMAGE", "seocho/service:0.1.0"),  # the HTTP service (compose_service)
}


# A tag, a digest or both: `name[:tag][@sha256:<64 hex>]`; registries and ports allowed in the name.
_IMAGE_REFERENCE = re.compile(
    r"^(?P<name>[a-z0-9]+(?:[._-][a-z0-9]+)*(?::[0-9]+)?(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*)"
    r"(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?(?:@(?P<digest>sha256:[0-9a-f]{64}))?$"
)

# Per kind of container: what it may use of the host. A Fabric node holds its ledger in memory-mapped
# files and a few hundred goroutines; the CA and the chaincode server are small.
LIMITS = {
    "peer": {"mem_limit": "2g", "pids_limit": 1024},
    "orderer": {"mem_limit": "1g", "pids_limit": 512},
    "ca": {"mem_limit": "256m", "pids_limit": 128},
    "chaincode": {"mem_limit": "512m", "pids_limit": 256},
}
LOGGING = {"driver": "json-file", "options": {"max-size": "10m", "max-file": "5"}}


def release_image_variable(kind: str, release: str) -> tuple[str, str]:
    """The variable that names the image of a peer or orderer on Fabric `release`, and its default.

    The nodes on FABRIC_VERSION keep the plain variables (FABRIC_PEER_IMAGE, ...); those on another
    pinned release get their own, suffixed with it (FABRIC_PEER_IMAGE_3_1_5): one node can run on the
    new release while the others stay on the old one, as a rolling upgrade does."""
    variable, default = IMAGE_VARIABLES[kind]
    if release == FABRIC_VERSION:
        return variable, default
    return f"{variable}_{release.replace('.', '_')}", f"{default.rsplit(':', 1)[0]}:{release}"


def image(kind: str, release: str = FABRIC_VERSION) -> str:
    """The compose file's `image:` of a container of `kind` (a peer's or orderer's: on `release`)."""
    variable, default = (
        release_image_variable(kind, release) if kind in ("peer", "orderer") else IMAGE_VARIABLES[kind]
    )
    return f"${{{variable}:-{default}}}"


def all_image_variables() -> list[str]:
    """Every variable a compose file may name an image by: the plain ones and each release's."""
    names = [variable for variable, _ in IMAGE_VARIABLES.values()]
    for release in FABRIC_VERSIONS:
        if release != FABRIC_VERSION:
            names += [release_image_variable(kind, release)[0] for kind in ("peer", "orderer")]
    return names


def image_reference_problem(reference: str) -> str | None:
    """Why `reference` is not an image a compose file can name ('name:tag', 'name@sha256:...'), or None."""
    if _IMAGE_REFERENCE.match(reference):
        return None
    if "@" in reference:
        return f"{reference!r}: a digest is @sha256: and 64 lower-case hex digits"
    return f"{reference!r} is not an image reference (name[:tag][@sha256:digest], lower-case name)"


class ImageReferenceError(RuntimeError):
    """An image variable names no image a registry could resolve."""


def check_image_variables(environ: Mapping[str, str]) -> None:
    """Refuses, before Docker is asked, an image variable that no registry could resolve."""
    for variable in all_image_variables():
        value = environ.get(variable, "")
        problem = image_reference_problem(value) if value else None
        if problem is not None:
            raise ImageReferenceError(f"{variable}: {problem}")


def _hardened(kind: str, host_user: str | None) -> dict[str, Any]:
    """What every container gets: no capabilities, no privilege gain, a read-only root filesystem (writes
    go to its volumes and a small /tmp), memory and process limits, rotated logs.

    The Fabric images run as root and their ledger directory belongs to root, so only the chaincode runs
    as a user of its own; root without capabilities still owns what it reads when the deployment directory
    is root's. Deployed by another user (`host_user`), the Fabric containers keep CAP_DAC_OVERRIDE alone, to
    read that user's 0600 keys.
    """
    hardened: dict[str, Any] = {
        "read_only": True,
        "tmpfs": ["/tmp:size=64m"],
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges:true"],
        **LIMITS[kind],
        "logging": LOGGING,
    }
    if host_user is not None and kind != "chaincode":
        hardened["cap_add"] = ["DAC_OVERRIDE"]
    return hardened


def chaincode_id_variable(org: Organization) -> str:
    """The .env variable that `deploy` sets to the package ID the organisation's chaincode serves."""
    return f"CHAINCODE_ID_{org.name.upper()}"


def container_dir(layout: NetworkLayout, node_id: str) -> Path:
    """The host directory mounted as the node's FABRIC_CFG_PATH (its config; msp/ and tls/ mount inside)."""
    return layout.node(node_id).root / "container"


def _rebase(value: Any, mapping: dict[str, str]) -> Any:
    """`value` with every string that starts with a host path of `mapping` moved to its container path."""
    if isinstance(value, dict):
        return {key: _rebase(item, mapping) for key, item in value.items()}
    if isinstance(value, list):
        return [_rebase(item, mapping) for item in value]
    if isinstance(value, str):
        for host, container in mapping.items():
            if value == host or value.startswith(host + "/"):
                return container + value[len(host) :]
    return value


def _node_paths(layout: NetworkLayout, node_id: str) -> dict[str, str]:
    files = layout.node(node_id)
    return {
        str(files.msp): f"{CONFIG_DIR}/msp",
        str(files.tls): f"{CONFIG_DIR}/tls",
        str(files.data): DATA_DIR,
    }


def _set(document: dict[str, Any], dotted: str, value: Any) -> None:
    node = document
    *parents, last = dotted.split(".")
    for key in parents:
        node = node.setdefault(key, {})
    node[last] = value


def _write(path: Path, document: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


def _prepare_mountpoints(layout: NetworkLayout, node_id: str) -> Path:
    directory = container_dir(layout, node_id)
    # Mountpoints for msp/ and tls/ must exist in the read-only config mount before Docker mounts them.
    for sub in ("msp", "tls"):
        (directory / sub).mkdir(parents=True, exist_ok=True)
    return directory


def render_orderer(binaries: FabricBinaries, layout: NetworkLayout, orderer: Orderer) -> Path:
    """The orderer's orderer.yaml for its container (the native one stays for the host-side tools)."""
    orderer_process(binaries, layout, orderer)  # renders the native config into the node's config/
    native = layout.node(orderer.node_id).config / "orderer.yaml"
    document = _rebase(
        yaml.safe_load(native.read_text(encoding="utf-8")), _node_paths(layout, orderer.node_id)
    )
    _set(document, "General.ListenAddress", "0.0.0.0")
    _set(document, "General.Cluster.ListenAddress", "0.0.0.0")
    _set(document, "Admin.ListenAddress", f"0.0.0.0:{orderer.admin_port}")
    _set(document, "Operations.ListenAddress", f"0.0.0.0:{orderer.operations_port}")
    directory = _prepare_mountpoints(layout, orderer.node_id)
    # The admin endpoint's client roots (the admin's pinned TLS certificate) go beside the config.
    native_roots = layout.node(orderer.node_id).config / ADMIN_CLIENT_ROOTS
    shutil.copyfile(native_roots, directory / ADMIN_CLIENT_ROOTS)
    _set(document, "Admin.TLS.ClientRootCAs", [f"{CONFIG_DIR}/{ADMIN_CLIENT_ROOTS}"])
    return _write(directory / "orderer.yaml", document)


def render_peer(binaries: FabricBinaries, layout: NetworkLayout, peer: Peer) -> Path:
    """The peer's core.yaml for its container, with the ccaas builder where the official image has it."""
    native = write_peer_config(binaries, layout, peer) / "core.yaml"
    paths = _node_paths(layout, peer.node_id) | {str(binaries.ccaas_builder): CCAAS_BUILDER}
    document = _rebase(yaml.safe_load(native.read_text(encoding="utf-8")), paths)
    announced = f"{peer.node_id}:{peer.port}"
    for key, value in {
        "peer.listenAddress": f"0.0.0.0:{peer.port}",
        "peer.address": announced,
        "peer.chaincodeListenAddress": f"0.0.0.0:{peer.chaincode_port}",
        "peer.chaincodeAddress": f"{peer.node_id}:{peer.chaincode_port}",
        "peer.gossip.bootstrap": announced,
        "peer.gossip.endpoint": announced,
        "peer.gossip.externalEndpoint": announced,
        "operations.listenAddress": f"0.0.0.0:{peer.operations_port}",
    }.items():
        _set(document, key, value)
    return _write(_prepare_mountpoints(layout, peer.node_id) / "core.yaml", document)


def render_configtx(layout: NetworkLayout, topology: Topology) -> Path:
    """The channel's configtx.yaml, announcing the nodes by their host names on the compose network."""
    path = write_configtx(layout, topology)
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    by_cluster_port = {o.cluster_port: o for o in topology.orderers}
    sections = [*document["Organizations"], *_profile_orgs(document)]
    for section, org in _pair_sections(sections, topology):
        if "OrdererEndpoints" in section:
            section["OrdererEndpoints"] = [f"{o.node_id}:{o.port}" for o in org.orderers]
        if "AnchorPeers" in section:
            section["AnchorPeers"] = [{"Host": org.peers[0].node_id, "Port": org.peers[0].port}]
    for profile in document["Profiles"].values():
        ordering = profile["Orderer"]
        # Raft's consenters, or SmartBFT's consenter mapping: both are found by their cluster port.
        for consenter in ordering.get("EtcdRaft", {}).get("Consenters", ordering.get("ConsenterMapping", [])):
            consenter["Host"] = by_cluster_port[consenter["Port"]].node_id
    return _write(path, document)


def _profile_orgs(document: dict[str, Any]) -> list[dict[str, Any]]:
    # Whether the dump shared the sections by YAML aliases or wrote them out again, edit every copy.
    found: list[dict[str, Any]] = []
    for profile in document["Profiles"].values():
        found += profile["Orderer"]["Organizations"] + profile["Application"]["Organizations"]
    return found


def _pair_sections(
    sections: list[dict[str, Any]], topology: Topology
) -> list[tuple[dict[str, Any], Organization]]:
    return [(section, topology.organization(section["ID"])) for section in sections]


def prepare_chaincode_tls(layout: NetworkLayout, org: Organization) -> Path:
    """A copy of the chaincode server's TLS files that the image's non-root user can read."""
    source = layout.node(org.chaincode_server.node_id)
    target = source.root / "container-tls"
    target.mkdir(parents=True, exist_ok=True, mode=0o700)
    wanted = ((source.tls_key, "server.key"), (source.tls_cert, "server.crt"), (source.tls_ca, "ca.crt"))
    for path, name in wanted:
        shutil.copyfile(path, target / name)
        (target / name).chmod(0o600 if name.endswith(".key") else 0o644)
    if os.geteuid() == 0:
        for path in (target, *target.iterdir()):
            os.chown(path, CHAINCODE_UID, CHAINCODE_UID)
    return target


def chaincode_user() -> str | None:
    """None when the image's own user can be given the files (we are root); else run as the caller."""
    return None if os.geteuid() == 0 else f"{os.getuid()}:{os.getgid()}"


def _published(*ports: int) -> list[str]:
    return [f"{LOOPBACK}:{port}:{port}" for port in ports]


def _volume(name: str) -> str:
    return name.replace(".", "-")


def _others(topology: Topology, org: Organization) -> dict[str, str]:
    """extra_hosts: every other organisation's orderers and peers at the host's gateway, where their
    projects publish the ports between organisations (on separate hosts: the other host's address)."""
    names = [o.node_id for o in topology.orderers if o.org is not org]
    names += [p.node_id for p in topology.peers if p.org is not org]
    return dict.fromkeys(names, "host-gateway")


def compose_document(
    topology: Topology,
    chaincode_user: str | None = None,
    only: Organization | None = None,
    exchange_address: str | None = None,
    releases: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The compose file; paths are relative to the deployment directory that holds it.

    Each peer and orderer runs the image of its release: `releases` (node id to release, kept by a
    rolling upgrade in docker_releases.py) where it names the node, else the topology's.

    With `only`, only that organisation's project, on a Docker network of its own: the other
    organisations' nodes are reached as separate hosts would be, through the ports their projects
    publish on `exchange_address` (the Docker host's gateway address, which containers reach as
    `host-gateway`), and its own ports between organisations are published there too.
    """
    services: dict[str, Any] = {}
    volumes: dict[str, Any] = {}
    common: dict[str, Any] = {"restart": "unless-stopped", "networks": [NETWORK]}
    releases = releases or {}

    def release(node: Orderer | Peer) -> str:
        return releases.get(node.node_id, topology.fabric_version)

    for org in topology.organizations if only is None else (only,):
        for ca in (org.ca, org.tls_ca):
            db_volume = _volume(f"ca-db-{_ca_dir(ca)}")
            volumes[db_volume] = {}
            services[ca.node_id] = common | _ca_service(ca, db_volume) | _hardened("ca", chaincode_user)
        for orderer in org.orderers:
            volumes[_volume(f"ledger-{orderer.node_id}")] = {}
            services[orderer.node_id] = (
                common
                | _node_service(
                    "orderer",
                    org.domain,
                    orderer.node_id,
                    orderer.operations_port,
                    _published(orderer.port, orderer.admin_port, orderer.operations_port),
                    release(orderer),
                )
                | _hardened("orderer", chaincode_user)
            )
        for peer in org.peers:
            volumes[_volume(f"ledger-{peer.node_id}")] = {}
            services[peer.node_id] = (
                common
                | _node_service(
                    "peer",
                    org.domain,
                    peer.node_id,
                    peer.operations_port,
                    _published(peer.port, peer.operations_port),
                    release(peer),
                )
                | _hardened("peer", chaincode_user)
            )
        chaincode = _chaincode_service(topology, org, chaincode_user)
        services[org.chaincode_server.node_id] = common | chaincode | _hardened("chaincode", chaincode_user)
        if exchange_address is not None:
            _publish_between_organisations(services, topology, org, exchange_address)
    from .compose_service import service_fragment  # it builds on this module's helpers

    http_services, http_volumes = service_fragment(topology, only, chaincode_user)
    services |= http_services
    volumes |= http_volumes
    return {
        "name": "seocho" if only is None else project_name("seocho", only),
        "services": services,
        "volumes": volumes,
        "networks": {NETWORK: {"driver": "bridge"}},
    }


def project_name(base: str, org: Organization) -> str:
    """The Compose project of one organisation of the deployment called `base`."""
    return f"{base}-{org.name.lower()}"


def _publish_between_organisations(
    services: dict[str, Any], topology: Topology, org: Organization, address: str
) -> None:
    """Its orderers and peers publish the ports other organisations dial on `address`, and reach the
    other organisations' at the host's gateway (their own organisation's, on its own network)."""
    published = {o.node_id: [o.port, o.cluster_port] for o in org.orderers}
    published |= {p.node_id: [p.port] for p in org.peers}
    for node_id, ports in published.items():
        service = services[node_id]
        service["ports"] = [*service["ports"], *(f"{address}:{port}:{port}" for port in ports)]
        service["extra_hosts"] = _others(topology, org)


def _ca_dir(ca: CertificateAuthority) -> str:
    return f"tls.{ca.org.domain}" if ca.kind == TLS_CA else ca.org.domain


def _ca_service(ca: CertificateAuthority, db_volume: str) -> dict[str, Any]:
    # The CA server home in its organisation's home (layout.ca_server_home), relative to the deployment.
    # No compose health check: the operations endpoint wants a client certificate of the TLS CA, which no
    # tool in the image can present; `up` and `status` ask it from the host, as the operations client.
    home = f"./{org_home_path(ca.org.domain)}/{'fabric-tlsca' if ca.kind == TLS_CA else 'fabric-ca'}"
    return {
        "image": image("ca"),
        # No `hostname: <ca node id>`: fabric-ca-server names its own TLS certificate after the host, and
        # a TLS certificate with the CA's own name would look self-signed to every client.
        "env_file": [f"{home}/bootstrap.env"],
        "environment": {
            "FABRIC_CA_SERVER_DB_DATASOURCE": f"{CA_DB_DIR}/fabric-ca-server.db",
            "FABRIC_CA_SERVER_OPERATIONS_LISTENADDRESS": f"0.0.0.0:{ca.operations_port}",
            "FABRIC_CA_SERVER_METRICS_PROVIDER": "prometheus",
            **ca_operations_environment(ca, Path(CA_HOME)),
            **ca_lifetime_environment(ca),
        },
        "command": [
            "fabric-ca-server",
            "start",
            "--port",
            str(ca.port),
            "--tls.enabled",
            "--ca.name",
            ca.node_id,
            "--csr.cn",
            ca.node_id,
            "--csr.hosts",
            f"{ca.node_id},{LOOPBACK},localhost",
        ],
        "volumes": [f"{home}:{CA_HOME}", f"{db_volume}:{CA_DB_DIR}"],
        "ports": _published(ca.port, ca.operations_port),
    }


def ca_lifetime_environment(ca: CertificateAuthority) -> dict[str, str]:
    """The topology's `certificates.lifetime` for a CA that creates its config in its container.

    The native CA takes it in its config file after `init`; this one writes its config at its first
    start, so the lifetime goes in as environment overrides of the config's signing expiries (the
    default profile signs enrolment certificates, `tls` TLS ones and the server's own TLS certificate),
    which keeps the container following the topology when the lifetime changes and the CA is recreated.
    """
    if not ca.certificate_lifetime:
        return {}
    return {
        "FABRIC_CA_SERVER_SIGNING_DEFAULT_EXPIRY": ca.certificate_lifetime,
        "FABRIC_CA_SERVER_SIGNING_PROFILES_TLS_EXPIRY": ca.certificate_lifetime,
    }


def _node_service(
    kind: str, domain: str, node_id: str, operations_port: int, ports: list[str], release: str
) -> dict[str, Any]:
    config = f"./{node_path(domain, node_id)}"
    return {
        "image": image(kind, release),
        "hostname": node_id,
        "environment": {"FABRIC_CFG_PATH": CONFIG_DIR},
        "volumes": [
            f"{config}/container:{CONFIG_DIR}:ro",
            f"{config}/msp:{CONFIG_DIR}/msp:ro",
            f"{config}/tls:{CONFIG_DIR}/tls:ro",
            # The volume covers the image's VOLUME /var/hyperledger (so Docker makes no anonymous volume
            # there); the ledgers are in its production/ directory, where the official configs put them.
            f"{_volume('ledger-' + node_id)}:{VAR_DIR}",
        ],
        "ports": ports,
    }


def _chaincode_service(topology: Topology, org: Organization, user: str | None) -> dict[str, Any]:
    server = org.chaincode_server
    service: dict[str, Any] = {
        "image": image("chaincode"),
        "hostname": server.node_id,
        "environment": {
            "CHAINCODE_ID": f"${{{chaincode_id_variable(org)}:-}}",
            "CHAINCODE_SERVER_ADDRESS": f"0.0.0.0:{server.port}",
            "CHAINCODE_TLS_KEY": f"{CHAINCODE_TLS}/server.key",
            "CHAINCODE_TLS_CERT": f"{CHAINCODE_TLS}/server.crt",
            "CHAINCODE_CLIENT_CA_CERT": f"{CHAINCODE_TLS}/ca.crt",
            "CHAINCODE_CLIENT_CN": chaincode_client_name(org),
            "SEOCHO_DISTRICT_MSP": topology.organizations[0].msp_id,
        },
        "volumes": [f"./{node_path(org.domain, server.node_id)}/container-tls:{CHAINCODE_TLS}:ro"],
    }
    if server.metrics_port is not None:  # Prometheus on the host scrapes it as it does the native server's
        service["environment"]["CHAINCODE_METRICS_ADDRESS"] = f"0.0.0.0:{server.metrics_port}"
        service["ports"] = _published(server.metrics_port)
    if user is not None:
        service["user"] = user
    return service


class _PlainDumper(yaml.SafeDumper):
    """Writes shared sections out in full: a compose file is read by people, YAML aliases hide things."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _represent_list(dumper: yaml.SafeDumper, data: list[Any]) -> yaml.Node:
    # Short lists of plain values (ports, a health check's command) read best on one line.
    short = all(isinstance(item, str | int) for item in data) and len(str(data)) <= 90
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=short)


_PlainDumper.add_representer(list, _represent_list)


def compose_text(
    topology: Topology,
    user: str | None = None,
    org: Organization | None = None,
    exchange_address: str | None = None,
    releases: Mapping[str, str] | None = None,
) -> str:
    """The compose file as written: a header, then the document."""
    header = "# Rendered from network/topology.yaml by `scripts/network.sh docker up`; edit the topology.\n"
    document = compose_document(topology, user, org, exchange_address, releases)
    return header + yaml.dump(document, Dumper=_PlainDumper, sort_keys=False, width=120)


def write_compose(
    layout: NetworkLayout, topology: Topology, releases: Mapping[str, str] | None = None
) -> Path:
    check_image_variables(os.environ)
    path = layout.root / "compose.yaml"
    path.write_text(compose_text(topology, chaincode_user(), releases=releases), encoding="utf-8")
    return path


def organisation_compose_file(layout: NetworkLayout, org: Organization) -> Path:
    """One organisation's compose file (paths relative to the deployment directory, like compose.yaml)."""
    return layout.root / f"compose.{org.domain}.yaml"


def write_organisation_compose(
    layout: NetworkLayout,
    topology: Topology,
    org: Organization,
    exchange_address: str,
    releases: Mapping[str, str] | None = None,
) -> Path:
    check_image_variables(os.environ)
    path = organisation_compose_file(layout, org)
    text = compose_text(topology, chaincode_user(), org, exchange_address, releases)
    path.write_text(text, encoding="utf-8")
    return path
