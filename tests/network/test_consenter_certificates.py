"""A renewed orderer's certificates go into its own consenter entry only, found by its kept key; for SmartBFT
the BlockValidation policy names the new identity in the old one's place (what SmartBFT checks)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from fabric_protos.common import configtx_pb2, policies_pb2
from fabric_protos.common import configuration_pb2 as common_config_pb2
from fabric_protos.msp import identities_pb2, msp_principal_pb2
from fabric_protos.orderer import configuration_pb2 as orderer_config_pb2
from fabric_protos.orderer.etcdraft import configuration_pb2 as etcdraft_pb2
from seocho_network.consenter_certificates import (
    carries,
    consenter_identities,
    consenter_tls_certificates,
    rotate,
)


def _pem(key: ec.EllipticCurvePrivateKey, name: str, days: int = 1) -> bytes:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now)
        .not_valid_after(now + timedelta(days=days)).sign(key, hashes.SHA256())
    )  # fmt: skip
    return certificate.public_bytes(serialization.Encoding.PEM)


KEYS = [ec.generate_private_key(ec.SECP256R1()) for _ in range(4)]
TLS = [_pem(key, f"orderer{i}") for i, key in enumerate(KEYS)]
IDENTITY_KEYS = [ec.generate_private_key(ec.SECP256R1()) for _ in range(4)]
IDENTITIES = [_pem(key, f"orderer{i}") for i, key in enumerate(IDENTITY_KEYS)]


def _orderer_group(config: configtx_pb2.Config) -> configtx_pb2.ConfigGroup:
    return config.channel_group.groups["Orderer"]


def _raft_config() -> configtx_pb2.Config:
    config = configtx_pb2.Config()
    metadata = etcdraft_pb2.ConfigMetadata()
    for port, pem in enumerate(TLS[:3], start=7060):
        metadata.consenters.add(host="127.0.0.1", port=port, client_tls_cert=pem, server_tls_cert=pem)
    consensus = orderer_config_pb2.ConsensusType(type="etcdraft", metadata=metadata.SerializeToString())
    _orderer_group(config).values["ConsensusType"].value = consensus.SerializeToString()
    return config


def _bft_config() -> configtx_pb2.Config:
    config = configtx_pb2.Config()
    group = _orderer_group(config)
    group.values["ConsensusType"].value = orderer_config_pb2.ConsensusType(type="BFT").SerializeToString()
    mapping = common_config_pb2.Orderers()
    envelope = policies_pb2.SignaturePolicyEnvelope()
    for number, (tls, identity) in enumerate(zip(TLS, IDENTITIES, strict=True), start=1):
        mapping.consenter_mapping.add(
            id=number, host="127.0.0.1", port=7060 + number, msp_id="OrdMSP",
            identity=identity, client_tls_cert=tls, server_tls_cert=tls,
        )  # fmt: skip
        serialized = identities_pb2.SerializedIdentity(mspid="OrdMSP", id_bytes=identity)
        envelope.identities.add(
            principal_classification=msp_principal_pb2.MSPPrincipal.IDENTITY,
            principal=serialized.SerializeToString(),
        )
    group.values["Orderers"].value = mapping.SerializeToString()
    group.policies["BlockValidation"].policy.type = policies_pb2.Policy.SIGNATURE
    group.policies["BlockValidation"].policy.value = envelope.SerializeToString()
    return config


def test_raft_renewal_rewrites_the_consenter_with_the_same_key_only() -> None:
    config = _raft_config()
    renewed = _pem(KEYS[1], "orderer1", days=30)
    assert not carries(config, renewed, b"")

    assert rotate(config, renewed, b"") == 1

    assert consenter_tls_certificates(config) == [TLS[0], renewed, TLS[2]]
    assert carries(config, renewed, b"")
    stranger = _pem(ec.generate_private_key(ec.SECP256R1()), "orderer9")
    assert rotate(config, stranger, b"") == 0
    assert consenter_tls_certificates(config) == [TLS[0], renewed, TLS[2]]


def test_bft_renewal_rewrites_the_mapping_and_the_block_validation_identity_together() -> None:
    config = _bft_config()
    tls, identity = _pem(KEYS[2], "orderer2", days=30), _pem(IDENTITY_KEYS[2], "orderer2", days=30)

    assert rotate(config, tls, identity) == 1

    assert consenter_tls_certificates(config) == [TLS[0], TLS[1], tls, TLS[3]]
    assert consenter_identities(config) == [IDENTITIES[0], IDENTITIES[1], identity, IDENTITIES[3]]
    envelope = policies_pb2.SignaturePolicyEnvelope.FromString(
        _orderer_group(config).policies["BlockValidation"].policy.value
    )
    named = [identities_pb2.SerializedIdentity.FromString(p.principal).id_bytes for p in envelope.identities]
    assert named == consenter_identities(config)  # SmartBFT refuses a policy that differs from the mapping
    assert carries(config, tls, identity) and not carries(config, tls, IDENTITIES[2])
