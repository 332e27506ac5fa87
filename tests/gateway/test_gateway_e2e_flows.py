"""End to end: offline signing, refused signatures, MVCC conflicts and retry, events, timeouts."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path

import fabric_gateway as fg
import grpc
import pytest
from background import repeat_until
from cryptography.hazmat.primitives.asymmetric import ec
from fabric_protos.common import common_pb2
from fabric_protos.gateway import gateway_pb2
from fabric_protos.peer import proposal_pb2
from gateway_double import GatewayDouble
from gateway_target import GatewayTarget


def _key() -> str:
    return f"k-{uuid.uuid4().hex[:12]}"


def test_offline_signing_of_every_step(gateway_target: GatewayTarget) -> None:
    """A service without the key builds requests; the key holder signs digests; the service sends."""
    key = _key()
    with gateway_target.connect(signer=None) as service:
        network = service.get_network(gateway_target.channel)
        contract = network.get_contract(gateway_target.chaincode)

        unsigned = contract.new_proposal("put", key, "offline")
        assert not unsigned.signed
        with pytest.raises(fg.MissingSignerError):
            unsigned.endorse()
        proposal = network.new_signed_proposal(unsigned.bytes(), gateway_target.signer(unsigned.digest()))
        assert proposal.transaction_id == unsigned.transaction_id

        endorsed = proposal.endorse()
        transaction = network.new_signed_transaction(
            endorsed.bytes(), gateway_target.signer(endorsed.digest())
        )
        assert transaction.result == b"offline"

        submitted = transaction.submit()
        commit = network.new_signed_commit(submitted.bytes(), gateway_target.signer(submitted.digest()))
        assert commit.status().successful

        query = contract.new_proposal("get", key)
        signed_query = network.new_signed_proposal(query.bytes(), gateway_target.signer(query.digest()))
        assert signed_query.evaluate() == b"offline"


def test_a_signature_by_another_key_is_refused(gateway_target: GatewayTarget) -> None:
    impostor = fg.new_private_key_signer(ec.generate_private_key(ec.SECP256R1()))
    with gateway_target.connect(signer=None) as service:
        network = service.get_network(gateway_target.channel)
        unsigned = network.get_contract(gateway_target.chaincode).new_proposal("put", _key(), "x")
        forged = network.new_signed_proposal(unsigned.bytes(), impostor(unsigned.digest()))
        with pytest.raises(fg.EndorseError) as raised:
            forged.endorse()
    assert raised.value.code == grpc.StatusCode.ABORTED
    assert raised.value.transaction_id == unsigned.transaction_id
    # As a Fabric peer answers: who was refused, never why (the reason is only in the peer's log).
    creator_org = gateway_target.identity.msp_id
    assert raised.value.details
    assert f"access denied: channel [{gateway_target.channel}] creator org [{creator_org}]" in (
        raised.value.details[0].message
    )


def test_a_transaction_id_not_derived_from_nonce_and_creator_is_refused(
    gateway_target: GatewayTarget,
) -> None:
    creator = gateway_target.identity.serialize()
    proposal, _ = fg.build_proposal(creator, gateway_target.channel, gateway_target.chaincode, "get", ["x"])
    header = common_pb2.Header.FromString(proposal.header)
    channel_header = common_pb2.ChannelHeader.FromString(header.channel_header)
    channel_header.tx_id = "0" * 64
    header.channel_header = channel_header.SerializeToString()
    proposal.header = header.SerializeToString()
    proposal_bytes = proposal.SerializeToString()
    signed = proposal_pb2.SignedProposal(
        proposal_bytes=proposal_bytes, signature=gateway_target.signer(fg.signing.sha256(proposal_bytes))
    )
    with gateway_target.connect() as gateway:
        network = gateway.get_network(gateway_target.channel)
        proposed = gateway_pb2.ProposedTransaction(transaction_id="0" * 64, proposal=signed)
        with pytest.raises(fg.EvaluateError) as raised:
            network.new_signed_proposal(proposed.SerializeToString(), signed.signature).evaluate()
    # Fabric (core/endorser/msgvalidation.go) says "incorrectly computed txid ... -- expected ..."
    assert any("txid" in d.message.lower() for d in raised.value.details)


def test_concurrent_updates_of_one_key_surface_as_mvcc_conflict(contract: fg.Contract) -> None:
    key = _key()
    first = contract.new_proposal("increment", key).endorse()
    second = contract.new_proposal("increment", key).endorse()
    assert first.submit().status().successful
    status = second.submit().status()
    assert not status.successful
    assert status.code_name == "MVCC_READ_CONFLICT"
    assert contract.evaluate_transaction("get", key) == b"1"


def test_mvcc_conflict_raises_commit_error_and_opt_in_retry_succeeds(
    contract: fg.Contract, double: GatewayDouble
) -> None:
    key = _key()
    rival = double.ledger.identities.enroll("rival", "Org1MSP")

    def rival_increments() -> None:  # another client commits between our endorsement and our commit
        double.ledger.submit(rival, contract.chaincode_name, "increment", [key])

    double.before_next_commits.append(rival_increments)
    with pytest.raises(fg.CommitError) as raised:
        contract.submit_transaction("increment", key)
    assert raised.value.code_name == "MVCC_READ_CONFLICT"
    assert raised.value.tx_id

    double.before_next_commits.append(rival_increments)
    assert contract.submit_transaction("increment", key, retry_on_mvcc_conflict=2) == b"3"
    assert contract.evaluate_transaction("get", key) == b"3"


def test_events_resume_from_a_file_checkpoint_after_a_restart(
    gateway_target: GatewayTarget, tmp_path: Path
) -> None:
    checkpoint_file = tmp_path / "checkpoint.json"
    key = _key()
    with gateway_target.connect() as gateway:
        network = gateway.get_network(gateway_target.channel)
        contract = network.get_contract(gateway_target.chaincode)
        start = contract.submit_async("put", key, "0").get_status().block_number
        for value in ("1", "2", "3"):
            contract.submit_transaction("put", key, value)

        checkpointer = fg.FileCheckpointer(checkpoint_file)
        seen: list[bytes] = []
        with network.chaincode_events(gateway_target.chaincode, start_block=start, timeout=10) as events:
            for event in events:
                if not event.payload.startswith(key.encode()):
                    continue
                seen.append(event.payload)
                checkpointer.checkpoint_chaincode_event(event)
                if len(seen) == 2:
                    break  # the listener stops (crashes) after two events
    assert seen == [f"{key}=0".encode(), f"{key}=1".encode()]

    with gateway_target.connect() as restarted:  # a new process: only the file remains
        network = restarted.get_network(gateway_target.channel)
        resumed = fg.FileCheckpointer(checkpoint_file)
        assert resumed.block_number is not None and resumed.transaction_id
        later: list[bytes] = []
        # Resuming replays from the checkpoint, so a write made now is heard whenever the stream starts.
        network.get_contract(gateway_target.chaincode).submit_transaction("put", key, "4")
        with network.chaincode_events(gateway_target.chaincode, checkpoint=resumed, timeout=10) as events:
            for event in events:
                if event.payload.startswith(key.encode()):
                    later.append(event.payload)
                    resumed.checkpoint_chaincode_event(event)
                if len(later) == 3:
                    break
    assert later == [f"{key}={v}".encode() for v in ("2", "3", "4")]


def test_events_from_newest_see_only_new_transactions(contract: fg.Contract, gateway: fg.Gateway) -> None:
    key = _key()
    contract.submit_transaction("put", key, "old")
    network = gateway.get_network(contract.channel_id)
    with network.chaincode_events(contract.chaincode_name, timeout=10) as events:
        heard = threading.Event()
        writer = repeat_until(heard, lambda n: contract.submit_transaction("put", key, f"new-{n}"))
        event = next(e for e in events if e.payload.startswith(f"{key}=".encode()))
        heard.set()
        written = writer.join()
    # The first event heard is one of the new writes, never the one committed before the stream began.
    assert event.payload in {f"{key}=new-{n}".encode() for n in range(1, written + 1)}
    assert event.event_name == "put" and event.chaincode_name == contract.chaincode_name


@pytest.mark.parametrize("step", ["Evaluate", "Endorse", "Submit", "CommitStatus"])
def test_each_step_honours_its_timeout(
    gateway_target: GatewayTarget, double: GatewayDouble, step: str
) -> None:
    double.stall_seconds[step] = 3.0
    timeouts = fg.Timeouts(evaluate=0.3, endorse=0.3, submit=0.3, commit_status=0.3)
    with gateway_target.connect(timeouts=timeouts) as gateway:
        contract = gateway.get_network(gateway_target.channel).get_contract(gateway_target.chaincode)
        with pytest.raises(fg.GatewayError) as raised:
            if step == "Evaluate":
                contract.evaluate_transaction("get", "x")
            else:
                contract.submit_transaction("put", _key(), "v")
    assert raised.value.code == grpc.StatusCode.DEADLINE_EXCEEDED
    expected = {
        "Evaluate": fg.EvaluateError,
        "Endorse": fg.EndorseError,
        "Submit": fg.SubmitError,
        "CommitStatus": fg.CommitStatusError,
    }[step]
    # The step's own error class: its timeout fired, not a later step's.
    assert isinstance(raised.value, expected)
