"""The expiry of every certificate in a network home, for Prometheus (`python -m` this module).

`seocho_certificate_expiry_timestamp_seconds{identity,kind}` is each certificate's notAfter (Unix time):

| kind        | certificates (ORG = orgs/<domain>, each organisation's home)                          |
|-------------|--------------------------------------------------------------------------------------|
| enrollment  | ORG/nodes/*/msp/signcerts, ORG/users/*/msp/signcerts, users/*/msp/signcerts           |
| tls         | ORG/nodes/*/tls/server.crt, ORG/users/*/tls/server.crt, ORG/fabric-{ca,tlsca}/tls-cert.pem |
| ca          | ORG/fabric-ca/ca-cert.pem, ORG/fabric-tlsca/ca-cert.pem (each CA's root)              |
| operations  | ORG/fabric-{ca,tlsca}/operations/tls/server.crt (each CA server's operations endpoint) |

`identity` is the node id (`peer0.district.seocho.kr`), `NAME.DOMAIN` for an organisation's users
(`admin.district.seocho.kr`), the client's name for the profile's users, and `ca.DOMAIN` /
`tlsca.DOMAIN` for the CA servers. The home is scanned at each scrape, so a renewed certificate shows
at once; a file that is not a PEM certificate is counted in `seocho_certificate_unreadable_files`.
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from cryptography import x509
from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

logger = logging.getLogger(__name__)

ENROLLMENT, TLS, CA, OPERATIONS = "enrollment", "tls", "ca", "operations"


@dataclass(frozen=True)
class CertificateFile:
    identity: str
    kind: str
    path: Path


def certificate_files(home: Path) -> list[CertificateFile]:
    """Every certificate the network home holds, named by identity and kind (see the module's table)."""
    found: list[CertificateFile] = []

    def identity_dir(identity: str, root: Path) -> None:
        signcerts = sorted((root / "msp" / "signcerts").glob("*.pem"))
        found.extend(CertificateFile(identity, ENROLLMENT, path) for path in signcerts)
        tls_cert = root / "tls" / "server.crt"
        if tls_cert.is_file():
            found.append(CertificateFile(identity, TLS, tls_cert))

    # Each organisation's home (layout.py): orgs/<domain>/{nodes,users,fabric-ca,fabric-tlsca}.
    for org_home in sorted((home / "orgs").glob("*/")):
        domain = org_home.name
        for node in sorted((org_home / "nodes").glob("*/")):
            identity_dir(node.name, node)
        for user in sorted((org_home / "users").glob("*/")):
            identity_dir(f"{user.name}.{domain}", user)
        for server_dir, name in (("fabric-ca", f"ca.{domain}"), ("fabric-tlsca", f"tlsca.{domain}")):
            server = org_home / server_dir
            files = ((CA, "ca-cert.pem"), (TLS, "tls-cert.pem"), (OPERATIONS, "operations/tls/server.crt"))
            for kind, file in files:
                if (server / file).is_file():
                    found.append(CertificateFile(name, kind, server / file))
    for user in sorted((home / "users").glob("*/")):
        identity_dir(user.name, user)
    return found


def expiry(path: Path) -> float:
    """The certificate's notAfter as a Unix timestamp; ValueError when the file holds none."""
    try:
        certificate = x509.load_pem_x509_certificate(path.read_bytes())
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror}") from None
    return certificate.not_valid_after_utc.timestamp()


class CertificateExpiryCollector(Collector):
    """Scans `home` at each collection."""

    def __init__(self, home: Path) -> None:
        self.home = home

    def collect(self) -> Iterator[Metric]:
        expiries = GaugeMetricFamily(
            "seocho_certificate_expiry_timestamp_seconds",
            "When the certificate expires (its notAfter), in Unix time.",
            labels=["identity", "kind"],
        )
        unreadable = 0
        seen: set[tuple[str, str]] = set()
        for file in certificate_files(self.home):
            try:
                not_after = expiry(file.path)
            except ValueError:
                unreadable += 1
                continue
            if (file.identity, file.kind) in seen:  # two signcerts: the first (sorted) one counts
                continue
            seen.add((file.identity, file.kind))
            expiries.add_metric([file.identity, file.kind], not_after)
        yield expiries
        yield GaugeMetricFamily(
            "seocho_certificate_unreadable_files",
            "Files where a certificate belongs that hold none.",
            value=unreadable,
        )


def registry_for(home: Path) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(CertificateExpiryCollector(home))
    return registry


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Export the expiry of a network home's certificates.")
    parser.add_argument("--home", type=Path, required=True, help="the network home")
    parser.add_argument("--address", default="127.0.0.1:9491", help="HOST:PORT to serve /metrics on")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    host, _, port = args.address.rpartition(":")
    if not host or not port.isdigit():
        parser.error(f"--address must be HOST:PORT, got {args.address!r}")
    server, thread = start_http_server(int(port), addr=host, registry=registry_for(args.home.resolve()))
    logger.info("serving the certificates of %s on %s", args.home, args.address)
    stopped = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stopped.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, request_stop)
    while not stopped.wait(0.5):
        pass
    server.shutdown()
    thread.join()


if __name__ == "__main__":
    main()
