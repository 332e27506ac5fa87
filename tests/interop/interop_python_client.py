"""Our Python Gateway client connected to the gateway double as an enrolled ledger identity."""

from __future__ import annotations

import fabric_gateway as fg
from embedded_ledger import Identity
from gateway_double import RunningGateway
from tls_pki import TlsMaterial


def python_gateway(
    running: RunningGateway, tls: TlsMaterial, identity: Identity, *, signs: bool = True
) -> fg.Gateway:
    """Our client connected to the double as `identity`; without `signs`, every request is signed offline."""
    return fg.connect(
        running.target,
        fg.X509Identity(identity.msp_id, identity.certificate_pem.encode()),
        fg.new_private_key_signer(identity._private_key) if signs else None,
        tls_root_certs=tls.ca_pem,
    )
