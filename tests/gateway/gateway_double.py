"""A Fabric Gateway servicer over an embedded ledger, checking requests as a real peer does.

Proposals go to the ledger as the client signed them (`evaluate_proposal` / `endorse_proposal`), so
the ledger checks them as an endorser does (headers, tx id = hex(SHA-256(nonce ‖ creator)), creator
chained to a trusted root of its MSP and valid, low-S signature, no committed duplicate) and runs
them under the client's tx id. Other signed requests are checked against the same channel membership.
It keeps endorsed transactions until Submit, commits each submitted transaction in its own block,
answers CommitStatus once committed and streams chaincode events (block events: `deliver_double`).
Failures carry `gateway.ErrorDetail`s in the rich gRPC status, like Fabric's gateway. Before asking its
peer it answers as Fabric v2.5's gateway does for an unknown channel (Evaluate: UNAVAILABLE "failed to get
config for channel [x]"; Endorse: FAILED_PRECONDITION, no endorsement plan) and, for chaincode run as a
service (`chaincode_servers`), for a server it cannot reach (ABORTED with the peer's "could not launch
chaincode" in the details).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent import futures
from dataclasses import dataclass
from typing import Any, NoReturn

import grpc
from embedded_ledger import (
    ChaincodeConnectionError,
    EmbeddedLedger,
    EndorsedTransaction,
    EndorsementError,
    IdentityError,
    Member,
    ProposalError,
    RemoteChaincode,
    UnpackedProposal,
    unpack_proposal,
)
from embedded_ledger.envelope import prepared_envelope
from fabric_protos.common import common_pb2, ledger_pb2
from fabric_protos.gateway import gateway_pb2, gateway_pb2_grpc
from fabric_protos.msp import identities_pb2
from fabric_protos.peer import (
    chaincode_event_pb2,
    events_pb2_grpc,
    proposal_pb2,
    proposal_response_pb2,
)
from peer_checks import Refused, verify_signature
from tls_pki import TlsMaterial

PEER_ADDRESS = "peer0.org1.test:7051"
PEER_MSP = "Org1MSP"


# -- the rich status, encoded by hand so the client's decoder is tested against independent bytes ----


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _length_delimited(field_number: int, data: bytes) -> bytes:
    return _varint(field_number << 3 | 2) + _varint(len(data)) + data


def encode_rich_status(code: grpc.StatusCode, message: str, details: list[gateway_pb2.ErrorDetail]) -> bytes:
    status = _varint(1 << 3) + _varint(code.value[0]) + _length_delimited(2, message.encode())
    for detail in details:
        any_bytes = _length_delimited(1, b"type.googleapis.com/gateway.ErrorDetail") + _length_delimited(
            2, detail.SerializeToString()
        )
        status += _length_delimited(3, any_bytes)
    return status


def abort(context: grpc.ServicerContext, code: grpc.StatusCode, message: str, peer_message: str) -> NoReturn:
    detail = gateway_pb2.ErrorDetail(address=PEER_ADDRESS, msp_id=PEER_MSP, message=peer_message)
    context.set_trailing_metadata((("grpc-status-details-bin", encode_rich_status(code, message, [detail])),))
    context.abort(code, message)
    raise AssertionError("unreachable")


# -- checks a peer makes ----------------------------------------------------------------------------


def unpacked_request(signed: proposal_pb2.SignedProposal, request_tx_id: str) -> UnpackedProposal:
    """The proposal of an Evaluate/Endorse request, whose transaction id must be the proposal's."""
    proposal = unpack_proposal(signed)
    if request_tx_id != proposal.tx_id:
        raise ProposalError("the request's transaction id differs from the proposal's")
    return proposal


# -- the servicer ------------------------------------------------------------------------------------


class GatewayDouble(gateway_pb2_grpc.GatewayServicer):
    """Test knobs: `stall_seconds["Evaluate"] = 2.0`; `before_next_commits.append(fn)`;
    `lose_next_submits = n` (the next n submissions are accepted, then lost with the orderer);
    `chaincode_servers[name] = remote` for chaincode installed as a `RemoteChaincode`.

    It keeps each submitted (signed) envelope, so the Deliver double can put it in its block.
    """

    def __init__(self, ledger: EmbeddedLedger) -> None:
        self.ledger = ledger
        self.peer_identity = ledger.identities.enroll("peer0", PEER_MSP, role="peer")
        self.stall_seconds: dict[str, float] = {}
        self.before_next_commits: list[Callable[[], None]] = []
        self.lose_next_submits = 0
        #: Transaction ids in the order Submit received them (resubmissions included).
        self.submissions: list[str] = []
        self.chaincode_servers: dict[str, RemoteChaincode] = {}
        self._lock = threading.Condition()
        self._pending: dict[str, EndorsedTransaction] = {}
        self._envelope_of: dict[str, common_pb2.Envelope] = {}

    # what the Deliver double reads

    def submitted_envelope(self, tx_id: str) -> common_pb2.Envelope | None:
        """The signed envelope the client submitted, or None for transactions committed directly."""
        with self._lock:
            return self._envelope_of.get(tx_id)

    def verify_member(self, creator: bytes, message: bytes, signature: bytes) -> Member:
        """The channel member who signed `message`; `Refused` for strangers and bad signatures."""
        return verify_signature(self.ledger.membership, creator, message, signature)

    def wait_for_commit(self, seconds: float) -> None:
        """Return after the next commit through Submit, or after `seconds`."""
        with self._lock:
            self._lock.wait(seconds)

    # helpers

    def _stall(self, method: str, context: grpc.ServicerContext) -> None:
        deadline = time.monotonic() + self.stall_seconds.get(method, 0.0)
        while time.monotonic() < deadline and context.is_active():
            time.sleep(0.01)

    def _check_request(self, identity: bytes, request: bytes, signature: bytes, channel_id: str) -> None:
        self.verify_member(identity, request, signature)
        if channel_id != self.ledger.channel_id:
            raise Refused(f"channel {channel_id!r} not found")

    def _plan(self, signed: proposal_pb2.SignedProposal, step: str, context: grpc.ServicerContext) -> None:
        """What the gateway answers before any peer sees the proposal (Fabric v2.5, internal/pkg/gateway)."""
        try:
            proposal = unpack_proposal(signed)
        except ProposalError:
            return  # the endorser's checks answer that
        channel, chaincode = proposal.channel_id, proposal.chaincode_name
        if channel != self.ledger.channel_id:
            if step == "evaluate":
                context.abort(
                    grpc.StatusCode.UNAVAILABLE,
                    f"failed to get config for channel [{channel}]: "
                    f"could not get last config for channel {channel}",
                )
            context.abort(
                grpc.StatusCode.FAILED_PRECONDITION,
                "no combination of peers can be derived which satisfy the endorsement policy: "
                f"No metadata was found for chaincode {chaincode} in channel {channel}",
            )
        server = self.chaincode_servers.get(chaincode)
        if server is not None:
            try:
                server.connect()  # a peer launches (for chaincode as a service: dials) it first
            except ChaincodeConnectionError as exc:
                abort(
                    context, grpc.StatusCode.ABORTED,
                    f"failed to {step} transaction, see attached details for more info",
                    f"could not launch chaincode {server.chaincode_id}: {exc}",
                )  # fmt: skip

    # RPCs

    def Evaluate(self, request: gateway_pb2.EvaluateRequest, context: grpc.ServicerContext) -> Any:
        self._stall("Evaluate", context)
        self._plan(request.proposed_transaction, "evaluate", context)
        try:
            unpacked = unpacked_request(request.proposed_transaction, request.transaction_id)
            if unpacked.chaincode_name == "qscc":
                return self._query_qscc(unpacked, context)
            response = self.ledger.evaluate_proposal(request.proposed_transaction)
        except ProposalError as refused:
            abort(
                context,
                grpc.StatusCode.ABORTED,
                "failed to evaluate transaction",
                _refusal(refused, request.proposed_transaction, self.ledger.channel_id),
            )
        if not response.ok:
            abort(
                context, grpc.StatusCode.UNKNOWN, "evaluate call to endorser returned an error",
                f"chaincode response {response.status}, {response.message}",
            )  # fmt: skip
        return gateway_pb2.EvaluateResponse(result=_response(response))

    def _query_qscc(self, proposal: UnpackedProposal, context: grpc.ServicerContext) -> Any:
        """qscc GetChainInfo as a v2.5 peer answers it (the one system query our clients make)."""
        signed = proposal.signed_proposal
        try:
            self.verify_member(proposal.signature_header.creator, signed.proposal_bytes, signed.signature)
        except Refused as refused:
            abort(context, grpc.StatusCode.ABORTED, "failed to evaluate transaction", str(refused))
        args = list(proposal.chaincode_input.args)
        if args[:1] != [b"GetChainInfo"] or len(args) != 2 or args[1] != self.ledger.channel_id.encode():
            function = args[0].decode("utf-8", "replace") if args else ""
            abort(
                context, grpc.StatusCode.UNKNOWN, "evaluate call to endorser returned an error",
                f"chaincode response 500, Requested function {function} not found.",
            )  # fmt: skip
        info = ledger_pb2.BlockchainInfo(height=self.ledger.height)
        response = proposal_response_pb2.Response(status=200, payload=info.SerializeToString())
        return gateway_pb2.EvaluateResponse(result=response)

    def Endorse(self, request: gateway_pb2.EndorseRequest, context: grpc.ServicerContext) -> Any:
        self._stall("Endorse", context)
        self._plan(request.proposed_transaction, "endorse", context)
        try:
            proposal = unpacked_request(request.proposed_transaction, request.transaction_id)
            endorsed = self.ledger.endorse_proposal(request.proposed_transaction)
        except ProposalError as refused:
            abort(
                context,
                grpc.StatusCode.ABORTED,
                "failed to endorse transaction",
                _refusal(refused, request.proposed_transaction, self.ledger.channel_id),
            )
        except EndorsementError as failed:
            abort(
                context, grpc.StatusCode.ABORTED, "failed to endorse transaction, see attached details",
                f"chaincode response {failed.response.status}, {failed.response.message}",
            )  # fmt: skip
        with self._lock:
            self._pending[request.transaction_id] = endorsed
        prepared = prepared_envelope(proposal, endorsed, self.peer_identity)
        return gateway_pb2.EndorseResponse(prepared_transaction=prepared)

    def Submit(self, request: gateway_pb2.SubmitRequest, context: grpc.ServicerContext) -> Any:
        self._stall("Submit", context)
        envelope = request.prepared_transaction
        try:
            payload = common_pb2.Payload.FromString(envelope.payload)
            signature_header = common_pb2.SignatureHeader.FromString(payload.header.signature_header)
            channel_header = common_pb2.ChannelHeader.FromString(payload.header.channel_header)
            self.verify_member(signature_header.creator, envelope.payload, envelope.signature)
            if channel_header.tx_id != request.transaction_id:
                raise Refused("the request's transaction id differs from the envelope's")
        except Refused as refused:
            abort(
                context, grpc.StatusCode.ABORTED, "failed to submit transaction to the orderer", str(refused)
            )
        with self._lock:
            self.submissions.append(request.transaction_id)
            if self.lose_next_submits > 0:
                # An orderer that said yes and died before ordering it: no block will ever hold it.
                self.lose_next_submits -= 1
                return gateway_pb2.SubmitResponse()
            if request.transaction_id in self._envelope_of:
                # Fabric's orderers order a second copy too; the peers mark it DUPLICATE_TXID, and the
                # transaction's status stays the first copy's.
                return gateway_pb2.SubmitResponse()
            endorsed = self._pending.pop(request.transaction_id, None)
        if endorsed is None:
            abort(context, grpc.StatusCode.FAILED_PRECONDITION, "unknown transaction", "not endorsed here")
        hooks, self.before_next_commits[:] = list(self.before_next_commits), []
        for hook in hooks:
            hook()
        self.ledger.commit([endorsed])
        with self._lock:
            self._envelope_of[endorsed.tx_id] = envelope
            self._lock.notify_all()
        return gateway_pb2.SubmitResponse()

    def CommitStatus(
        self, request: gateway_pb2.SignedCommitStatusRequest, context: grpc.ServicerContext
    ) -> Any:
        self._stall("CommitStatus", context)
        inner = gateway_pb2.CommitStatusRequest.FromString(request.request)
        try:
            self._check_request(inner.identity, request.request, request.signature, inner.channel_id)
        except Refused as refused:
            abort(context, grpc.StatusCode.PERMISSION_DENIED, "commit status request refused", str(refused))
        # As a peer: wait until the transaction is committed, however it reached the ledger.
        record = self.ledger.transaction_status(inner.transaction_id)
        while record is None and context.is_active():
            with self._lock:
                self._lock.wait(0.05)
            record = self.ledger.transaction_status(inner.transaction_id)
        if record is None:
            abort(context, grpc.StatusCode.DEADLINE_EXCEEDED, "not committed", "transaction not committed")
        return gateway_pb2.CommitStatusResponse(result=record.validation_code, block_number=record.block_num)

    def ChaincodeEvents(
        self, request: gateway_pb2.SignedChaincodeEventsRequest, context: grpc.ServicerContext
    ) -> Iterator[gateway_pb2.ChaincodeEventsResponse]:
        inner = gateway_pb2.ChaincodeEventsRequest.FromString(request.request)
        try:
            self._check_request(inner.identity, request.request, request.signature, inner.channel_id)
        except Refused as refused:
            abort(context, grpc.StatusCode.PERMISSION_DENIED, "events request refused", str(refused))
        start = self._events_start_block(inner, context)
        # As Fabric's gateway: with a checkpointed transaction, skip every event up to and including it.
        passed_checkpoint = not inner.after_transaction_id
        next_block = start
        while context.is_active():
            height = self.ledger.height
            by_block: dict[int, list[chaincode_event_pb2.ChaincodeEvent]] = {}
            for record in self.ledger.chaincode_events(inner.chaincode_id, next_block):
                if record.block_num >= height:
                    break
                event = chaincode_event_pb2.ChaincodeEvent(
                    chaincode_id=record.chaincode_name,
                    tx_id=record.tx_id,
                    event_name=record.name,
                    payload=record.payload,
                )
                if not passed_checkpoint:
                    passed_checkpoint = event.tx_id == inner.after_transaction_id
                    continue
                by_block.setdefault(record.block_num, []).append(event)
            for number in sorted(by_block):
                yield gateway_pb2.ChaincodeEventsResponse(events=by_block[number], block_number=number)
            next_block = max(next_block, height)
            with self._lock:
                self._lock.wait(0.05)

    def _events_start_block(
        self, inner: gateway_pb2.ChaincodeEventsRequest, context: grpc.ServicerContext
    ) -> int:
        """Where Fabric's gateway starts: the checkpointed transaction's block when it is known, else
        the given block, else (no position, or next-commit) the next block; other positions are refused."""
        if inner.after_transaction_id:
            record = self.ledger.transaction_status(inner.after_transaction_id)
            if record is not None:
                return int(record.block_num)
        position = inner.start_position
        kind = position.WhichOneof("Type")
        if kind == "specified":
            return int(position.specified.number)
        if kind in (None, "next_commit"):
            return int(self.ledger.height)
        context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"invalid start position type: {kind}")
        raise AssertionError("unreachable")


def _response(response: Any) -> proposal_response_pb2.Response:
    return proposal_response_pb2.Response(
        status=response.status, message=response.message, payload=response.payload
    )


@dataclass
class RunningGateway:
    target: str
    double: GatewayDouble
    server: grpc.Server

    def stop(self) -> None:
        self.server.stop(grace=None)


def serve(
    ledger: EmbeddedLedger, tls: TlsMaterial, *, require_client_auth: bool = False, port: int = 0
) -> RunningGateway:
    """Start the double (Gateway and Deliver) on 127.0.0.1 with TLS; the kernel picks the port unless
    `port` is given (a peer restarted on its own port)."""
    from deliver_double import DeliverDouble  # imported here: deliver_double imports this module

    double = GatewayDouble(ledger)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
    gateway_pb2_grpc.add_GatewayServicer_to_server(double, server)
    events_pb2_grpc.add_DeliverServicer_to_server(DeliverDouble(double), server)
    credentials = grpc.ssl_server_credentials(
        [(tls.server.key_pem, tls.server.certificate_pem)],
        root_certificates=tls.ca_pem if require_client_auth else None,
        require_client_auth=require_client_auth,
    )
    port = server.add_secure_port(f"127.0.0.1:{port}", credentials)
    server.start()
    return RunningGateway(f"127.0.0.1:{port}", double, server)


def _refusal(error: ProposalError, signed: proposal_pb2.SignedProposal, channel: str) -> str:
    # The endorser wraps every failed check so (core/endorser/endorser.go preProcess). An identity or
    # signature failure tells the client only who was refused: the reason is in the peer's log alone.
    if isinstance(error, IdentityError):
        try:
            creator = unpack_proposal(signed).creator
            msp_id = identities_pb2.SerializedIdentity.FromString(creator).mspid
        except ProposalError:
            msp_id = ""
        return f"error validating proposal: access denied: channel [{channel}] creator org [{msp_id}]"
    return f"error validating proposal: {error}"
