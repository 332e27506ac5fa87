"""Deploying a chaincode as a service on the network: package, install, serve, approve, commit, initialise.

`deploy` is idempotent: with the committed version equal to the code's, it only makes sure the servers
run; after a code change (or with `force_new_sequence`, which `upgrade` uses) it commits sequence + 1.
The ledger's state is never touched by a new definition.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from . import lifecycle
from .admin import NotReadyError, wait_until
from .lifecycle import ChaincodeService
from .network import STARTUP_TIMEOUT, Network, NetworkError
from .processes import running_pid, start, stop, tail
from .topology import ChaincodeSpec, Organization


def deploy(
    network: Network,
    service: ChaincodeService,
    force_new_sequence: bool,
    serve: Callable[[Network, ChaincodeService], None] | None = None,
) -> None:
    """`serve` runs the organisations' chaincode servers (default `serve_all`; Docker runs containers)."""
    serve = serve or serve_all
    say = network.say
    name = service.spec.name
    current = network.committed(name)
    if current is not None and current.version == service.version and not force_new_sequence:
        say(f"deploy: {name} {current.version} (sequence {current.sequence}) is committed")
        serve(network, service)
        _after_commit(network, service)
        return
    sequence = current.sequence + 1 if current is not None else 1
    say(f"deploy: {name} {service.version}, sequence {sequence}")
    package_ids: dict[str, str] = {}
    for org in network.topology.organizations:
        path, package_id = lifecycle.build_package(network.layout, org, service)
        package_ids[org.msp_id] = package_id
        for peer in org.peers:
            did = "installed" if lifecycle.install(network.peer_admin(peer), path, package_id) else "has"
            say(f"  {peer.node_id}: {did} {package_id[:48]}...")
    serve(network, service)
    for org in network.topology.organizations:
        admin = network.peer_admin(org.peers[0])
        lifecycle.approve(admin, network.topology, service, package_ids[org.msp_id], sequence)
        say(f"  {org.msp_id}: approved sequence {sequence}")
    district_peer = network.topology.organizations[0].peers[0]
    lifecycle.commit(network.peer_admin(district_peer), network.layout, network.topology, service, sequence)
    say(f"  committed sequence {sequence}; endorsement policy {service.spec.endorsement_policy}")
    for peer in network.topology.peers:
        admin = network.peer_admin(peer)

        def done(admin: lifecycle.PeerAdmin = admin) -> bool:
            definition = lifecycle.committed(admin, network.topology, name)
            return definition is not None and definition.sequence >= sequence

        wait_until(done, f"{name} sequence {sequence} on {peer.node_id}", STARTUP_TIMEOUT, lambda: True)
    _after_commit(network, service)


def _serving_file(network: Network, org: Organization, service: ChaincodeService) -> Path:
    return network.layout.chaincode_dir(org) / f"{service.spec.name}.serving"


def serve_all(network: Network, service: ChaincodeService) -> None:
    for org in network.topology.organizations:
        _, package_id = lifecycle.build_package(network.layout, org, service)
        serve(network, org, service, package_id)


def serve(network: Network, org: Organization, service: ChaincodeService, package_id: str) -> None:
    """Runs the organisation's server of `service` for `package_id`, replacing one serving another."""
    served = _serving_file(network, org, service)
    spec = lifecycle.server_process(network.layout, org, service, package_id)
    running = running_pid(spec.pid_file) is not None
    if running and _served_package(served) == package_id:
        network.say(f"  {spec.node_id}: serving {package_id[:48]}...")
        return
    if running:
        stop(spec.pid_file)
    host, port = service.server_address(org)
    if _listening(host, port):
        raise NetworkError(f"{spec.node_id} cannot start: port {port} on {host} is taken by another program")
    start(spec)
    try:
        wait_until(
            lambda: _listening(host, port),
            f"{spec.node_id} listening",
            30,
            lambda: running_pid(spec.pid_file) is not None,
        )
    except NotReadyError as exc:
        raise NetworkError(f"{exc}; last lines of {spec.log_file}:\n{tail(spec.log_file, 15)}") from None
    # What `up` needs to restart the server after `down`: the package and how to serve it.
    record = {
        "package_id": package_id,
        "name": service.spec.name,
        "version": service.spec.version,
        "endorsement_policy": service.spec.endorsement_policy,
        "digest": service.digest,
        "index": service.index,
        "command": list(service.command),
        "environment": dict(service.environment),
    }
    served.write_text(json.dumps(record, indent=2) + "\n")
    network.say(f"  {spec.node_id}: serving on {host}:{port} (mutual TLS)")


def _served_package(served: Path) -> str | None:
    try:
        return str(json.loads(served.read_text())["package_id"])
    except (OSError, ValueError, KeyError):
        return None


def resume_servers(network: Network) -> None:
    """After `up`, restarts every chaincode server that served before `down`, for the same package."""
    for org in network.topology.organizations:
        for served in sorted(network.layout.chaincode_dir(org).glob("*.serving")):
            record = json.loads(served.read_text())
            spec = ChaincodeSpec(record["name"], record["version"], record["endorsement_policy"])
            service = ChaincodeService(
                spec,
                tuple(record["command"]),
                record["digest"],
                int(record["index"]),
                dict(record["environment"]),
            )
            serve(network, org, service, record["package_id"])


def _listening(host: str, port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex((host, port)) == 0


def _after_commit(network: Network, service: ChaincodeService) -> None:
    if service.spec.name == network.topology.chaincode.name:
        _init_coin_ledger(network)


def _init_coin_ledger(network: Network) -> None:
    seocho = Path(sys.executable).with_name("seocho")
    command = [str(seocho), "--profile", str(network.layout.profile), "--as", "district-admin", "init"]
    finished = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    if finished.returncode == 0:
        network.say("  coin ledger initialised by district-admin (policy version 1)")
    elif finished.returncode == 6:  # a conflict: initialised before
        network.say("  coin ledger already initialised")
    else:
        raise NetworkError(f"seocho init failed (exit {finished.returncode}): {finished.stderr.strip()}")
    # An upgrade may change the data layout: `seocho migrate` brings the ledger up to it (or says so).
    command[-1] = "migrate"
    finished = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    if finished.returncode != 0:
        raise NetworkError(f"seocho migrate failed (exit {finished.returncode}): {finished.stderr.strip()}")
    network.say(f"  {finished.stdout.strip()}")
