"""The stub refuses the proposals the Go shim refuses (shim/stub.go newChaincodeStub)."""

from __future__ import annotations

import pytest
from fabric_protos.common import common_pb2
from fabric_protos.peer import chaincode_pb2, proposal_pb2
from fabric_shim.stub import ChaincodeStub


class NoPeer:
    """The stub must not talk to the peer while it reads the proposal."""

    def call(self, msg_type: int, payload: bytes, channel_id: str, txid: str) -> bytes:
        raise AssertionError("no peer call expected")


def signed_proposal(header_type: int | None) -> proposal_pb2.SignedProposal:
    header = b""
    if header_type is not None:
        channel_header = common_pb2.ChannelHeader(type=header_type, channel_id="ch", tx_id="tx")
        header = common_pb2.Header(
            channel_header=channel_header.SerializeToString(),
            signature_header=common_pb2.SignatureHeader(creator=b"c", nonce=b"n").SerializeToString(),
        ).SerializeToString()
    proposal = proposal_pb2.Proposal(header=header)
    return proposal_pb2.SignedProposal(proposal_bytes=proposal.SerializeToString())


def make_stub(proposal: proposal_pb2.SignedProposal) -> ChaincodeStub:
    return ChaincodeStub(NoPeer(), "ch", "tx", chaincode_pb2.ChaincodeInput(args=[b"fn"]), proposal)


@pytest.mark.parametrize("accepted", [common_pb2.ENDORSER_TRANSACTION, common_pb2.CONFIG])
def test_endorser_and_config_headers_are_accepted(accepted: int) -> None:
    assert make_stub(signed_proposal(accepted)).creator == b"c"


@pytest.mark.parametrize("refused", [common_pb2.MESSAGE, common_pb2.ORDERER_TRANSACTION, 42])
def test_other_channel_header_types_are_refused(refused: int) -> None:
    with pytest.raises(ValueError, match="channel header type"):
        make_stub(signed_proposal(refused))


def test_a_proposal_without_header_is_refused() -> None:
    with pytest.raises(ValueError, match="no header"):
        make_stub(signed_proposal(None))
