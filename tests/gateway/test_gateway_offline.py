"""Offline units: proposal structure, transaction ids, signatures, identities, checkpoints, errors."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import fabric_gateway as fg
import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    Prehashed,
    decode_dss_signature,
    encode_dss_signature,
)
from cryptography.x509.oid import NameOID
from fabric_ca import Enrollment
from fabric_gateway import signing
from fabric_protos.common import common_pb2
from fabric_protos.msp import identities_pb2
from fabric_protos.peer import chaincode_pb2, proposal_pb2
from hypothesis import given, settings
from hypothesis import strategies as st

# Group orders from SEC 2 / FIPS 186-4, written out here so the low-S checks do not trust the
# constants of the module under test.
P256_HALF_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551 // 2
P384_HALF_ORDER = (
    0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF581A0DB248B0A77AECEC196ACCC52973 // 2
)


def s_of(signature: bytes) -> int:
    return int(decode_dss_signature(signature)[1])


P256_KEY = ec.generate_private_key(ec.SECP256R1())
P384_KEY = ec.generate_private_key(ec.SECP384R1())


def _certificate_pem(key: ec.EllipticCurvePrivateKey, name: str = "alice") -> bytes:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    from cryptography.hazmat.primitives import serialization

    return certificate.public_bytes(serialization.Encoding.PEM)


IDENTITY = fg.X509Identity("Org1MSP", _certificate_pem(P256_KEY))


def test_proposal_parses_back_to_exactly_the_fabric_structure() -> None:
    nonce = bytes(range(24))
    moment = dt.datetime(2025, 7, 1, 9, 30, tzinfo=dt.UTC)
    creator = IDENTITY.serialize()
    proposal, tx_id = fg.build_proposal(
        creator,
        "seocho",
        "assets",
        "Assets:put",
        ["k", b"\x00v"],
        {"secret": b"s"},
        nonce=nonce,
        timestamp=moment,
    )
    assert tx_id == hashlib.sha256(nonce + creator).hexdigest()

    header = common_pb2.Header.FromString(proposal.header)
    channel_header = common_pb2.ChannelHeader.FromString(header.channel_header)
    assert channel_header.type == common_pb2.HeaderType.ENDORSER_TRANSACTION
    assert (channel_header.channel_id, channel_header.tx_id, channel_header.epoch) == ("seocho", tx_id, 0)
    assert channel_header.timestamp.ToDatetime(dt.UTC) == moment
    extension = proposal_pb2.ChaincodeHeaderExtension.FromString(channel_header.extension)
    assert extension.chaincode_id.name == "assets"

    signature_header = common_pb2.SignatureHeader.FromString(header.signature_header)
    assert signature_header.nonce == nonce
    serialized = identities_pb2.SerializedIdentity.FromString(signature_header.creator)
    assert (serialized.mspid, serialized.id_bytes) == ("Org1MSP", IDENTITY.certificate_pem)

    payload = proposal_pb2.ChaincodeProposalPayload.FromString(proposal.payload)
    assert dict(payload.TransientMap) == {"secret": b"s"}
    spec = chaincode_pb2.ChaincodeInvocationSpec.FromString(payload.input).chaincode_spec
    assert spec.chaincode_id.name == "assets"
    assert list(spec.input.args) == [b"Assets:put", b"k", b"\x00v"]


@given(nonce=st.binary(min_size=24, max_size=24), msp=st.text(min_size=1, max_size=20))
@settings(max_examples=50, deadline=None)
def test_transaction_id_is_recomputable_from_nonce_and_creator(nonce: bytes, msp: str) -> None:
    creator = fg.X509Identity(msp, IDENTITY.certificate_pem).serialize()
    proposal, tx_id = fg.build_proposal(creator, "ch", "cc", "fn", nonce=nonce)
    header = common_pb2.Header.FromString(proposal.header)
    signature_header = common_pb2.SignatureHeader.FromString(header.signature_header)
    recomputed = hashlib.sha256(signature_header.nonce + signature_header.creator).hexdigest()
    assert recomputed == tx_id == common_pb2.ChannelHeader.FromString(header.channel_header).tx_id


@given(message=st.binary(max_size=512))
@settings(max_examples=60, deadline=None)
def test_p256_signatures_verify_and_are_low_s(message: bytes) -> None:
    signature = fg.new_private_key_signer(P256_KEY)(signing.sha256(message))
    P256_KEY.public_key().verify(signature, message, ec.ECDSA(hashes.SHA256()))
    assert s_of(signature) <= P256_HALF_ORDER


@given(message=st.binary(max_size=512))
@settings(max_examples=30, deadline=None)
def test_p384_signatures_over_sha384_verify_and_are_low_s(message: bytes) -> None:
    signature = fg.new_private_key_signer(P384_KEY)(signing.sha384(message))
    P384_KEY.public_key().verify(signature, message, ec.ECDSA(hashes.SHA384()))
    assert s_of(signature) <= P384_HALF_ORDER


@pytest.mark.parametrize(
    ("key", "half_order", "algorithm"),
    [(P256_KEY, P256_HALF_ORDER, hashes.SHA256()), (P384_KEY, P384_HALF_ORDER, hashes.SHA384())],
)
def test_low_s_normalisation_turns_a_high_s_signature_into_a_valid_low_one(
    key: ec.EllipticCurvePrivateKey, half_order: int, algorithm: hashes.HashAlgorithm
) -> None:
    order = 2 * half_order + 1
    digest = hashlib.new(algorithm.name, b"m").digest()
    r, s = decode_dss_signature(key.sign(digest, ec.ECDSA(Prehashed(algorithm))))
    high = encode_dss_signature(r, max(s, order - s))
    assert not signing.is_low_s(high, key.curve)
    low = signing.to_low_s(high, key.curve)
    assert s_of(low) == min(s, order - s) <= half_order
    assert signing.is_low_s(low, key.curve)
    key.public_key().verify(low, digest, ec.ECDSA(Prehashed(algorithm)))
    assert signing.to_low_s(low, key.curve) == low


def test_ecdsa_signer_refuses_a_digest_of_the_wrong_size() -> None:
    with pytest.raises(ValueError):
        fg.new_private_key_signer(P256_KEY)(b"not a digest")


def test_identity_and_signer_load_from_an_msp_directory_written_by_fabric_ca(tmp_path: Path) -> None:
    certificate_pem = _certificate_pem(P256_KEY, "bob")
    Enrollment(certificate_pem, P256_KEY, certificate_pem).write_msp(tmp_path / "msp")
    identity, signer = fg.load_msp_directory("Org2MSP", tmp_path / "msp")
    assert identity == fg.X509Identity("Org2MSP", certificate_pem)
    assert identities_pb2.SerializedIdentity.FromString(identity.serialize()).mspid == "Org2MSP"
    P256_KEY.public_key().verify(signer(signing.sha256(b"x")), b"x", ec.ECDSA(hashes.SHA256()))


def test_msp_directory_with_a_foreign_key_is_refused(tmp_path: Path) -> None:
    msp = Enrollment(_certificate_pem(P256_KEY), P256_KEY, _certificate_pem(P256_KEY)).write_msp(
        tmp_path / "m"
    )
    other = ec.generate_private_key(ec.SECP256R1())
    from cryptography.hazmat.primitives import serialization

    (msp / "keystore" / "key_sk").write_bytes(
        other.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    with pytest.raises(ValueError):
        fg.load_msp_directory("Org1MSP", msp)


def test_file_checkpointer_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "state" / "checkpoint.json"
    first = fg.FileCheckpointer(path)
    assert first.block_number is None and first.transaction_id == ""
    first.checkpoint_transaction(7, "tx-a")
    again = fg.FileCheckpointer(path)
    assert (again.block_number, again.transaction_id) == (7, "tx-a")
    again.checkpoint_block(7)
    assert (fg.FileCheckpointer(path).block_number, fg.FileCheckpointer(path).transaction_id) == (8, "")
    assert [p.name for p in path.parent.iterdir()] == ["checkpoint.json"]  # no temporary left behind


def test_missing_signer_is_reported_before_any_call() -> None:
    gateway = fg.Gateway(grpc.insecure_channel("127.0.0.1:9"), IDENTITY)
    proposal = gateway.get_network("ch").get_contract("cc").new_proposal("fn")
    assert not proposal.signed
    assert len(proposal.digest()) == 32
    with pytest.raises(fg.MissingSignerError):
        proposal.evaluate()
    gateway.close()


def test_commit_error_names_the_validation_code() -> None:
    from fabric_protos.peer.transaction_pb2 import TxValidationCode

    error = fg.CommitError("tx1", TxValidationCode.MVCC_READ_CONFLICT)
    assert (error.code_name, error.tx_id) == ("MVCC_READ_CONFLICT", "tx1")
    assert fg.CommitError("tx2", TxValidationCode.DUPLICATE_TXID).code_name == "DUPLICATE_TXID"
