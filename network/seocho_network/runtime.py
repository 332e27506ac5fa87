"""How a network's nodes run: the strategy behind `Network` (native processes or Docker Compose).

Everything else — identities, the channel, joins, profiles, the chaincode lifecycle, revocation — is the
same bring-up steps for both, run from the host against the nodes' ports on 127.0.0.1. A runtime only
starts, stops and watches nodes, and serves chaincode::

    class Runtime(Protocol):
        name: str                                          # "native" | "docker"
        def start(self, nodes: Sequence[Node]) -> None     # start (or resume) and wait until healthy
        def stop(self, nodes: Sequence[Node]) -> None      # chaincode servers too (every one of the org)
        def logs(self, node_id: str, lines: int) -> str
        def states(self) -> dict[str, str]                 # node id -> "up" | "unhealthy" | "down"
        def serve_chaincode(self, org, service, package_id) -> None
        # what differs between runtimes besides running things:
        def write_configtx(self) -> Path                   # nodes announced as this runtime reaches them
        def coin_service(self) -> ChaincodeService         # the coin's code as this runtime serves it
        def remove(self, purge: bool) -> None              # after stop: what it made outside the home
        # a stopped peer's or orderer's ledger, copied out and back (`backup`):
        def archive_ledger(self, node, archive: Path) -> None
        def restore_ledger(self, node, archive: Path) -> None

`start` of a CA also creates it the first time (its keys, database and bootstrap registrar); of an
orderer or peer, renders its config first. A `ChaincodeServer` is started only by `serve_chaincode`,
which needs the package it serves.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from .lifecycle import ChaincodeService
from .topology import CertificateAuthority, ChaincodeServer, Orderer, Organization, Peer

Node = CertificateAuthority | Orderer | Peer | ChaincodeServer
UP, UNHEALTHY, DOWN = "up", "unhealthy", "down"


class Runtime(Protocol):
    name: str

    def start(self, nodes: Sequence[Node]) -> None:
        """Starts the nodes not running (in order) and waits until each answers its health check."""

    def stop(self, nodes: Sequence[Node]) -> None:
        """Stops the nodes; the data stays. A ChaincodeServer stands for every chaincode server of its org."""

    def logs(self, node_id: str, lines: int) -> str:
        """The last `lines` lines of the node's log."""

    def states(self) -> dict[str, str]:
        """Every node and chaincode server, in start order: "up", "unhealthy" or "down"."""

    def serve_chaincode(self, org: Organization, service: ChaincodeService, package_id: str) -> None:
        """Runs `org`'s server of `service` for `package_id`, replacing one that serves another package."""

    def write_configtx(self) -> Path:
        """The channel's configtx.yaml, each node announced at the address the others reach it by."""

    def coin_service(self) -> ChaincodeService:
        """The coin chaincode as this runtime serves it."""

    def remove(self, purge: bool) -> None:
        """After `stop` of everything: removes what the runtime made outside the home (containers...)."""

    def archive_ledger(self, node: Orderer | Peer, archive: Path) -> None:
        """Writes the stopped node's ledger directory, every file's mode kept, to `archive` (a new .tar.gz,
        0600)."""

    def restore_ledger(self, node: Orderer | Peer, archive: Path) -> None:
        """Replaces the stopped node's ledger directory by the one `archive_ledger` wrote."""
