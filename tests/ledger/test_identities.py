"""Local CA certificates, key files, low-S signatures, and proposals shaped like a Fabric client's."""

from __future__ import annotations

import hashlib
import json
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID
from embedded_ledger import EmbeddedLedger, Identity
from embedded_ledger.identities import FABRIC_CA_ATTRIBUTES_OID
from embedded_ledger.proposal import build_proposal, transaction_id
from fabric_protos.common import common_pb2
from fabric_protos.msp import identities_pb2
from fabric_protos.peer import chaincode_pb2, proposal_pb2
from hypothesis import given, settings
from hypothesis import strategies as st

P256_HALF_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551 // 2


@pytest.fixture(scope="module")
def on_disk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Identity, EmbeddedLedger]]:
    directory = tmp_path_factory.mktemp("ledger")
    with EmbeddedLedger.open(directory) as ledger:
        carol = ledger.identities.enroll("carol", "Org1MSP", {"role": "institution", "district": "seocho"})
        yield directory, carol, ledger


def test_certificate_is_fabric_ca_shaped(on_disk: tuple[Path, Identity, EmbeddedLedger]) -> None:
    _, carol, ledger = on_disk
    cert = carol.certificate
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "carol"
    assert cert.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)[0].value == "client"
    raw = cert.extensions.get_extension_for_oid(FABRIC_CA_ATTRIBUTES_OID).value
    assert isinstance(raw, x509.UnrecognizedExtension)
    attrs = json.loads(raw.value)["attrs"]
    assert (
        attrs["role"] == "institution"
        and attrs["district"] == "seocho"
        and attrs["hf.EnrollmentID"] == "carol"
    )
    ca = ledger.identities.certificate_authority("Org1MSP").certificate
    assert cert.issuer == ca.subject
    cert.verify_directly_issued_by(ca)


def test_private_keys_are_0600(on_disk: tuple[Path, Identity, EmbeddedLedger]) -> None:
    directory, _, _ = on_disk
    key_files = list((directory / "keystore").iterdir())
    assert len(key_files) == 2  # the CA's and carol's
    for path in key_files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((directory / "keystore").stat().st_mode) == 0o700


def test_serialized_identity(on_disk: tuple[Path, Identity, EmbeddedLedger]) -> None:
    _, carol, _ = on_disk
    serialized = identities_pb2.SerializedIdentity.FromString(carol.serialized())
    assert serialized.mspid == "Org1MSP" and serialized.id_bytes.decode() == carol.certificate_pem


@settings(max_examples=40, deadline=None)
@given(message=st.binary(max_size=64))
def test_signatures_verify_and_are_low_s(message: bytes) -> None:
    signer = _signer()
    signature = signer.sign(message)
    public_key = signer.certificate.public_key()
    assert isinstance(public_key, ec.EllipticCurvePublicKey)
    public_key.verify(signature, message, ec.ECDSA(hashes.SHA256()))
    assert decode_dss_signature(signature)[1] <= P256_HALF_ORDER


def test_enroll_is_idempotent_but_refuses_changes(ledger: EmbeddedLedger) -> None:
    first = ledger.identities.enroll("dave", "Org1MSP", {"a": "1"})
    assert ledger.identities.enroll("dave", "Org1MSP", {"a": "1"}).certificate_pem == first.certificate_pem
    with pytest.raises(ValueError):
        ledger.identities.enroll("dave", "Org1MSP", {"a": "2"})
    with pytest.raises(KeyError):
        ledger.identities.get("nobody")
    assert "dave" in ledger.identities and ledger.identities.names() == ["dave"]


def test_proposal_matches_a_fabric_client(on_disk: tuple[Path, Identity, EmbeddedLedger]) -> None:
    _, carol, _ = on_disk
    nonce = bytes(range(24))
    built = build_proposal(
        carol, "seocho", "coin", "Transfer", ["a", b"\x00b"], {"secret": b"s"}, nonce=nonce
    )
    assert (
        built.tx_id
        == hashlib.sha256(nonce + carol.serialized()).hexdigest()
        == transaction_id(nonce, carol.serialized())
    )
    proposal = proposal_pb2.Proposal.FromString(built.signed_proposal.proposal_bytes)
    header = common_pb2.Header.FromString(proposal.header)
    channel_header = common_pb2.ChannelHeader.FromString(header.channel_header)
    assert channel_header.type == common_pb2.HeaderType.ENDORSER_TRANSACTION
    assert (channel_header.channel_id, channel_header.tx_id, channel_header.epoch) == (
        "seocho",
        built.tx_id,
        0,
    )
    extension = proposal_pb2.ChaincodeHeaderExtension.FromString(channel_header.extension)
    assert extension.chaincode_id.name == "coin"
    signature_header = common_pb2.SignatureHeader.FromString(header.signature_header)
    assert (signature_header.creator, signature_header.nonce) == (carol.serialized(), nonce)
    payload = proposal_pb2.ChaincodeProposalPayload.FromString(proposal.payload)
    assert dict(payload.TransientMap) == {"secret": b"s"}
    spec = chaincode_pb2.ChaincodeInvocationSpec.FromString(payload.input).chaincode_spec
    assert list(spec.input.args) == [b"Transfer", b"a", b"\x00b"]
    public_key = carol.certificate.public_key()
    assert isinstance(public_key, ec.EllipticCurvePublicKey)
    public_key.verify(
        built.signed_proposal.signature, built.signed_proposal.proposal_bytes, ec.ECDSA(hashes.SHA256())
    )


_SIGNERS: list[Identity] = []


def _signer() -> Identity:
    if not _SIGNERS:
        with EmbeddedLedger.open(None) as ledger:
            _SIGNERS.append(ledger.identities.enroll("signer", "Org1MSP"))
    return _SIGNERS[0]


def test_a_ca_interrupted_between_its_key_and_its_certificate_recovers(tmp_path: Path) -> None:
    import sqlite3

    with EmbeddedLedger.open(tmp_path / "ledger") as ledger:
        ledger.identities.enroll("first", "Org1MSP")
    # A crash after the CA key was saved but before its certificate was stored leaves exactly this.
    with sqlite3.connect(tmp_path / "ledger" / "ledger.sqlite") as db:
        db.execute("DELETE FROM certificate_authorities")
    with EmbeddedLedger.open(tmp_path / "ledger") as ledger:
        second = ledger.identities.enroll("second", "Org1MSP")
        issuer = ledger.identities.certificate_authority("Org1MSP").certificate
        second.certificate.verify_directly_issued_by(issuer)
