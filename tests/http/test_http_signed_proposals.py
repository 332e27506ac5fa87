"""The two-request flow (`POST /v1/signed-proposals`): the app builds and signs the proposal itself.

The security tests of the three-step flow, for this route: a signature by any other key or over other
bytes is refused before the ledger, a replay answers the first outcome and moves coins once, a proposal
the peer would refuse is a 400 that changes nothing. (Paying from another's balance and malformed or
oversized bodies: test_http_security.py, over both flows.)
"""

from __future__ import annotations

import base64

import pytest
from fabric_protos.common import common_pb2
from fabric_protos.peer import proposal_pb2
from flows import balance, transact_signed
from http_service import Served, state_of
from seocho_http.problems import Problem
from test_http_residents import pay


def target(served: Served) -> tuple[str, str]:
    answered = served.client.get("/v1/proposal-target").json()
    return answered["channel"], answered["chaincode"]


def test_the_target_names_the_ledgers_channel_and_chaincode_and_the_signable_transactions(
    served: Served,
) -> None:
    answered = served.client.get("/v1/proposal-target").json()
    assert (answered["channel"], answered["chaincode"]) == (served.world.ledger.channel_id, "seocho")
    assert {"pay", "donate", "pay_request"} <= set(answered["transactions"])
    assert "get_balance" not in answered["transactions"]


def test_a_resident_pays_in_two_requests_and_the_submission_answers_the_commit(served: Served) -> None:
    client, phone = served.client, served.world.phones["M-0001"]
    before, height = balance(client, phone), served.world.ledger.height
    submitted, _ = transact_signed(client, phone, pay("M-0001", 2, "PAY-2STEP"))
    assert submitted.status_code == 200, submitted.text
    outcome = submitted.json()
    assert outcome["status"] == "committed" and outcome["validation_code"] == "VALID"
    assert outcome["result"]["coins"] == 2
    assert client.get(f"/v1/transactions/{outcome['transaction_id']}").json() == outcome
    assert balance(client, phone) == before - 2 and served.world.ledger.height == height + 1


def test_a_signature_by_another_key_or_over_other_bytes_is_refused_before_the_ledger(
    served: Served,
) -> None:
    client, owner, other = served.client, served.world.phones["M-0001"], served.world.phones["M-0002"]
    before, height = state_of(served), served.world.ledger.height
    proposal = owner.built_proposal(*target(served), pay("M-0001", 1, "PAY-FORGED"))
    encoded = base64.b64encode(proposal).decode()
    other_bytes = base64.b64encode(owner.built_proposal(*target(served), pay("M-0001", 1, "PAY-X"))).decode()
    for signature in (other.sign(encoded), owner.sign(other_bytes)):
        forged = client.post("/v1/signed-proposals", json={"proposal": encoded, "signature": signature})
        assert forged.status_code == 400 and forged.json()["code"] == "bad_signature"
    # The endorsement is signed right, the transaction by another key: refused, nothing committed.
    endorsed = client.post("/v1/signed-proposals", json=owner.signed_proposal(proposal)).json()
    bad = client.post(endorsed["next"], json={"signature": other.sign(endorsed["to_sign"])})
    assert bad.status_code == 400 and bad.json()["code"] == "bad_signature"
    assert served.world.ledger.height == height and state_of(served) == before


def test_a_replayed_signed_proposal_gets_the_same_endorsement_then_the_first_outcome(served: Served) -> None:
    client, phone = served.client, served.world.phones["M-0001"]
    before = balance(client, phone)
    body = phone.signed_proposal(phone.built_proposal(*target(served), pay("M-0001", 2, "PAY-REPLAY")))
    first = client.post("/v1/signed-proposals", json=body)
    again = client.post("/v1/signed-proposals", json=body)
    assert first.status_code == again.status_code == 201 and first.json() == again.json()
    step = first.json()
    submission = {"signature": phone.sign(step["to_sign"])}
    submitted = client.post(step["next"], json=submission)
    assert client.post(step["next"], json=submission).json() == submitted.json()
    assert submitted.json()["status"] == "committed"
    replayed = client.post("/v1/signed-proposals", json=body)
    assert replayed.status_code == 409 and replayed.json()["code"] == "wrong_step"
    assert balance(client, phone) == before - 2


def test_a_replay_racing_its_own_submission_gets_no_second_endorsement(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The replay's checks pass while the first endorsement waits; its submission commits (and records,
    and drops the waiting item) just before the replay's item is added: the replay is a 409."""
    client, phone = served.client, served.world.phones["M-0001"]
    body = phone.signed_proposal(phone.built_proposal(*target(served), pay("M-0001", 1, "PAY-RACE")))
    step = client.post("/v1/signed-proposals", json=body).json()
    pending = served.client.app.state.service.pending  # type: ignore[attr-defined]
    add_or_get, submitted = pending.add_or_get, []

    def submission_first(item: object) -> object:
        submitted.append(client.post(step["next"], json={"signature": phone.sign(step["to_sign"])}))
        return add_or_get(item)

    monkeypatch.setattr(pending, "add_or_get", submission_first)
    replayed = client.post("/v1/signed-proposals", json=body)
    assert submitted[0].json()["status"] == "committed"
    assert replayed.status_code == 409 and replayed.json()["code"] == "wrong_step", replayed.text
    with pytest.raises(Problem, match="no proposal of that id waits"):  # the replay's item is gone too
        pending.get(step["transaction_id"], "transaction")


def _with_channel_header(proposal: bytes, **fields: object) -> bytes:
    parsed = proposal_pb2.Proposal.FromString(proposal)
    header = common_pb2.Header.FromString(parsed.header)
    channel_header = common_pb2.ChannelHeader.FromString(header.channel_header)
    for name, value in fields.items():
        setattr(channel_header, name, value)
    header.channel_header = channel_header.SerializeToString()
    parsed.header = header.SerializeToString()
    return parsed.SerializeToString()


def test_proposals_the_peer_would_refuse_are_400_and_change_nothing(served: Served) -> None:
    client, phone = served.client, served.world.phones["M-0001"]
    channel, chaincode = target(served)
    before, height = state_of(served), served.world.ledger.height
    good = phone.built_proposal(channel, chaincode, pay("M-0001", 1, "PAY-BAD"))
    earn = {"name": "earn", "member_id": "M-0001", "activity": "volunteer_hour", "quantity": 1,
            "evidence_hash": "ab" * 32, "request_id": "X-1"}  # fmt: skip
    refused = {  # each case's proposal, and the words of the check that refuses it
        "another channel": (phone.built_proposal("elsewhere", chaincode, pay("M-0001", 1, "PAY-C")),
                            "channel 'elsewhere' not found"),
        "another chaincode": (phone.built_proposal(channel, "other", pay("M-0001", 1, "PAY-D")),
                              "the proposal is for chaincode 'other'"),
        "a query": (phone.built_proposal(channel, chaincode, {"name": "get_balance", "member_id": "M-0001"}),
                    "a signed proposal calls one of"),
        "a staff transaction": (phone.built_proposal(channel, chaincode, earn),
                                "a signed proposal calls one of"),
        "a tx id not of its nonce and creator": (_with_channel_header(good, tx_id="ab" * 32),
                                                 "incorrectly computed txid"),
        "not a proposal": (b"\xff\x00garbage", "malformed proposal"),
    }  # fmt: skip
    for what, (proposal, because) in refused.items():
        answered = client.post("/v1/signed-proposals", json=phone.signed_proposal(proposal))
        assert answered.status_code == 400, what
        assert answered.headers["content-type"] == "application/problem+json", what
        assert because in answered.json()["detail"], (what, answered.json()["detail"])
    assert served.world.ledger.height == height and state_of(served) == before


@pytest.mark.parametrize("field", ["proposal", "signature"])
def test_base64_with_bad_padding_is_a_malformed_body_and_changes_nothing(served: Served, field: str) -> None:
    before = state_of(served)
    answered = served.client.post(
        "/v1/signed-proposals", json={"proposal": "AA==", "signature": "AA==", field: "AAA"}
    )
    assert answered.status_code == 400 and answered.json()["code"] == "malformed_body"
    assert answered.json()["detail"] == f"the {field} is not base64"
    assert state_of(served) == before
