"""Two requests per payment for apps that build the proposal themselves (the SDK, a terminal's library).

The wallet page's flow takes three requests (operation -> proposal bytes; signed proposal -> transaction
bytes; signed transaction -> outcome). An app that can build Fabric's Proposal itself sends it already
signed, and gets the transaction bytes to sign in the same answer; the submission is the same route as
in the three-step flow, and it answers after the commit, so no status poll is needed.

The security model is the same: the service holds no resident key, and it checks what it passes on as
the peer would — every header of the proposal (channel, chaincode, tx id = SHA-256(nonce ‖ creator)),
that it calls a transaction residents may sign, and the signature by the creator's certificate — before
anything reaches the ledger. The same signed proposal sent again gets the same endorsement while it waits
for its signature; once submitted, a 409 points to its outcome (the tx id commits at most once).
"""

from __future__ import annotations

from embedded_ledger import ProposalError, unpack_proposal
from fabric_protos.peer import proposal_pb2
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from seocho_http.coverage import RESIDENT_OPERATIONS
from seocho_http.links import ENDORSED, with_links
from seocho_http.pending import Pending
from seocho_http.problems import Problem
from seocho_http.routes_residents import TX_SCOPE, decoded, endorsement_of
from seocho_http.schemas import QUERIES, Endorsement, ProposalTarget, SignedProposalRequest
from seocho_http.service import Service, in_workers, problem_responses
from seocho_http.signatures import check_signature

router = APIRouter(prefix="/v1", tags=["residents"])
SIGNABLE = tuple(sorted(set(RESIDENT_OPERATIONS) - QUERIES))


@router.get("/proposal-target", response_model=ProposalTarget)
def proposal_target(request: Request) -> ProposalTarget:
    """The channel and chaincode a proposal sent to `POST /v1/signed-proposals` must name."""
    service: Service = request.app.state.service
    channel, chaincode = service.upstream.target()
    return ProposalTarget(channel=channel, chaincode=chaincode, transactions=list(SIGNABLE))


@router.post(
    "/signed-proposals",
    status_code=201,
    response_model=Endorsement,
    responses=with_links(problem_responses(400, 403, 409, 429, 503), 201, **ENDORSED),
)
async def endorse_signed_proposal(body: SignedProposalRequest, request: Request) -> Response:
    """Endorse a proposal the app built and the resident signed; sign `to_sign` (the transaction) and POST
    it to `next`. Two requests per transaction instead of three."""
    return await in_workers(request, _endorse_signed_proposal, body, request)


def _endorse_signed_proposal(body: SignedProposalRequest, request: Request) -> Response:
    service: Service = request.app.state.service
    message, signature = decoded(body.proposal, "proposal"), decoded(body.signature, "signature")
    channel, chaincode = service.upstream.target()
    try:
        unpacked = unpack_proposal(proposal_pb2.SignedProposal(proposal_bytes=message, signature=signature))
        unpacked.validate_headers(channel)
    except ProposalError as exc:
        raise Problem("bad_request", str(exc).splitlines()[0][:200]) from None
    if unpacked.chaincode_name != chaincode:
        raise Problem("bad_request", f"the proposal is for chaincode {unpacked.chaincode_name[:64]!r}")
    if unpacked.function not in SIGNABLE:
        raise Problem("bad_request", f"a signed proposal calls one of: {', '.join(SIGNABLE)}")
    creator, transaction_id = unpacked.creator, unpacked.tx_id
    service.limit_certificate(creator)
    check_signature(creator, message, signature)
    item = Pending(creator, "transaction", service.upstream.adopt(transaction_id, message))
    waiting = service.pending.add_or_get(item)
    # Checked after the add: a replay racing its own submission either finds the item still waiting (and
    # gets its one endorsement) or, the submission having recorded before it dropped, finds the record.
    if waiting is item and service.store.recorded(TX_SCOPE, transaction_id) is not None:
        service.pending.drop(transaction_id)
        raise Problem("wrong_step", f"submitted already: see /v1/transactions/{transaction_id}")
    if waiting.proposed.message != message:  # same tx id, other bytes: not a retry of this proposal
        raise Problem("wrong_step", "another proposal with this transaction id waits for its signature")
    return JSONResponse(endorsement_of(service, waiting, signature), status_code=201)
