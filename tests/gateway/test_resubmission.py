"""The SDK offers the same signed transaction again when no commit status comes (an orderer died with it).

On the double: an orderer that accepts a submission and loses it (`lose_next_submits`), as a Raft leader
SIGKILLed after taking a transaction does. The fault suite measures the same on the real network.
"""

from __future__ import annotations

import uuid

import pytest
from asset_chaincode import CHAINCODE_NAME
from gateway_double import GatewayDouble
from gateway_target import GatewayTarget
from seocho.errors import OutcomeUnknownError
from seocho.gateway_backend import GatewayBackend


def _backend(gateway_target: GatewayTarget, gateway, **patience: float) -> GatewayBackend:  # type: ignore[no-untyped-def]
    contract = gateway.get_network(gateway_target.channel).get_contract(CHAINCODE_NAME)
    return GatewayBackend(contract, **patience)


def test_a_lost_submission_is_offered_again_and_commits_once(
    gateway_target: GatewayTarget, double: GatewayDouble
) -> None:
    key = f"k-{uuid.uuid4().hex[:12]}"
    double.lose_next_submits = 2
    with gateway_target.connect() as gateway:
        backend = _backend(gateway_target, gateway, resubmit_after=0.5, commit_patience=30.0)
        backend.submit("put", [key, "v"])
        tx_id = backend.last_transaction_id
        assert backend.resubmissions == 2
        # The same transaction id, offered three times; it committed once, VALID.
        assert double.submissions.count(tx_id) == 3
        status = double.ledger.transaction_status(tx_id)
        assert status is not None and status.validation_code == 0
        contract = gateway.get_network(gateway_target.channel).get_contract(CHAINCODE_NAME)
        assert contract.evaluate_transaction("get", key) == b"v"


def test_a_resubmission_of_a_committed_transaction_does_not_commit_it_again(
    gateway_target: GatewayTarget,
) -> None:
    """What resubmitting relies on, on the double and on the real peer: the same signed envelope submitted
    again after it committed changes nothing (Fabric invalidates the copy as DUPLICATE_TXID), and its
    status stays the first commit's."""
    key = f"k-{uuid.uuid4().hex[:12]}"
    with gateway_target.connect() as gateway:
        contract = gateway.get_network(gateway_target.channel).get_contract(CHAINCODE_NAME)
        transaction = contract.new_proposal("increment", key).endorse()
        first = transaction.submit().status()
        assert first.successful
        again = transaction.submit().status()  # the same signed envelope
        # A later transaction commits after the copy's block, so the copy has been validated by then.
        contract.submit_transaction("put", f"{key}-after", "x")
        assert again == first
        assert contract.evaluate_transaction("get", key) == b"1"


def test_without_a_commit_the_outcome_is_unknown_when_the_patience_ends(
    gateway_target: GatewayTarget, double: GatewayDouble
) -> None:
    double.lose_next_submits = 1_000
    with gateway_target.connect() as gateway:
        backend = _backend(gateway_target, gateway, resubmit_after=0.5, commit_patience=2.0)
        with pytest.raises(OutcomeUnknownError) as unknown:
            backend.submit("put", [f"k-{uuid.uuid4().hex[:12]}", "v"])
    double.lose_next_submits = 0
    assert unknown.value.tx_id == backend.last_transaction_id
    assert backend.resubmissions >= 2
    assert double.ledger.transaction_status(backend.last_transaction_id) is None
