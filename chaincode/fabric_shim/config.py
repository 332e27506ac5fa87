"""Chaincode server settings, from code or from the environment the official shims read.

| variable                   | meaning                                                         |
|----------------------------|-----------------------------------------------------------------|
| CHAINCODE_SERVER_ADDRESS   | host:port to listen on (required)                               |
| CHAINCODE_ID               | the package ID the chaincode registers with (required)          |
| CHAINCODE_TLS_DISABLED     | "true" serves plaintext; TLS is on by default                   |
| CHAINCODE_TLS_KEY / _CERT  | PEM files of the server's key and certificate (required for TLS) |
| CHAINCODE_CLIENT_CA_CERT   | PEM file of the CA the peer's client certificate must chain to;  |
|                            | when set, TLS is mutual and clients without such a cert refused  |
| CHAINCODE_CLIENT_CN        | comma-separated common names the client certificate must carry   |
|                            | (needs CHAINCODE_CLIENT_CA_CERT); other clients of that CA are   |
|                            | refused with PERMISSION_DENIED                                   |
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from fabric_shim.errors import ConfigError

logger = logging.getLogger(__name__)

MAX_MESSAGE_SIZE = 100 * 1024 * 1024  # the Go shim's limit; the peer sends up to this much too
_TRUE = frozenset({"1", "t", "true", "yes", "on"})
_FALSE = frozenset({"0", "f", "false", "no", "off"})


@dataclass(frozen=True)
class TLSConfig:
    """PEM key and certificate the server presents; `client_ca_cert` turns on mutual TLS.

    `client_names`, when not empty, are the only subject common names a client certificate may carry:
    the CA that signs the peers' chaincode-client certificate usually signs others too (nodes, admins).
    """

    # repr=False: a ServerConfig printed or logged must never carry the private key.
    key: bytes = field(repr=False)
    cert: bytes = field(repr=False)
    client_ca_cert: bytes | None = field(default=None, repr=False)
    client_names: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        try:
            serialization.load_pem_private_key(self.key, password=None)
        except (ValueError, TypeError):
            raise ConfigError("the TLS key is not an unencrypted PEM private key") from None
        _check_certificate(self.cert, "the TLS certificate")
        if self.client_ca_cert is not None:
            _check_certificate(self.client_ca_cert, "the client CA certificate")
        elif self.client_names:
            raise ConfigError(
                "client names (CHAINCODE_CLIENT_CN) need a client CA (CHAINCODE_CLIENT_CA_CERT)"
            )

    @property
    def mutual(self) -> bool:
        return self.client_ca_cert is not None

    def __repr__(self) -> str:
        return f"TLSConfig(mutual={self.mutual}, client_names={sorted(self.client_names)})"

    @classmethod
    def from_files(
        cls,
        key_file: str | os.PathLike[str],
        cert_file: str | os.PathLike[str],
        client_ca_file: str | os.PathLike[str] | None = None,
        client_names: frozenset[str] = frozenset(),
    ) -> TLSConfig:
        key = _read(key_file, "TLS key")
        cert = _read(cert_file, "TLS certificate")
        client_ca = _read(client_ca_file, "client CA certificate") if client_ca_file else None
        return cls(key=key, cert=cert, client_ca_cert=client_ca, client_names=client_names)


@dataclass(frozen=True)
class ServerConfig:
    """Everything `ChaincodeServer` needs.

    `tls=None` serves plaintext. `max_connections` bounds how many peer streams are served at
    once (each holds a server thread); `max_concurrent_transactions` bounds the worker pool of
    each stream.
    """

    address: str
    chaincode_id: str
    tls: TLSConfig | None = None
    max_message_size: int = MAX_MESSAGE_SIZE
    max_connections: int = 16
    max_concurrent_transactions: int = 32
    keepalive_time_seconds: float = 60.0
    keepalive_timeout_seconds: float = 20.0

    def __post_init__(self) -> None:
        if not self.chaincode_id:
            raise ConfigError("the chaincode ID (CHAINCODE_ID) must not be empty")
        host, separator, port = self.address.rpartition(":")
        if not separator or not host or not port.isdigit() or int(port) > 65535:
            raise ConfigError(
                f"the server address (CHAINCODE_SERVER_ADDRESS) must be host:port, got {self.address!r}"
            )
        for name in ("max_message_size", "max_connections", "max_concurrent_transactions"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name} must be positive")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ServerConfig:
        """Read the settings from `environ` (default `os.environ`); raises `ConfigError`."""
        env = os.environ if environ is None else environ
        address = _required(env, "CHAINCODE_SERVER_ADDRESS")
        chaincode_id = _required(env, "CHAINCODE_ID")
        tls_disabled = _boolean(env, "CHAINCODE_TLS_DISABLED", default=False)
        client_ca_file = env.get("CHAINCODE_CLIENT_CA_CERT", "").strip()
        tls: TLSConfig | None = None
        if tls_disabled:
            if client_ca_file:
                logger.warning("CHAINCODE_CLIENT_CA_CERT is ignored because CHAINCODE_TLS_DISABLED is true")
        else:
            key_file = _required(env, "CHAINCODE_TLS_KEY", why="TLS is enabled")
            cert_file = _required(env, "CHAINCODE_TLS_CERT", why="TLS is enabled")
            tls = TLSConfig(
                key=_read(key_file, "TLS key (CHAINCODE_TLS_KEY)"),
                cert=_read(cert_file, "TLS certificate (CHAINCODE_TLS_CERT)"),
                client_ca_cert=(
                    _read(client_ca_file, "client CA certificate (CHAINCODE_CLIENT_CA_CERT)")
                    if client_ca_file
                    else None
                ),
                client_names=frozenset(
                    name.strip() for name in env.get("CHAINCODE_CLIENT_CN", "").split(",") if name.strip()
                ),
            )
        return cls(address=address, chaincode_id=chaincode_id, tls=tls)


def _required(env: Mapping[str, str], name: str, why: str = "") -> str:
    value = env.get(name, "").strip()
    if not value:
        reason = f" because {why}" if why else ""
        raise ConfigError(f"{name} must be set{reason}")
    return value


def _boolean(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def _read(path: str | os.PathLike[str], what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read the {what} file {os.fspath(path)!r}: {exc.strerror}") from None


def _check_certificate(pem: bytes, what: str) -> None:
    try:
        x509.load_pem_x509_certificates(pem)
    except ValueError:
        raise ConfigError(f"{what} is not a PEM X.509 certificate") from None
