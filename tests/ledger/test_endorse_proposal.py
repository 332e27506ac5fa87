"""The ledger endorses a client's own SignedProposal after the checks a Fabric endorser makes.

Proposals are built by our Gateway client (`fabric_gateway.build_proposal`) and signed with its
signer, so these tests also prove the client and the ledger agree on the wire format. References:
core/endorser/msgvalidation.go (UnpackProposal, Validate), core/endorser/endorser.go (duplicate
txID), bccsp/sw/ecdsa.go (low-S).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import fabric_gateway as fg
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
from embedded_ledger import EmbeddedLedger, EndorsementError, IdentityError, ProposalError
from fabric_protos.common import common_pb2
from fabric_protos.msp import identities_pb2
from fabric_protos.peer import proposal_pb2
from fabric_shim.chaincode import Response, error, success
from fabric_shim.stub import ChaincodeStub
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
ECHO = "echo"
CHANNEL = "seocho"


class EchoChaincode:
    """Answers with what the stub saw of the proposal; "fail" answers 403."""

    def init(self, stub: ChaincodeStub) -> Response:
        return success()

    def invoke(self, stub: ChaincodeStub) -> Response:
        if stub.function == "fail":
            return error("refused", 403)
        if stub.function == "put":
            stub.put_state(stub.parameters[0], b"1")
        seen = {
            "tx_id": stub.tx_id,
            "creator": stub.creator.hex(),
            "timestamp": stub.tx_timestamp.isoformat(),
            "transient": {k: v.decode() for k, v in stub.transient.items()},
            "args": stub.parameters,
        }
        return success(json.dumps(seen).encode())


@dataclass
class Client:
    """A client identity as an application holds it: MSP id, certificate and its own key."""

    msp_id: str
    certificate: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    @property
    def creator(self) -> bytes:
        return fg.X509Identity(self.msp_id, self.certificate.public_bytes(Encoding.PEM)).serialize()

    def sign(self, proposal: proposal_pb2.Proposal) -> proposal_pb2.SignedProposal:
        proposal_bytes = proposal.SerializeToString()
        signature = fg.new_private_key_signer(self.key)(fg.signing.sha256(proposal_bytes))
        return proposal_pb2.SignedProposal(proposal_bytes=proposal_bytes, signature=signature)

    def proposal(
        self,
        function: str = "echo",
        *args: str,
        channel: str = CHANNEL,
        transient: dict[str, bytes] | None = None,
        nonce: bytes | None = None,
        timestamp: dt.datetime | None = None,
    ) -> tuple[proposal_pb2.SignedProposal, str]:
        proposal, tx_id = fg.build_proposal(
            self.creator, channel, ECHO, function, args, transient, nonce=nonce, timestamp=timestamp
        )
        return self.sign(proposal), tx_id


@dataclass
class ForeignCA:
    """A CA outside the ledger, standing in for a real Fabric CA."""

    certificate: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    @classmethod
    def create(cls, name: str) -> ForeignCA:
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        now = dt.datetime.now(dt.UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256())
        )
        return cls(certificate, key)

    @property
    def pem(self) -> bytes:
        return self.certificate.public_bytes(Encoding.PEM)

    def client(
        self,
        msp_id: str,
        *,
        curve: ec.EllipticCurve | None = None,
        valid_for: tuple[dt.timedelta, dt.timedelta] = (dt.timedelta(days=-1), dt.timedelta(days=30)),
    ) -> Client:
        key = ec.generate_private_key(curve or ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "user1")]))
            .issuer_name(self.certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now + valid_for[0])
            .not_valid_after(now + valid_for[1])
            .sign(self.key, hashes.SHA256())
        )
        return Client(msp_id, certificate, key)


@pytest.fixture
def ledger() -> Iterator[EmbeddedLedger]:
    with EmbeddedLedger.open(None, channel_id=CHANNEL) as opened:
        opened.install(ECHO, EchoChaincode())
        yield opened


@pytest.fixture
def client(ledger: EmbeddedLedger) -> Client:
    """A client whose certificate the ledger's local Org1MSP CA issued for the client's own key."""
    key = ec.generate_private_key(ec.SECP256R1())
    ca = ledger.identities.certificate_authority("Org1MSP")
    return Client("Org1MSP", ca.issue("app-user", key.public_key(), "client", {}), key)


def _seen(payload: bytes) -> dict[str, object]:
    result: dict[str, object] = json.loads(payload)
    return result


# -- accepted ------------------------------------------------------------------------------------


def test_a_client_built_proposal_runs_under_the_clients_tx_id_creator_timestamp_and_transient(
    ledger: EmbeddedLedger, client: Client
) -> None:
    moment = dt.datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=dt.UTC)
    signed, tx_id = client.proposal("put", "k", timestamp=moment, transient={"secret": b"s3"})
    endorsed = ledger.endorse_proposal(signed)
    seen = _seen(endorsed.response.payload)
    assert seen == {
        "tx_id": tx_id,
        "creator": client.creator.hex(),
        "timestamp": moment.isoformat(),
        "transient": {"secret": "s3"},
        "args": ["k"],
    }
    assert (endorsed.tx_id, endorsed.creator_msp, endorsed.timestamp) == (tx_id, "Org1MSP", moment)
    assert endorsed.proposal == signed
    ledger.commit([endorsed])
    record = ledger.transaction_status(tx_id)
    assert record is not None and record.is_valid and record.function == "put"


def test_evaluate_proposal_returns_failures_as_responses(ledger: EmbeddedLedger, client: Client) -> None:
    assert ledger.evaluate_proposal(client.proposal("fail")[0]).status == 403
    with pytest.raises(EndorsementError):
        ledger.endorse_proposal(client.proposal("fail")[0])


def test_identities_of_a_trusted_foreign_ca_are_accepted_and_the_trust_is_durable(tmp_path: Path) -> None:
    fabric_ca = ForeignCA.create("fabric-ca-server")
    with EmbeddedLedger.open(tmp_path, channel_id=CHANNEL) as ledger:
        ledger.install(ECHO, EchoChaincode())
        ledger.trust_msp_root("Org2MSP", fabric_ca.pem)
        ledger.trust_msp_root("Org2MSP", fabric_ca.pem.decode())  # idempotent
        assert [root.subject for root in ledger.msp_roots("Org2MSP")] == [fabric_ca.certificate.subject]
        assert ledger.evaluate_proposal(fabric_ca.client("Org2MSP").proposal()[0]).ok
    with EmbeddedLedger.open(tmp_path, channel_id=CHANNEL) as reopened:
        reopened.install(ECHO, EchoChaincode())
        assert reopened.evaluate_proposal(fabric_ca.client("Org2MSP").proposal()[0]).ok


def test_a_p384_creator_signing_sha256_digests_is_accepted(ledger: EmbeddedLedger) -> None:
    # Fabric's MSP hashes with SHA-256 (SHA2 family) whatever the curve.
    fabric_ca = ForeignCA.create("ca")
    ledger.trust_msp_root("Org2MSP", fabric_ca.pem)
    assert ledger.evaluate_proposal(fabric_ca.client("Org2MSP", curve=ec.SECP384R1()).proposal()[0]).ok


def test_the_local_identity_api_takes_the_same_checked_path(ledger: EmbeddedLedger) -> None:
    alice = ledger.identities.enroll("alice", "Org1MSP")
    endorsed = ledger.endorse(alice, ECHO, "put", ["k"], {"t": b"v"})
    seen = _seen(endorsed.response.payload)
    assert seen["tx_id"] == endorsed.tx_id and seen["transient"] == {"t": "v"}
    with EmbeddedLedger.open(None, channel_id=CHANNEL) as other:
        other.install(ECHO, EchoChaincode())
        with pytest.raises(IdentityError, match="not a member of the channel"):
            other.evaluate(alice, ECHO, "echo")  # another ledger's CA means nothing here


# -- refused -------------------------------------------------------------------------------------


def test_a_signature_by_another_key_is_refused(ledger: EmbeddedLedger, client: Client) -> None:
    signed, _ = client.proposal()
    impostor = Client(client.msp_id, client.certificate, ec.generate_private_key(ec.SECP256R1()))
    forged = impostor.sign(proposal_pb2.Proposal.FromString(signed.proposal_bytes))
    with pytest.raises(IdentityError, match="signature is invalid"):
        ledger.endorse_proposal(forged)


def test_the_high_s_twin_of_a_valid_signature_is_refused(ledger: EmbeddedLedger, client: Client) -> None:
    signed, _ = client.proposal()
    r, s = decode_dss_signature(signed.signature)
    high = proposal_pb2.SignedProposal(
        proposal_bytes=signed.proposal_bytes, signature=encode_dss_signature(r, P256_ORDER - s)
    )
    # Both S and n-S verify mathematically; only the low one is accepted, as by Fabric.
    client.key.public_key().verify(high.signature, signed.proposal_bytes, ec.ECDSA(hashes.SHA256()))
    with pytest.raises(IdentityError, match="low-S"):
        ledger.endorse_proposal(high)
    assert ledger.endorse_proposal(signed).response.ok


def test_a_tx_id_not_derived_from_nonce_and_creator_is_refused(
    ledger: EmbeddedLedger, client: Client
) -> None:
    proposal, _ = fg.build_proposal(client.creator, CHANNEL, ECHO, "echo")
    header = common_pb2.Header.FromString(proposal.header)
    channel_header = common_pb2.ChannelHeader.FromString(header.channel_header)
    channel_header.tx_id = "0" * 64
    header.channel_header = channel_header.SerializeToString()
    proposal.header = header.SerializeToString()
    with pytest.raises(ProposalError, match="incorrectly computed txid"):
        ledger.endorse_proposal(client.sign(proposal))


def test_a_proposal_for_another_channel_is_refused(ledger: EmbeddedLedger, client: Client) -> None:
    with pytest.raises(ProposalError, match="channel 'elsewhere' not found"):
        ledger.evaluate_proposal(client.proposal(channel="elsewhere")[0])


def test_a_header_type_other_than_endorser_transaction_is_refused(
    ledger: EmbeddedLedger, client: Client
) -> None:
    proposal, _ = fg.build_proposal(client.creator, CHANNEL, ECHO, "echo")
    header = common_pb2.Header.FromString(proposal.header)
    channel_header = common_pb2.ChannelHeader.FromString(header.channel_header)
    channel_header.type = common_pb2.HeaderType.CONFIG
    header.channel_header = channel_header.SerializeToString()
    proposal.header = header.SerializeToString()
    with pytest.raises(ProposalError, match="invalid header type CONFIG"):
        ledger.endorse_proposal(client.sign(proposal))


def test_a_certificate_from_an_untrusted_root_is_refused(ledger: EmbeddedLedger) -> None:
    ledger.identities.enroll("someone", "Org1MSP")  # Org1MSP is known, but not this CA
    stranger = ForeignCA.create("rogue").client("Org1MSP")
    with pytest.raises(IdentityError, match="not issued by a trusted root of Org1MSP"):
        ledger.endorse_proposal(stranger.proposal()[0])
    with pytest.raises(IdentityError, match="not a member of the channel"):
        ledger.endorse_proposal(ForeignCA.create("rogue").client("NoSuchMSP").proposal()[0])


def test_a_root_trusted_for_one_msp_does_not_vouch_for_another(ledger: EmbeddedLedger) -> None:
    fabric_ca = ForeignCA.create("ca")
    ledger.trust_msp_root("Org2MSP", fabric_ca.pem)
    ledger.identities.enroll("someone", "Org1MSP")
    with pytest.raises(IdentityError):
        ledger.endorse_proposal(fabric_ca.client("Org1MSP").proposal()[0])


def test_expired_and_not_yet_valid_certificates_are_refused(ledger: EmbeddedLedger) -> None:
    fabric_ca = ForeignCA.create("ca")
    ledger.trust_msp_root("Org2MSP", fabric_ca.pem)
    expired = fabric_ca.client("Org2MSP", valid_for=(dt.timedelta(days=-30), dt.timedelta(seconds=-1)))
    early = fabric_ca.client("Org2MSP", valid_for=(dt.timedelta(hours=1), dt.timedelta(days=30)))
    for client in (expired, early):
        with pytest.raises(IdentityError, match="not valid now"):
            ledger.endorse_proposal(client.proposal()[0])


def test_a_ca_certificate_cannot_be_trusted_as_a_leaf_or_a_leaf_as_a_root(ledger: EmbeddedLedger) -> None:
    fabric_ca = ForeignCA.create("ca")
    with pytest.raises(ValueError, match="not a CA"):
        ledger.trust_msp_root("Org2MSP", fabric_ca.client("Org2MSP").certificate.public_bytes(Encoding.PEM))
    ledger.trust_msp_root("Org2MSP", fabric_ca.pem)
    as_itself = Client("Org2MSP", fabric_ca.certificate, fabric_ca.key)
    with pytest.raises(IdentityError, match="CA certificate cannot be used"):
        ledger.endorse_proposal(as_itself.proposal()[0])


def test_a_committed_tx_id_is_refused_as_a_duplicate(ledger: EmbeddedLedger, client: Client) -> None:
    signed, tx_id = client.proposal("put", "k")
    ledger.commit([ledger.endorse_proposal(signed)])
    for replay in (ledger.endorse_proposal, ledger.evaluate_proposal):
        with pytest.raises(ProposalError, match=f"duplicate transaction found \\[{tx_id}\\]"):
            replay(signed)


def test_malformed_and_incomplete_proposals_are_refused(ledger: EmbeddedLedger, client: Client) -> None:
    with pytest.raises(ProposalError, match="empty proposal bytes"):
        ledger.endorse_proposal(proposal_pb2.SignedProposal())
    with pytest.raises(ProposalError, match="malformed proposal"):
        ledger.endorse_proposal(proposal_pb2.SignedProposal(proposal_bytes=b"\xff\xff", signature=b"x"))
    signed, _ = client.proposal()
    with pytest.raises(ProposalError, match="empty signature"):
        ledger.endorse_proposal(proposal_pb2.SignedProposal(proposal_bytes=signed.proposal_bytes))
    creator = identities_pb2.SerializedIdentity(mspid="Org1MSP", id_bytes=b"not a certificate")
    proposal, _ = fg.build_proposal(creator.SerializeToString(), CHANNEL, ECHO, "echo")
    with pytest.raises(IdentityError, match="creator is malformed"):
        ledger.endorse_proposal(client.sign(proposal))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_change_to_a_signed_proposal_is_refused_before_the_chaincode_runs(
    ledger: EmbeddedLedger, client: Client, data: st.DataObject
) -> None:
    moment = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    signed, _ = client.proposal("put", "k", nonce=b"n" * 24, timestamp=moment)  # same bytes each time
    position = data.draw(st.integers(0, len(signed.proposal_bytes) - 1), label="position")
    flip = data.draw(st.integers(1, 255), label="xor")
    tampered = bytearray(signed.proposal_bytes)
    tampered[position] ^= flip
    height = ledger.height
    with pytest.raises(ProposalError):
        ledger.endorse_proposal(
            proposal_pb2.SignedProposal(proposal_bytes=bytes(tampered), signature=signed.signature)
        )
    assert ledger.height == height
