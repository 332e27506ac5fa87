"""`network.sh docker service up|down`: the HTTP service's container (compose_service.py) in the district's
project, with what it mounts read-only.

`up` issues the service's own identity from the district's identity CA (the one it relays residents'
signed requests and asks commit statuses as) and, unless the district gives its own certificate, an HTTPS
certificate for the service's host name from the district's TLS CA; it copies them, the staff identities
the district's terminals sign as (from the deployment's profile) and a profile that names the district's
peer and CA by their container names into the files the container mounts, owned by the image's user
(uid 10001) with keys 0600, then (re)creates the container and waits for its health check. Run again with
a new certificate, it replaces the mounted files and recreates the container: that is the renewal of the
district's own certificate. The service's identity and its default certificate are renewed with the nodes'
by `network.sh docker renew` (their folder is one of the deployment's), which then calls
`refresh_after_renewal` here: the container's copies written again, the container recreated.
"""

from __future__ import annotations

import datetime
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from . import reenrolment
from .compose import DockerRuntime, per_organisation
from .compose_render import chaincode_user
from .compose_service import (
    CORS_VARIABLE,
    SERVICE_IDENTITY,
    SERVICE_UID,
    host_port,
    service_node_id,
    service_org,
)
from .context import NetworkContext, NetworkError
from .crypto import OrganizationCrypto
from .profiles import existing_identities, profile_document
from .topology import Organization

HEALTH_TIMEOUT_SECONDS = 120


def _runtime(ctx: NetworkContext) -> DockerRuntime:
    runtime = getattr(ctx, "runtime", None)
    if not isinstance(runtime, DockerRuntime):
        raise NetworkError("the HTTP service's container is for the Docker runtime: network.sh docker")
    return runtime


def _project(ctx: NetworkContext) -> Organization | None:
    return service_org(ctx.topology) if per_organisation() else None


def check_certificate_pair(certificate: Path, key: Path) -> None:
    """Refuses a certificate file and a key that do not belong together, or a certificate out of date."""
    try:
        chain = x509.load_pem_x509_certificates(certificate.read_bytes())
    except (OSError, ValueError) as exc:
        raise NetworkError(f"{certificate}: not a PEM certificate (chain) ({exc})") from None
    try:
        private = serialization.load_pem_private_key(key.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise NetworkError(f"{key}: not an unencrypted PEM private key ({type(exc).__name__})") from None
    leaf = chain[0]
    der, spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    if leaf.public_key().public_bytes(der, spki) != private.public_key().public_bytes(der, spki):
        raise NetworkError(f"{key} is not the key of {certificate} (the first certificate of the file)")
    now = datetime.datetime.now(datetime.UTC)
    if not leaf.not_valid_before_utc <= now < leaf.not_valid_after_utc:
        raise NetworkError(f"{certificate} is not valid now (until {leaf.not_valid_after_utc:%Y-%m-%d})")


def _staff_identities(ctx: NetworkContext, staff: Sequence[str]) -> dict[str, dict[str, str]]:
    known = existing_identities(ctx.layout.profile)
    missing = [name for name in staff if name not in known]
    if missing:
        has = ", ".join(sorted(known)) or "none"
        raise NetworkError(f"{ctx.layout.profile} names no identity {', '.join(missing)} (it has: {has})")
    chosen: dict[str, dict[str, str]] = {}
    for name in staff:
        msp_dir = ctx.layout.profile.parent / known[name]["msp_dir"]  # relative: to the profile's directory
        if not (msp_dir / "signcerts").is_dir():
            raise NetworkError(f"identity {name}: no MSP directory at {msp_dir}")
        chosen[name] = {"msp_id": known[name]["msp_id"], "msp_dir": str(msp_dir)}
    return chosen


def check_origins(origins: Sequence[str]) -> None:
    """Refuses what is not a browser origin (scheme://host[:port]; https, or http on this machine)."""
    for origin in origins:
        parts = urlsplit(origin)
        local = parts.hostname in ("localhost", "127.0.0.1")
        if (
            parts.scheme not in ("https", "http")
            or (parts.scheme == "http" and not local)
            or not parts.netloc
            or parts.path
            or parts.query
            or parts.fragment
            or " " in origin
        ):
            raise NetworkError(f"--cors-origin {origin!r}: an origin is https://host[:port] and no more")


def write_origins(runtime: DockerRuntime, origins: Sequence[str]) -> None:
    """The app's origins in the deployment's .env (compose reads them there; other lines stay)."""
    runtime.update_env({CORS_VARIABLE: " ".join(origins) if origins else None})


def _give_to_service(directory: Path) -> None:
    """Directories 0700, files 0600, owned by the image's user when we may give them away."""
    owner = SERVICE_UID if os.geteuid() == 0 else None
    for path in [directory, *directory.rglob("*")]:
        path.chmod(0o700 if path.is_dir() else 0o600)
        if owner is not None:
            os.chown(path, owner, owner)


def _fresh(directory: Path) -> Path:
    """The directory emptied (not removed: it is a running container's bind mount)."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    for child in directory.iterdir():
        shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
    return directory


def write_container_files(
    ctx: NetworkContext,
    staff: dict[str, dict[str, str]],
    certificate: Path,
    key: Path,
) -> Path:
    """The container's profile and identities (container/) and HTTPS files (container-tls/)."""
    layout, topology = ctx.layout, ctx.topology
    org = service_org(topology)
    files = layout.node(service_node_id(topology))
    # Read before anything is emptied: they may be the mounted copies themselves (container-tls/).
    try:
        certificate_pem, key_pem = certificate.read_bytes(), key.read_bytes()
    except OSError as exc:
        raise NetworkError(f"cannot read the HTTPS certificate or its key: {exc}") from None
    network_dir = _fresh(files.root / "container")
    (network_dir / "tls").mkdir()
    shutil.copyfile(layout.definition_tls_root(org), network_dir / "tls" / "gateway-root.pem")
    shutil.copyfile(layout.ca_server_root(org.ca), network_dir / "tls" / "ca-root.pem")
    identities: dict[str, dict[str, str]] = {}
    for name, source in [(SERVICE_IDENTITY, str(files.msp)), *((n, e["msp_dir"]) for n, e in staff.items())]:
        shutil.copytree(source, network_dir / "identities" / name / "msp")
        msp_id = org.msp_id if name == SERVICE_IDENTITY else staff[name]["msp_id"]
        identities[name] = {"msp_id": msp_id, "msp_dir": f"identities/{name}/msp"}
    peer = org.peers[0]
    # On the project's Docker network: the peer by its container name.
    address = f"{peer.node_id}:{peer.port}"
    profile = profile_document(topology, peer, address, "tls/gateway-root.pem", identities)
    profile["ca"] = {  # residents' enrolments are relayed here (the wallet page)
        "msp_id": org.msp_id,
        "url": f"https://{org.ca.node_id}:{org.ca.port}",
        "tls_root_cert": "tls/ca-root.pem",
    }
    (network_dir / "profile.yaml").write_text(yaml.safe_dump(profile, sort_keys=False), encoding="utf-8")
    tls_dir = _fresh(files.root / "container-tls")
    reenrolment._write(tls_dir / "server.crt", certificate_pem, 0o644)
    reenrolment._write(tls_dir / "server.key", key_pem, 0o600)  # never readable by others, even briefly
    for directory in (network_dir, tls_dir):
        _give_to_service(directory)
    if chaincode_user() is not None:  # the deployer's own uid runs it: its state directory beside
        (files.root / "state").mkdir(exist_ok=True, mode=0o700)
    return network_dir


def service_up(
    ctx: NetworkContext,
    staff: Sequence[str] = (),
    tls_cert: Path | None = None,
    tls_key: Path | None = None,
    cors_origins: Sequence[str] = (),
) -> str:
    """Issues what the service needs, writes its mounted files and (re)creates its container; returns its
    URL on the host. Bad input (an unknown staff identity, a certificate without its key) changes nothing."""
    runtime = _runtime(ctx)
    if (tls_cert is None) != (tls_key is None):
        raise NetworkError("give both --tls-cert and --tls-key (the district's certificate and its key)")
    chosen = _staff_identities(ctx, staff)
    check_origins(cors_origins)
    if tls_cert is not None and tls_key is not None:
        check_certificate_pair(tls_cert, tls_key)
    topology, layout = ctx.topology, ctx.layout
    node_id = service_node_id(topology)
    files = layout.node(node_id)
    # Its identity from the district's identity CA; the default HTTPS certificate (its host name, 127.0.0.1
    # and localhost) from the district's TLS CA. Both kept across runs.
    said = OrganizationCrypto(layout, service_org(topology)).issue(node_id, "client", files, hosts=[node_id])
    ctx.say(f"service: {said}")
    certificate, key = (tls_cert, tls_key) if tls_cert and tls_key else (files.tls_cert, files.tls_key)
    write_container_files(ctx, chosen, certificate, key)
    write_origins(runtime, cors_origins)
    runtime._write_compose()  # a deployment made before the service was part of it gets it now
    _recreate(ctx, runtime)
    url = f"https://127.0.0.1:{host_port(topology)}"
    which = "the district's" if tls_cert else f"issued by {service_org(topology).tls_ca.node_id}"
    ctx.say(f"service: {node_id} healthy at {url} (certificate {which}; staff: {', '.join(staff) or 'none'})")
    return url


def _recreate(ctx: NetworkContext, runtime: DockerRuntime) -> None:
    """The service's container created again on its mounted files; until its health check passes."""
    node_id = service_node_id(ctx.topology)
    try:
        runtime.compose(
            "up", "--detach", "--force-recreate", "--wait", "--wait-timeout", str(HEALTH_TIMEOUT_SECONDS),
            node_id, org=_project(ctx), timeout=HEALTH_TIMEOUT_SECONDS + 60,
        )  # fmt: skip
    except NetworkError as exc:
        raise NetworkError(f"{exc}\nits last log lines:\n{runtime.logs(node_id, 20)}") from None


def refresh_after_renewal(ctx: NetworkContext, renewed: Sequence[Path]) -> bool:
    """After `network.sh docker renew`: when it renewed the service's folder (its identity, its default
    HTTPS certificate) and the service is deployed, the container's copies of them are written again
    (the same staff; the district's own certificate kept when it serves one) and its container
    recreated. False when there was nothing to do."""
    runtime = _runtime(ctx)
    files = ctx.layout.node(service_node_id(ctx.topology))
    profile = files.root / "container" / "profile.yaml"
    if files.root.absolute() not in {path.absolute() for path in renewed} or not profile.exists():
        return False
    project, node_id = _project(ctx), files.root.name
    if not runtime._deployed(project) or not runtime.compose("ps", "--quiet", node_id, org=project).strip():
        return False  # `service up` writes the copies when it creates the container
    document = yaml.safe_load(profile.read_text(encoding="utf-8")) or {}
    staff = [name for name in document.get("identities") or {} if name != SERVICE_IDENTITY]
    mounted = files.root / "container-tls"
    own = _issued_elsewhere(ctx, mounted / "server.crt")
    certificate, key = (mounted / "server.crt", mounted / "server.key")
    if not own:
        certificate, key = files.tls_cert, files.tls_key
    write_container_files(ctx, _staff_identities(ctx, staff), certificate, key)
    _recreate(ctx, runtime)
    which = "the district's certificate kept" if own else "its renewed HTTPS certificate"
    ctx.say(f"service: {node_id} recreated with its renewed identity ({which})")
    return True


def _issued_elsewhere(ctx: NetworkContext, certificate: Path) -> bool:
    """Whether the served certificate is the district's own, not one the district's TLS CA issued."""
    root_file = ctx.layout.definition_tls_root(service_org(ctx.topology))
    root = x509.load_pem_x509_certificate(root_file.read_bytes())
    return x509.load_pem_x509_certificates(certificate.read_bytes())[0].issuer != root.subject


def service_down(ctx: NetworkContext) -> None:
    """Stops and removes the service's container; its state (the volume) stays for the next `up`."""
    runtime = _runtime(ctx)
    node_id = service_node_id(ctx.topology)
    project = _project(ctx)
    if runtime._deployed(project):
        runtime.compose("rm", "--stop", "--force", node_id, org=project)
    ctx.say(f"service: {node_id} removed (its state volume kept)")
