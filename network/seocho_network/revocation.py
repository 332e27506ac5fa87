"""Revoking an identity on the network: at its organisation's CA, then in the channel configuration."""

from __future__ import annotations

from fabric_ca import CAClient

from .channel_config import publish_revocation_list
from .crypto import OrganizationCrypto
from .network import Network


def revoke(network: Network, msp_id: str, name: str, reason: str = "unspecified") -> str:
    """Revokes every certificate of `name` at `msp_id`'s CA and publishes the CA's CRL on the channel.

    Returns a line saying what happened. The organisation's own admin signs the config update.
    """
    org = network.topology.organization(msp_id)
    registrar = OrganizationCrypto(network.layout, org).registrar()
    with CAClient(org.ca.url, network.layout.ca_home(org) / "ca-cert.pem", timeout=15) as client:
        result = client.revoke(registrar, name=name, reason=reason, gencrl=True)
    if result.crl_pem is None:
        raise RuntimeError(f"{org.ca.node_id} returned no revocation list")
    changed = publish_revocation_list(
        network.peer_admin(org.peers[0]), network.topology.channel, org, result.crl_pem
    )
    where = (
        "the channel's MSP of " + org.name + (" now carries the CRL" if changed else " already carried it")
    )
    return f"{name}: {len(result.revoked)} certificate(s) revoked at {org.ca.node_id}; {where}"
