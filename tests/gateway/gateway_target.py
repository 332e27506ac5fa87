"""Where and as whom the gateway tests connect: the double on 127.0.0.1, or a real peer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import fabric_gateway as fg
from gateway_double import GatewayDouble
from tls_pki import TlsMaterial


@dataclass
class GatewayTarget:
    """Where and as whom the tests connect; `double` is None against a real peer."""

    target: str
    tls_root_certs: bytes
    identity: fg.X509Identity
    signer: fg.Signer
    channel: str
    chaincode: str
    server_name: str | None = None
    double: GatewayDouble | None = None
    tls: TlsMaterial | None = None

    def connect(self, **options: Any) -> fg.Gateway:
        options.setdefault("signer", self.signer)
        return fg.connect(
            self.target,
            self.identity,
            tls_root_certs=self.tls_root_certs,
            server_name_override=self.server_name,
            **options,
        )
