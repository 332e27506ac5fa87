"""An orderer's renewed certificates in the channel config: its consenter entry, found by public key.

Raft's consenter set holds each orderer's TLS certificate (client and server). SmartBFT's consenter
mapping holds them too, and the enrolment certificate (`identity`) the consenter signs blocks with, which
the Orderer group's BlockValidation policy also names (SmartBFT refuses a config whose policy does not
name exactly the mapping's identities): both change together, in one update. An orderer renewed with its
key kept is still found by that key, so the change is a certificate rotation of one consenter.
"""

from __future__ import annotations

from fabric_protos.common import configtx_pb2, policies_pb2
from fabric_protos.common import configuration_pb2 as common_config_pb2
from fabric_protos.msp import identities_pb2, msp_principal_pb2
from fabric_protos.orderer import configuration_pb2 as orderer_config_pb2
from fabric_protos.orderer.etcdraft import configuration_pb2 as etcdraft_pb2

from .reenrolment import same_public_key

ORDERER = "Orderer"


def consensus_type(config: configtx_pb2.Config) -> str:
    value = config.channel_group.groups[ORDERER].values["ConsensusType"]
    return str(orderer_config_pb2.ConsensusType.FromString(value.value).type)


def raft_metadata(config: configtx_pb2.Config) -> etcdraft_pb2.ConfigMetadata:
    value = config.channel_group.groups[ORDERER].values["ConsensusType"]
    consensus = orderer_config_pb2.ConsensusType.FromString(value.value)
    return etcdraft_pb2.ConfigMetadata.FromString(consensus.metadata)


def bft_mapping(config: configtx_pb2.Config) -> common_config_pb2.Orderers:
    return common_config_pb2.Orderers.FromString(
        config.channel_group.groups[ORDERER].values["Orderers"].value
    )


def consenter_tls_certificates(config: configtx_pb2.Config) -> list[bytes]:
    """Every consenter's client TLS certificate (Raft's set, or SmartBFT's mapping)."""
    if consensus_type(config) == "etcdraft":
        return [c.client_tls_cert for c in raft_metadata(config).consenters]
    return [c.client_tls_cert for c in bft_mapping(config).consenter_mapping]


def consenter_identities(config: configtx_pb2.Config) -> list[bytes]:
    """SmartBFT's consenter identities (enrolment certificates); none for Raft."""
    if consensus_type(config) == "etcdraft":
        return []
    return [c.identity for c in bft_mapping(config).consenter_mapping]


def carries(config: configtx_pb2.Config, tls_pem: bytes, identity_pem: bytes) -> bool:
    """True when the consenter with `tls_pem`'s key has exactly these certificates already."""
    if consensus_type(config) == "etcdraft":
        return any(
            c.client_tls_cert == tls_pem and c.server_tls_cert == tls_pem
            for c in raft_metadata(config).consenters
        )
    return any(
        c.client_tls_cert == tls_pem and c.server_tls_cert == tls_pem and c.identity == identity_pem
        for c in bft_mapping(config).consenter_mapping
    )


def rotate(config: configtx_pb2.Config, tls_pem: bytes, identity_pem: bytes) -> int:
    """Puts the renewed certificates into the entry of the consenter with the same TLS key; how many
    entries changed (0: no consenter has that key)."""
    if consensus_type(config) == "etcdraft":
        return _rotate_raft(config, tls_pem)
    return _rotate_bft(config, tls_pem, identity_pem)


def _rotate_raft(config: configtx_pb2.Config, tls_pem: bytes) -> int:
    value = config.channel_group.groups[ORDERER].values["ConsensusType"]
    consensus = orderer_config_pb2.ConsensusType.FromString(value.value)
    metadata = etcdraft_pb2.ConfigMetadata.FromString(consensus.metadata)
    changed = 0
    for consenter in metadata.consenters:
        if same_public_key(consenter.client_tls_cert, tls_pem):
            consenter.client_tls_cert = tls_pem
            consenter.server_tls_cert = tls_pem
            changed += 1
    consensus.metadata = metadata.SerializeToString()
    value.value = consensus.SerializeToString()
    return changed


def _rotate_bft(config: configtx_pb2.Config, tls_pem: bytes, identity_pem: bytes) -> int:
    group = config.channel_group.groups[ORDERER]
    mapping = bft_mapping(config)
    replaced: dict[bytes, bytes] = {}  # old serialized identity -> new
    for consenter in mapping.consenter_mapping:
        if not same_public_key(consenter.client_tls_cert, tls_pem):
            continue
        old = identities_pb2.SerializedIdentity(mspid=consenter.msp_id, id_bytes=consenter.identity)
        new = identities_pb2.SerializedIdentity(mspid=consenter.msp_id, id_bytes=identity_pem)
        replaced[old.SerializeToString()] = new.SerializeToString()
        consenter.identity = identity_pem
        consenter.client_tls_cert = tls_pem
        consenter.server_tls_cert = tls_pem
    group.values["Orderers"].value = mapping.SerializeToString()
    # The BlockValidation policy names each consenter's identity, in the mapping's order.
    policy = group.policies["BlockValidation"].policy
    envelope = policies_pb2.SignaturePolicyEnvelope.FromString(policy.value)
    for principal in envelope.identities:
        if principal.principal_classification == msp_principal_pb2.MSPPrincipal.IDENTITY:
            principal.principal = replaced.get(principal.principal, principal.principal)
    policy.value = envelope.SerializeToString()
    return len(replaced)
