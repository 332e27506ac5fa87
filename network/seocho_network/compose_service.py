"""The HTTP service (`seocho serve`, client/Dockerfile) as a container of the district's Compose project.

It is rendered into the district's compose file with the nodes (so `docker down` stops and removes it with
them, `--purge` its volume too), but `docker up` does not start it: `network.sh docker service up`
(http_service.py) prepares what it mounts (its profile, identities and HTTPS certificate) and starts it.

The container reaches the district's peer and CA by their names on the project's Docker network, and
publishes its HTTPS port on 127.0.0.1 only: the district's load balancer or reverse proxy on the host
forwards to it (re-encrypting), or the district publishes it wider on purpose.
"""

from __future__ import annotations

from typing import Any

from .compose_render import NETWORK, _hardened, _volume, image
from .layout import node_path
from .topology import LOOPBACK, Organization, Topology

SERVICE_HOST = "api"
"""The service's host name in the district's domain: `api.district.seocho.local` (its container's name
on the Docker network, and a name in the default HTTPS certificate)."""
SERVICE_IDENTITY = "http-service"
"""The identity (in the container's profile) the service relays residents' signed requests and asks
commit statuses as; it signs no coin movement itself."""
SERVICE_UID = 10001  # client/Dockerfile's user
CONTAINER_PORT = 8443  # the image's SEOCHO_SERVE_PORT
BASE_HOST_PORT = 8443  # plus the topology's port offset
NETWORK_DIR = "/etc/seocho/network"  # the profile and the identities it names
TLS_DIR = "/etc/seocho/tls"  # server.crt (full chain) and server.key
STATE_DIR = "/var/lib/seocho"  # the image's SEOCHO_HOME: terminals' hashed keys, recorded outcomes
LIMITS = {"mem_limit": "512m", "pids_limit": 256}
CORS_VARIABLE = "SEOCHO_SERVICE_CORS_ORIGINS"


def service_org(topology: Topology) -> Organization:
    """The organisation that runs the service: the district (the topology's first organisation)."""
    return topology.organizations[0]


def service_node_id(topology: Topology) -> str:
    return f"{SERVICE_HOST}.{service_org(topology).domain}"


def host_port(topology: Topology) -> int:
    return BASE_HOST_PORT + topology.port_offset


def state_volume(topology: Topology) -> str:
    return _volume(f"http-{service_node_id(topology)}")


def service_fragment(
    topology: Topology, only: Organization | None, deployer: str | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(services, volumes) to add to the compose document of `only` (None: the one project).

    With a non-root `deployer` ("uid:gid") the container runs as the deployer, who owns the mounted files
    (only root can give them to uid 10001), and keeps its state in a directory of the deployment: a named
    volume starts as the image's /var/lib/seocho, which belongs to uid 10001.
    """
    org = service_org(topology)
    if only is not None and only is not org:
        return {}, {}
    node_id = service_node_id(topology)
    home = f"./{node_path(org.domain, node_id)}"
    volumes: dict[str, Any] = {}
    if deployer is None:
        state = state_volume(topology)
        volumes[state] = {}
    else:
        state = f"{home}/state"
    service: dict[str, Any] = {
        "restart": "unless-stopped",
        "networks": [NETWORK],
        "image": image("service"),
        "hostname": node_id,
        "environment": {
            "SEOCHO_PROFILE": f"{NETWORK_DIR}/profile.yaml",
            "SEOCHO_IDENTITY": SERVICE_IDENTITY,
            # The app's origins (`service up --cors-origin`, kept in the deployment's .env).
            "SEOCHO_SERVE_CORS_ORIGINS": f"${{{CORS_VARIABLE}:-}}",
        },
        # The image's HEALTHCHECK (GET /healthz over its own HTTPS on loopback) says when it is healthy.
        "volumes": [
            f"{home}/container:{NETWORK_DIR}:ro",
            f"{home}/container-tls:{TLS_DIR}:ro",
            f"{state}:{STATE_DIR}",
        ],
        "ports": [f"{LOOPBACK}:{host_port(topology)}:{CONTAINER_PORT}"],
        # As hardened as the chaincode's container (it also runs as its own user), with its own limits.
        **_hardened("chaincode", deployer),
        **LIMITS,
    }
    if deployer is not None:
        service["user"] = deployer
    return {node_id: service}, volumes
