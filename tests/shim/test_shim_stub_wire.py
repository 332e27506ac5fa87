"""Stub operations as the peer sees them on the wire, answered by the peer double's world state."""

from __future__ import annotations

import datetime
import hashlib
import json
import struct
from collections.abc import Callable
from typing import Any

import pytest
from fabric_protos.common import common_pb2
from fabric_protos.ledger.queryresult import kv_query_result_pb2
from fabric_protos.msp import identities_pb2
from fabric_protos.peer import chaincode_pb2, chaincode_shim_pb2, proposal_pb2, proposal_response_pb2
from fabric_shim.chaincode import Response, success
from fabric_shim.cid import ClientIdentity
from fabric_shim.stub import ChaincodeStub
from google.protobuf.timestamp_pb2 import Timestamp
from peer_double import Message, PeerDouble, WorldState, response_of
from shim_pki import common_name, issue, make_ca

Script = Callable[[ChaincodeStub], Any]


class ScriptChaincode:
    """Runs the script the test sets and returns its result as JSON; errors go back as text."""

    def __init__(self) -> None:
        self.script: Script = lambda stub: None

    def init(self, stub: ChaincodeStub) -> Response:
        return success()

    def invoke(self, stub: ChaincodeStub) -> Response:
        try:
            result = self.script(stub)
        except ValueError as exc:
            return Response(status=400, message=f"{type(exc).__name__}: {exc}")
        return success(json.dumps(result).encode())


@pytest.fixture
def run(serve, connect) -> Callable[..., Any]:
    chaincode = ScriptChaincode()
    peer: PeerDouble = connect(serve(chaincode))
    peer.handshake()
    counter = iter(range(10_000))

    def run_script(script: Script, world: WorldState, **kwargs: Any) -> Any:
        chaincode.script = script
        response = response_of(peer.transact(world, [b"script"], txid=f"tx{next(counter)}", **kwargs))
        if response.status != 200:
            return ("error", response.status, response.message)
        return json.loads(response.payload)

    return run_script


def keys_of(iterator: Any) -> list[str]:
    with iterator:
        return [kv.key for kv in iterator]


def test_state_round_trip_and_absent_key(run) -> None:
    world = WorldState()

    def script(stub: ChaincodeStub) -> Any:
        stub.put_state("k", b"v")
        before = stub.get_state("k")
        stub.del_state("k")
        return [before.decode(), stub.get_state("k"), stub.get_state("never")]

    assert run(script, world) == ["v", None, None]
    assert world.requests_of(Message.DEL_STATE)


@pytest.mark.parametrize(
    ("script", "message"),
    [
        (lambda stub: stub.put_state("", b"v"), "key must not be empty"),
        (lambda stub: stub.put_state("k", b""), "value must not be empty"),
        (lambda stub: stub.get_state_by_range("\x00a", ""), "U+0000"),
        (lambda stub: stub.get_state_by_range_with_pagination("a", "b", 0), "page size"),
        (lambda stub: stub.get_query_result_with_pagination("q", -1), "page size"),
        (lambda stub: stub.get_private_data("", "k"), "collection"),
        (lambda stub: stub.set_event("", b"x"), "event name"),
        (lambda stub: stub.create_composite_key("t", ["a\x00b"]), "U+0000"),
        (lambda stub: stub.get_state_by_partial_composite_key("", []), "object type"),
        (lambda stub: stub.split_composite_key("plain"), "not a composite key"),
    ],
)
def test_invalid_requests_are_rejected_before_reaching_the_peer(run, script, message) -> None:
    world = WorldState()
    status = run(script, world)
    assert status[:2] == ("error", 400)
    assert message in status[2]
    assert world.requests == []


def test_plain_range_skips_composite_keys_and_pages_with_query_state_next(run) -> None:
    world = WorldState(state={f"k{i}": b"v" for i in range(5)})
    world.state["\x00color\x00red\x00"] = b"composite"
    assert run(lambda stub: keys_of(stub.get_state_by_range("", "")), world) == [f"k{i}" for i in range(5)]
    (by_range,) = world.requests_of(Message.GET_STATE_BY_RANGE)
    assert chaincode_shim_pb2.GetStateByRange.FromString(by_range.payload).startKey == "\x01"
    assert len(world.requests_of(Message.QUERY_STATE_NEXT)) == 2  # batches of 2 -> 3 batches
    assert world.requests_of(Message.QUERY_STATE_CLOSE) == []  # fully read: the peer already released it


def test_closing_an_unfinished_iterator_sends_query_state_close(run) -> None:
    world = WorldState(state={f"k{i}": b"v" for i in range(5)})

    def script(stub: ChaincodeStub) -> Any:
        with stub.get_state_by_range("k0", "k9") as iterator:
            return next(iterator).key

    assert run(script, world) == "k0"
    (close,) = world.requests_of(Message.QUERY_STATE_CLOSE)
    assert chaincode_shim_pb2.QueryStateClose.FromString(close.payload).id.startswith("iter-")
    assert world.open_iterators == set()


def test_pagination_with_bookmarks(run) -> None:
    world = WorldState(state={f"k{i}": f"v{i}".encode() for i in range(5)})

    def page(bookmark: str) -> Script:
        def script(stub: ChaincodeStub) -> Any:
            iterator, meta = stub.get_state_by_range_with_pagination("", "", 3, bookmark)
            return [keys_of(iterator), meta.fetched_records_count, meta.bookmark]

        return script

    assert run(page(""), world) == [["k0", "k1", "k2"], 3, "k3"]
    assert run(page("k3"), world) == [["k3", "k4"], 2, ""]
    metadata = [
        chaincode_shim_pb2.QueryMetadata.FromString(
            chaincode_shim_pb2.GetStateByRange.FromString(m.payload).metadata
        )
        for m in world.requests_of(Message.GET_STATE_BY_RANGE)
    ]
    assert [(m.pageSize, m.bookmark) for m in metadata] == [(3, ""), (3, "k3")]


def test_composite_keys_on_the_wire(run) -> None:
    world = WorldState()

    def script(stub: ChaincodeStub) -> Any:
        for color, name in [("red", "apple"), ("red", "cherry"), ("green", "lime"), ("", "clear")]:
            stub.put_state(stub.create_composite_key("fruit", [color, name]), name.encode())
        stub.put_state("plain", b"p")
        red = [
            stub.split_composite_key(kv.key)
            for kv in stub.get_state_by_partial_composite_key("fruit", ["red"])
        ]
        every = keys_of(stub.get_state_by_partial_composite_key("fruit", []))
        paged, meta = stub.get_state_by_partial_composite_key_with_pagination("fruit", [], 2)
        return [red, len(every), keys_of(paged), meta.bookmark]

    red, count, paged, bookmark = run(script, world)
    assert red == [["fruit", ["red", "apple"]], ["fruit", ["red", "cherry"]]]
    assert count == 4
    assert paged == ["\x00fruit\x00\x00clear\x00", "\x00fruit\x00green\x00lime\x00"]
    assert bookmark == "\x00fruit\x00red\x00apple\x00"
    request = chaincode_shim_pb2.GetStateByRange.FromString(
        world.requests_of(Message.GET_STATE_BY_RANGE)[0].payload
    )
    assert (request.startKey, request.endKey) == ("\x00fruit\x00red\x00", "\x00fruit\x00red\x00\U0010ffff")


def test_rich_query_is_passed_through(run) -> None:
    world = WorldState(state={"asset1": b"1", "asset2": b"2", "other": b"3"})

    def script(stub: ChaincodeStub) -> Any:
        iterator, meta = stub.get_query_result_with_pagination("asset", 1)
        return [keys_of(stub.get_query_result("asset")), keys_of(iterator), meta.bookmark]

    assert run(script, world) == [["asset1", "asset2"], ["asset1"], "asset2"]
    queries = [
        chaincode_shim_pb2.GetQueryResult.FromString(m.payload)
        for m in world.requests_of(Message.GET_QUERY_RESULT)
    ]
    assert [q.query for q in queries] == ["asset", "asset"]


def test_history_for_key(run) -> None:
    stamp = Timestamp(seconds=1_700_000_000, nanos=5000)
    world = WorldState(
        history={
            "k": [
                kv_query_result_pb2.KeyModification(
                    tx_id=f"t{i}", value=b"v", timestamp=stamp, is_delete=i == 2
                )
                for i in range(3)
            ]
        }
    )

    def script(stub: ChaincodeStub) -> Any:
        with stub.get_history_for_key("k") as history:
            return [[m.tx_id, m.value.decode(), m.timestamp.isoformat(), m.is_delete] for m in history]

    result = run(script, world)
    assert [row[0] for row in result] == ["t0", "t1", "t2"]
    assert result[0][2] == "2023-11-14T22:13:20.000005+00:00"
    assert [row[3] for row in result] == [False, False, True]


def test_private_data_calls(run) -> None:
    world = WorldState(state={"shared": b"public"})

    def script(stub: ChaincodeStub) -> Any:
        stub.put_private_data("secrets", "a", b"alpha")
        stub.put_private_data("secrets", "b", b"beta")
        stub.put_private_data("secrets", "gone", b"x")
        stub.del_private_data("secrets", "gone")
        stub.put_private_data("secrets", "purged", b"x")
        stub.purge_private_data("secrets", "purged")
        digest = stub.get_private_data_hash("secrets", "a")
        return [
            stub.get_private_data("secrets", "a").decode(),
            stub.get_private_data("secrets", "gone"),
            digest.hex(),
            keys_of(stub.get_private_data_by_range("secrets", "", "")),
            keys_of(stub.get_private_data_query_result("secrets", "b")),
            stub.get_private_data("other", "a"),
        ]

    assert run(script, world) == [
        "alpha",
        None,
        hashlib.sha256(b"alpha").hexdigest(),
        ["a", "b"],
        ["b"],
        None,
    ]
    assert world.private == {("secrets", "a"): b"alpha", ("secrets", "b"): b"beta"}
    (purge,) = world.requests_of(Message.PURGE_PRIVATE_DATA)
    purge_request = chaincode_shim_pb2.PurgePrivateState.FromString(purge.payload)
    assert (purge_request.collection, purge_request.key) == ("secrets", "purged")
    assert world.requests_of(Message.GET_PRIVATE_DATA_HASH)


def test_validation_parameters(run) -> None:
    world = WorldState()

    def script(stub: ChaincodeStub) -> Any:
        before = stub.get_state_validation_parameter("k")
        stub.set_state_validation_parameter("k", b"policy-1")
        stub.set_private_data_validation_parameter("coll", "k", b"policy-2")
        return [
            before,
            stub.get_state_validation_parameter("k").decode(),
            stub.get_private_data_validation_parameter("coll", "k").decode(),
        ]

    assert run(script, world) == [None, "policy-1", "policy-2"]
    assert world.metadata == {
        ("", "k"): {"VALIDATION_PARAMETER": b"policy-1"},
        ("coll", "k"): {"VALIDATION_PARAMETER": b"policy-2"},
    }


def test_invoke_chaincode_sends_a_chaincode_spec(run) -> None:
    world = WorldState(
        invoke_response=proposal_response_pb2.Response(status=201, message="ok", payload=b"hi")
    )

    def script(stub: ChaincodeStub) -> Any:
        local = stub.invoke_chaincode("other", [b"fn", b"arg"])
        remote = stub.invoke_chaincode("other", [b"fn"], channel="ch2")
        return [local.status, local.message, local.payload.decode(), remote.status]

    assert run(script, world) == [201, "ok", "hi", 201]
    specs = [
        chaincode_pb2.ChaincodeSpec.FromString(m.payload) for m in world.requests_of(Message.INVOKE_CHAINCODE)
    ]
    assert [s.chaincode_id.name for s in specs] == ["other", "other/ch2"]
    assert list(specs[0].input.args) == [b"fn", b"arg"]


def test_invoke_chaincode_peer_error_becomes_a_failed_response(run) -> None:
    world = WorldState()

    def script(stub: ChaincodeStub) -> Any:
        response = stub.invoke_chaincode("missing", [b"fn"])
        return [response.status, response.message]

    # the double answers ERROR for a request it does not know; make INVOKE_CHAINCODE one of them
    world.answer = _refusing(world.answer, Message.INVOKE_CHAINCODE)  # type: ignore[method-assign]
    assert run(script, world) == [500, "chaincode missing not found"]


def _refusing(answer: Callable[[Any], Any], msg_type: int) -> Callable[[Any], Any]:
    def refuse(message: Any) -> Any:
        if message.type == msg_type:
            return Message(
                type=Message.ERROR,
                payload=b"chaincode missing not found",
                txid=message.txid,
                channel_id=message.channel_id,
            )
        return answer(message)

    return refuse


def test_proposal_fields_binding_transient_and_creator(run) -> None:
    ca = make_ca("Org1 CA")
    user = issue(ca, common_name("alice"), attributes={"role": "minter"})
    creator = identities_pb2.SerializedIdentity(mspid="Org1MSP", id_bytes=user.cert_pem).SerializeToString()
    nonce = b"n" * 24
    channel_header = common_pb2.ChannelHeader(
        type=common_pb2.ENDORSER_TRANSACTION,
        channel_id="mychannel",
        tx_id="tx-proposal",
        epoch=7,
        timestamp=Timestamp(seconds=1_700_000_000, nanos=123_000_000),
    )
    header = common_pb2.Header(
        channel_header=channel_header.SerializeToString(),
        signature_header=common_pb2.SignatureHeader(creator=creator, nonce=nonce).SerializeToString(),
    )
    payload = proposal_pb2.ChaincodeProposalPayload(TransientMap={"price": b"42"})
    proposal = proposal_pb2.SignedProposal(
        proposal_bytes=proposal_pb2.Proposal(
            header=header.SerializeToString(), payload=payload.SerializeToString()
        ).SerializeToString(),
        signature=b"sig",
    )

    def script(stub: ChaincodeStub) -> Any:
        identity = ClientIdentity.from_stub(stub)
        return [
            stub.tx_timestamp.isoformat(),
            stub.binding.hex(),
            {k: v.decode() for k, v in stub.transient.items()},
            identity.msp_id,
            identity.get_attribute("role"),
            stub.signed_proposal.signature.decode(),
        ]

    expected_binding = hashlib.sha256(nonce + creator + struct.pack("<Q", 7)).hexdigest()
    assert run(script, WorldState(), proposal=proposal) == [
        datetime.datetime(2023, 11, 14, 22, 13, 20, 123000, tzinfo=datetime.UTC).isoformat(),
        expected_binding,
        {"price": "42"},
        "Org1MSP",
        "minter",
        "sig",
    ]


def test_stub_without_proposal_has_empty_invocation_context(run) -> None:
    def script(stub: ChaincodeStub) -> Any:
        return [
            stub.creator.hex(),
            stub.binding.hex(),
            stub.transient,
            stub.tx_timestamp.year,
            stub.signed_proposal,
        ]

    assert run(script, WorldState()) == ["", "", {}, 1970, None]
