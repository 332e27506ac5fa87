"""The chaincode lifecycle for chaincode-as-a-service: package, install, approve, commit, serve.

Each organisation gets its own package, whose connection.json names its own chaincode server, so the
package IDs differ between organisations; approvals are per organisation, so that is allowed. The
chaincode version carries a digest of the chaincode's source: `deploy` after a code change commits a
new sequence, and `deploy` with nothing changed changes nothing.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import io
import json
import sys
import tarfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .admin import PeerAdmin, tls_flags_for
from .binaries import CommandError
from .configs import node_environment
from .crypto import chaincode_client_name
from .layout import NetworkLayout
from .processes import ProcessSpec
from .topology import ChaincodeSpec, Organization, Topology

# What runs inside the chaincode server: the coin rules and the generic shim they run on.
CHAINCODE_PACKAGES = ("seocho_coin", "fabric_shim")


@dataclass(frozen=True)
class ChaincodeService:
    """A chaincode to deploy: its definition, the command that serves it, and a digest of its code.

    The first service of a network (index 0) serves on each organisation's chaincode-server port of the
    topology; further ones on the ports after it.
    """

    spec: ChaincodeSpec
    command: tuple[str, ...]
    digest: str
    index: int = 0
    environment: Mapping[str, str] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.spec.name}_{self.digest}"

    @property
    def version(self) -> str:
        return f"{self.spec.version}+{self.digest}"

    def server_id(self, org: Organization) -> str:
        base = org.chaincode_server.node_id
        return base if self.index == 0 else f"{self.spec.name}.{base}"

    def server_address(self, org: Organization) -> tuple[str, int]:
        return org.chaincode_server.address.rsplit(":", 1)[0], org.chaincode_server.port + self.index


def coin_service(topology: Topology) -> ChaincodeService:
    """The Seocho Coin chaincode, served by `seocho-chaincode` from this Python environment."""
    executable = Path(sys.executable).with_name("seocho-chaincode")
    command = (str(executable),) if executable.exists() else (sys.executable, "-m", "seocho_coin.server")
    district_msp = topology.organizations[0].msp_id
    return ChaincodeService(
        topology.chaincode, command, source_digest(), environment={"SEOCHO_DISTRICT_MSP": district_msp}
    )


@dataclass(frozen=True)
class CommittedDefinition:
    name: str
    version: str
    sequence: int
    approvals: dict[str, bool]


def source_digest(packages: tuple[str, ...] = CHAINCODE_PACKAGES) -> str:
    """A digest of the chaincode's Python sources, as installed."""
    digest = hashlib.sha256()
    for package in packages:
        spec = importlib.util.find_spec(package)
        if spec is None or spec.origin is None:
            raise RuntimeError(f"the chaincode package {package} is not installed")
        root = Path(spec.origin).parent
        for path in sorted(root.rglob("*.py")):
            digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def _tar_member(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    # Fixed metadata: the same inputs make the same bytes, hence the same package ID.
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    info.mtime = 0
    archive.addfile(info, io.BytesIO(data))


def _tar_gz(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    # gzip's header holds a timestamp too: mtime=0 keeps it fixed.
    with (
        gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as compressed,
        tarfile.open(fileobj=compressed, mode="w") as archive,
    ):
        for name, data in members.items():
            _tar_member(archive, name, data)
    return buffer.getvalue()


def build_package(layout: NetworkLayout, org: Organization, service: ChaincodeService) -> tuple[Path, str]:
    """Writes the organisation's ccaas package and returns (path, package ID)."""
    server = layout.node(org.chaincode_server.node_id)
    client = layout.node(chaincode_client_name(org))
    host, port = service.server_address(org)
    connection = {
        "address": f"{host}:{port}",
        "dial_timeout": "10s",
        "tls_required": True,
        "client_auth_required": True,
        "root_cert": server.tls_ca.read_text(encoding="utf-8"),
        "client_key": client.tls_key.read_text(encoding="utf-8"),
        "client_cert": client.tls_cert.read_text(encoding="utf-8"),
    }
    code = _tar_gz({"connection.json": json.dumps(connection, indent=2).encode()})
    label = service.label
    metadata = json.dumps({"type": "ccaas", "label": label}).encode()
    package = _tar_gz({"metadata.json": metadata, "code.tar.gz": code})
    directory = layout.chaincode_dir(org)
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = directory / f"{label}.tar.gz"
    path.write_bytes(package)
    path.chmod(0o600)  # it holds the peer's client key for the chaincode connection
    return path, f"{label}:{hashlib.sha256(package).hexdigest()}"


def package_client_certificate(package: bytes) -> str | None:
    """The chaincode client certificate in a package's connection.json (None if it carries none)."""
    try:
        with tarfile.open(fileobj=io.BytesIO(package), mode="r:gz") as outer:
            code = outer.extractfile("code.tar.gz")
            with tarfile.open(fileobj=io.BytesIO(code.read() if code else b""), mode="r:gz") as inner:
                connection = inner.extractfile("connection.json")
                document = json.loads(connection.read()) if connection else {}
    except (tarfile.TarError, KeyError, ValueError, OSError):
        return None
    client_cert = document.get("client_cert")
    return str(client_cert) if client_cert else None


def install(peer_admin: PeerAdmin, package: Path, package_id: str) -> bool:
    """Installs the package on the peer unless it is there; True when it installed it now."""
    if package_id in installed(peer_admin):
        return False
    peer_admin.run(["lifecycle", "chaincode", "install", str(package)], timeout=300)
    return True


def installed(peer_admin: PeerAdmin) -> list[str]:
    output = peer_admin.run(["lifecycle", "chaincode", "queryinstalled", "-O", "json"])
    document = json.loads(output) if output.strip().startswith("{") else {}
    return [entry["package_id"] for entry in document.get("installed_chaincodes") or []]


def committed(peer_admin: PeerAdmin, topology: Topology, name: str) -> CommittedDefinition | None:
    """The chaincode's committed definition on the channel, or None before the first commit."""
    try:
        output = peer_admin.run(
            ["lifecycle", "chaincode", "querycommitted", "-C", topology.channel, "-n", name, "-O", "json"]
        )
    except CommandError as exc:
        if "404" in str(exc) or "not found" in str(exc):
            return None
        raise
    document: dict[str, Any] = json.loads(output)
    return CommittedDefinition(
        name, str(document["version"]), int(document["sequence"]), dict(document.get("approvals") or {})
    )


def _definition_flags(topology: Topology, service: ChaincodeService, sequence: int) -> list[str]:
    spec = service.spec
    version = service.version
    return [
        "--channelID",
        topology.channel,
        "--name",
        spec.name,
        "--version",
        version,
        "--sequence",
        str(sequence),
        "--signature-policy",
        spec.endorsement_policy,
    ]


def approve(
    peer_admin: PeerAdmin, topology: Topology, service: ChaincodeService, package_id: str, sequence: int
) -> None:
    peer_admin.run(
        [
            "lifecycle",
            "chaincode",
            "approveformyorg",
            *peer_admin.orderer_flags_any(),
            "--package-id",
            package_id,
            *_definition_flags(topology, service, sequence),
        ],
        timeout=180,
    )


def commit(
    peer_admin: PeerAdmin, layout: NetworkLayout, topology: Topology, service: ChaincodeService, sequence: int
) -> None:
    # One peer of each organisation endorses the commit (the LifecycleEndorsement policy is MAJORITY).
    endorsers = [org.peers[0] for org in topology.organizations]
    peer_admin.run(
        [
            "lifecycle",
            "chaincode",
            "commit",
            *peer_admin.orderer_flags_any(),
            *_definition_flags(topology, service, sequence),
            *tls_flags_for(layout, endorsers),
        ],
        timeout=180,
    )


def server_process(
    layout: NetworkLayout, org: Organization, service: ChaincodeService, package_id: str
) -> ProcessSpec:
    """The organisation's server of `service`: mutual TLS, accepting only its own peers' client."""
    tls = layout.node(org.chaincode_server.node_id)
    files = layout.node(service.server_id(org))
    host, port = service.server_address(org)
    environment = (
        node_environment()
        | dict(service.environment)
        | {
            "CHAINCODE_ID": package_id,
            "CHAINCODE_SERVER_ADDRESS": f"{host}:{port}",
            "CHAINCODE_TLS_KEY": str(tls.tls_key),
            "CHAINCODE_TLS_CERT": str(tls.tls_cert),
            "CHAINCODE_CLIENT_CA_CERT": str(tls.tls_ca),
            # The TLS CA signs all the organisation's TLS certificates: only the peers' client may call.
            "CHAINCODE_CLIENT_CN": chaincode_client_name(org),
            "PYTHONUNBUFFERED": "1",
        }
    )
    metrics_port = org.chaincode_server.metrics_port
    if metrics_port is not None:  # same TLS; any client of the organisation's TLS CA may read them
        environment["CHAINCODE_METRICS_ADDRESS"] = f"{host}:{metrics_port + service.index}"
    return ProcessSpec(service.server_id(org), service.command, environment, files.root, files.log, files.pid)
