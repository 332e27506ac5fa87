"""Revoking an identity on the network: at its organisation's CA, then in the channel configuration."""

from __future__ import annotations

from .admin import PeerAdmin, wait_until
from .channel_config import publish_revocation_list
from .context import NetworkContext
from .crypto import OrganizationCrypto, ca_client


def revoke(network: NetworkContext, msp_id: str, name: str, reason: str = "unspecified") -> str:
    """Revokes every certificate of `name` at `msp_id`'s CA and publishes the CA's CRL on the channel.

    Returns a line saying what happened. The organisation's own admin signs the config update, which
    changes every definition of its MSP on the channel (the Orderer group's too, for an ordering one).
    """
    org = network.topology.organization(msp_id)
    registrar = OrganizationCrypto(network.layout, org).registrar()
    with ca_client(network.layout, org.ca) as client:
        result = client.revoke(registrar, name=name, reason=reason, gencrl=True)
    if result.crl_pem is None:
        raise RuntimeError(f"{org.ca.node_id} returned no revocation list")
    channel = network.topology.channel
    before = {peer: network.peer_admin(peer).height(channel) for peer in network.topology.peers}
    changed = publish_revocation_list(network.peer_admin(org.peers[0]), channel, org, result.crl_pem)
    if changed:
        # Peers refuse the identity only once they have committed the config block.
        for peer, height in before.items():
            admin = network.peer_admin(peer)

            def committed(admin: PeerAdmin = admin, height: int = height) -> bool:
                return admin.height(channel) > height

            wait_until(committed, f"the config update on {peer.node_id}", 60, lambda: True)
    definitions = "Application and Orderer definitions" if org.orderers else "Application definition"
    carries = "now carries the CRL" if changed else "already carried it"
    where = f"the channel's MSP of {org.name} ({definitions}) {carries}"
    return f"{name}: {len(result.revoked)} certificate(s) revoked at {org.ca.node_id}; {where}"
