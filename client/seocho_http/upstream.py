"""Where the service's requests go: the embedded ledger (default) or a Fabric network's Gateway.

Both offer the same steps, for terminals (the service signs as the terminal's staff identity) and for
residents (offline signing: the service builds the proposal with the resident's certificate, hands out
the bytes to sign, and passes the signed proposal and the signed transaction on).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any, Protocol

import fabric_gateway as fg
import grpc
from embedded_ledger import EmbeddedLedger, EndorsementError, ProposalError, unpack_proposal
from embedded_ledger.envelope import prepared_envelope
from embedded_ledger.ledger import EndorsedTransaction
from fabric_protos.gateway import gateway_pb2
from fabric_protos.peer import proposal_pb2
from fabric_protos.peer.transaction_pb2 import TxValidationCode
from seocho.backend import CHAINCODE_NAME, EmbeddedBackend
from seocho.coin import Coin
from seocho.errors import ConnectionFailedError, SeochoError, rejected
from seocho.gateway_backend import GatewayBackend, _sdk_error, connect_gateway
from seocho.profile import Profile

from seocho_http.enrolment import OneTimeSecrets, member_certificate
from seocho_http.enrolment_relay import FabricCARelay, enrolment_cas
from seocho_http.problems import Problem

COMMITTED, NOT_COMMITTED, UNKNOWN = "committed", "not_committed", "unknown"


@dataclass(frozen=True)
class Outcome:
    """What became of a transaction: the SDK's three outcomes."""

    transaction_id: str
    status: str
    validation_code: str | None = None
    block_number: int | None = None

    def document(self) -> dict[str, Any]:
        return {
            "transaction_id": self.transaction_id,
            "status": self.status,
            "validation_code": self.validation_code,
            "block_number": self.block_number,
        }


@dataclass
class Proposed:
    """A proposal waiting for its signature: `message` is what the resident signs."""

    transaction_id: str
    message: bytes
    state: Any


@dataclass
class Endorsed:
    """An endorsed transaction waiting for its signature: `message` is the envelope's payload."""

    transaction_id: str
    message: bytes
    result: bytes
    state: Any


class Upstream(Protocol):
    def coin_as(self, identity_name: str) -> Coin: ...
    def propose(self, creator: bytes, function: str, args: list[str]) -> Proposed: ...
    def target(self) -> tuple[str, str]: ...
    def adopt(self, transaction_id: str, message: bytes) -> Proposed: ...
    def evaluate(self, proposed: Proposed, signature: bytes) -> bytes: ...
    def endorse(self, proposed: Proposed, signature: bytes) -> Endorsed: ...
    def submit(self, endorsed: Endorsed, signature: bytes) -> Outcome: ...
    def status(self, transaction_id: str) -> Outcome: ...
    def ready(self) -> bool: ...
    def enrol(
        self, msp_id: str, enrollment_id: str, secret: str, csr_pem: str, local_secrets: OneTimeSecrets
    ) -> str: ...
    def close(self) -> None: ...


def _refused(error: ProposalError) -> Problem:
    return Problem("bad_request", str(error).splitlines()[0])


class EmbeddedUpstream:
    """The embedded ledger, which plays the peer: it checks each signed proposal as an endorser does.

    Enrolments are signed by the ledger's local CA, or relayed to a Fabric CA when `ca_relay` is given."""

    PEER_NAME = "seocho-serve-peer"

    def __init__(
        self,
        ledger: EmbeddedLedger,
        peer_msp: str = "SeochoDistrictMSP",
        ca_relay: FabricCARelay | None = None,
    ) -> None:
        self.ledger = ledger
        self._ca_relay = ca_relay
        # The embedded ledger is the endorsing peer; its endorsement in the envelope is signed for real.
        self._peer = ledger.identities.enroll(self.PEER_NAME, peer_msp, role="peer")
        self._coins: dict[str, Coin] = {}
        self._lock = threading.Lock()

    def coin_as(self, identity_name: str) -> Coin:
        with self._lock:
            if identity_name not in self._coins:
                identity = self.ledger.identities.get(identity_name)
                self._coins[identity_name] = Coin(EmbeddedBackend(self.ledger, identity))
            return self._coins[identity_name]

    def propose(self, creator: bytes, function: str, args: list[str]) -> Proposed:
        proposal, tx_id = fg.build_proposal(creator, self.ledger.channel_id, CHAINCODE_NAME, function, args)
        return Proposed(tx_id, proposal.SerializeToString(), None)

    def target(self) -> tuple[str, str]:
        return self.ledger.channel_id, CHAINCODE_NAME

    def adopt(self, transaction_id: str, message: bytes) -> Proposed:
        return Proposed(transaction_id, message, None)

    def _signed(self, proposed: Proposed, signature: bytes) -> proposal_pb2.SignedProposal:
        return proposal_pb2.SignedProposal(proposal_bytes=proposed.message, signature=signature)

    def evaluate(self, proposed: Proposed, signature: bytes) -> bytes:
        try:
            response = self.ledger.evaluate_proposal(self._signed(proposed, signature))
        except ProposalError as exc:
            raise _refused(exc) from None
        if not response.ok:
            raise rejected(response.status, response.message)
        return bytes(response.payload)

    def endorse(self, proposed: Proposed, signature: bytes) -> Endorsed:
        signed = self._signed(proposed, signature)
        try:
            endorsed = self.ledger.endorse_proposal(signed)
        except ProposalError as exc:
            raise _refused(exc) from None
        except EndorsementError as exc:
            raise rejected(exc.response.status, exc.response.message) from None
        envelope = prepared_envelope(unpack_proposal(signed), endorsed, self._peer)
        return Endorsed(proposed.transaction_id, envelope.payload, bytes(endorsed.response.payload), endorsed)

    def submit(self, endorsed: Endorsed, signature: bytes) -> Outcome:
        transaction: EndorsedTransaction = endorsed.state
        creator = unpack_proposal(transaction.proposal).creator
        try:
            self.ledger.membership.verify(creator, endorsed.message, signature)
        except ProposalError as exc:
            raise _refused(exc) from None
        block = self.ledger.commit([transaction])
        return _outcome(endorsed.transaction_id, block.transactions[0].validation_code, block.number)

    def status(self, transaction_id: str) -> Outcome:
        record = self.ledger.transaction_status(transaction_id)
        if record is None:
            return Outcome(transaction_id, UNKNOWN)
        return _outcome(transaction_id, record.validation_code, record.block_num)

    def ready(self) -> bool:
        return self.ledger.height > 0

    def enrol(
        self, msp_id: str, enrollment_id: str, secret: str, csr_pem: str, local_secrets: OneTimeSecrets
    ) -> str:
        if self._ca_relay is not None:  # a district's real CA in front of a development ledger
            return self._ca_relay.enrol(msp_id, enrollment_id, secret, csr_pem)
        # The ledger's local CA stands in for the district's Fabric CA; the service's own one-time
        # secret (`seocho serve enrolment-secret`) stands in for the CA's registration secret.
        if not local_secrets.consume(enrollment_id, secret):
            raise Problem("bad_secret", "or it was used already, or it expired")
        return member_certificate(self.ledger, msp_id, enrollment_id, csr_pem)

    def close(self) -> None:
        self.ledger.close()


def _outcome(transaction_id: str, code: int, block: int) -> Outcome:
    status = COMMITTED if code == TxValidationCode.VALID else NOT_COMMITTED
    return Outcome(transaction_id, status, TxValidationCode.Name(code), block)


class GatewayUpstream:
    """A Fabric network through long-lived Gateway connections: one as the service's own identity (it
    relays residents' signed requests and asks commit statuses), one per terminal staff identity.
    Enrolments go to the organisation's Fabric CA (`ca_relay`; by default the CAs the profile names)."""

    def __init__(
        self, profile: Profile, service_identity: str, ca_relay: FabricCARelay | None = None
    ) -> None:
        self.profile = profile
        self._ca_relay = ca_relay or FabricCARelay(enrolment_cas(profile))
        self._connections: dict[str, Any] = {}
        self._coins: dict[str, Coin] = {}
        self._lock = threading.Lock()
        self._network = self._gateway(service_identity).get_network(profile.channel)
        self._contract = self._network.get_contract(profile.chaincode)
        self.commit_patience = profile.timeouts.commit_status or 60.0

    def _gateway(self, name: str) -> fg.Gateway:
        if name not in self._connections:
            manager = connect_gateway(self.profile, name)
            self._connections[name] = (manager, manager.__enter__())
        gateway: fg.Gateway = self._connections[name][1]
        return gateway

    def coin_as(self, identity_name: str) -> Coin:
        with self._lock:
            if identity_name not in self._coins:
                contract = (
                    self._gateway(identity_name)
                    .get_network(self.profile.channel)
                    .get_contract(self.profile.chaincode)
                )
                self._coins[identity_name] = Coin(
                    GatewayBackend(contract, commit_patience=self.commit_patience)
                )
            return self._coins[identity_name]

    def _error(self, error: fg.GatewayError) -> SeochoError:
        return _sdk_error(error, self.profile.channel, self.profile.chaincode)

    def propose(self, creator: bytes, function: str, args: list[str]) -> Proposed:
        proposal, tx_id = fg.build_proposal(
            creator, self.profile.channel, self.profile.chaincode, function, args
        )
        return self.adopt(tx_id, proposal.SerializeToString())

    def target(self) -> tuple[str, str]:
        return self.profile.channel, self.profile.chaincode

    def adopt(self, transaction_id: str, message: bytes) -> Proposed:
        proposed = gateway_pb2.ProposedTransaction(
            transaction_id=transaction_id, proposal=proposal_pb2.SignedProposal(proposal_bytes=message)
        )
        return Proposed(transaction_id, message, proposed.SerializeToString())

    def evaluate(self, proposed: Proposed, signature: bytes) -> bytes:
        try:
            return self._network.new_signed_proposal(proposed.state, signature).evaluate()
        except fg.GatewayError as exc:
            raise self._error(exc) from None

    def endorse(self, proposed: Proposed, signature: bytes) -> Endorsed:
        try:
            transaction = self._network.new_signed_proposal(proposed.state, signature).endorse()
        except fg.GatewayError as exc:
            raise self._error(exc) from None
        prepared = gateway_pb2.PreparedTransaction.FromString(transaction.bytes())
        return Endorsed(
            proposed.transaction_id, prepared.envelope.payload, transaction.result, transaction.bytes()
        )

    def submit(self, endorsed: Endorsed, signature: bytes) -> Outcome:
        transaction = self._network.new_signed_transaction(endorsed.state, signature)
        deadline = time.monotonic() + 4 * (self.profile.timeouts.submit or 5.0)
        while True:  # the same signed transaction again while Raft elects a leader: it commits at most once
            try:
                commit = transaction.submit()
                break
            except fg.GatewayError as exc:
                if exc.code not in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED) or (
                    time.monotonic() > deadline
                ):
                    return Outcome(endorsed.transaction_id, UNKNOWN)
                time.sleep(0.5)
        try:
            status = commit.status(timeout=self.commit_patience)
        except fg.GatewayError:
            return Outcome(endorsed.transaction_id, UNKNOWN)
        return _outcome(status.transaction_id, status.code, status.block_number)

    def status(self, transaction_id: str) -> Outcome:
        try:
            status = self._contract.new_commit(transaction_id).status(timeout=2.0)
        except fg.CommitStatusError as exc:
            if exc.code == grpc.StatusCode.DEADLINE_EXCEEDED:
                return Outcome(transaction_id, UNKNOWN)
            raise ConnectionFailedError(exc.message) from None
        return _outcome(transaction_id, status.code, status.block_number)

    def enrol(
        self, msp_id: str, enrollment_id: str, secret: str, csr_pem: str, local_secrets: OneTimeSecrets
    ) -> str:
        # The district's Fabric CA checks its own registration secret: the service's are not used here.
        return self._ca_relay.enrol(msp_id, enrollment_id, secret, csr_pem)

    def ready(self) -> bool:
        try:
            self._contract.evaluate_transaction("get_policy", "0")
        except fg.GatewayError as exc:
            return exc.code not in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
        return True

    def close(self) -> None:
        for manager, _gateway in self._connections.values():
            manager.__exit__(None, None, None)
        self._connections.clear()
