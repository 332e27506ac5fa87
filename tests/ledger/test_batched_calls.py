"""The embedded ledger answers v3.1's batched calls with the read/write sets single calls give.

Every scenario runs twice, on a ledger that offers batching (as a v3.1 peer does by default) and on
one that offers none (a v2.5 peer): the responses, read sets, range reads and write sets must match.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from embedded_ledger import EmbeddedLedger
from embedded_ledger.ledger import EndorsementError
from fabric_shim.batching import FABRIC_3_1_DEFAULTS, NO_BATCHING, PeerFeatures
from fabric_shim.chaincode import Response, success
from fabric_shim.stub import ChaincodeStub
from hypothesis import given, settings
from hypothesis import strategies as st

Script = Callable[[ChaincodeStub], Any]


class Scripted:
    """Runs the script named by the first argument; records which features its stub saw."""

    def __init__(self, scripts: dict[str, Script]) -> None:
        self.scripts = scripts
        self.features: list[PeerFeatures] = []

    def init(self, stub: ChaincodeStub) -> Response:
        return success()

    def invoke(self, stub: ChaincodeStub) -> Response:
        self.features.append(stub.features)
        return success(json.dumps(self.scripts[stub.function](stub)).encode())


def _seed(stub: ChaincodeStub) -> None:
    for i in range(6):
        stub.put_state(f"k{i}", f"v{i}".encode())


def _mixed(stub: ChaincodeStub) -> Any:
    values = stub.get_multiple_states(["k1", "absent", "k3", "k1"])
    stub.put_state("k1", b"new")
    after = stub.get_state("k1")  # committed value: a peer gives no read-your-writes
    stub.del_state("k2")
    stub.put_state("k9", b"nine")
    stub.put_state("k9", b"nine again")
    stub.set_state_validation_parameter("k9", b"policy")
    with stub.get_state_by_range("k3", "k5") as rows:
        seen = [row.key for row in rows]
    return [[None if v is None else v.decode() for v in values], (after or b"").decode(), seen]


def _write_then_page(stub: ChaincodeStub) -> Any:
    stub.put_state("k0", b"changed")
    try:
        stub.get_state_by_range_with_pagination("k0", "k9", 2)
    except Exception as exc:  # the peer refuses; the chaincode carries on and reports it
        return f"refused: {'read-only' in str(exc)}"
    return "allowed"


SCRIPTS: dict[str, Script] = {"seed": _seed, "mixed": _mixed, "write_then_page": _write_then_page}


@pytest.fixture
def ledgers() -> Iterator[Callable[[PeerFeatures], tuple[EmbeddedLedger, Scripted]]]:
    opened: list[EmbeddedLedger] = []

    def make(features: PeerFeatures) -> tuple[EmbeddedLedger, Scripted]:
        ledger = EmbeddedLedger.open(None)
        ledger.features = features
        chaincode = Scripted(SCRIPTS)
        ledger.install("cc", chaincode)
        opened.append(ledger)
        return ledger, chaincode

    yield make
    for ledger in opened:
        ledger.close()


def _sets(endorsed: Any) -> tuple[Any, ...]:
    rwset = endorsed.rwset
    ranges = [(r.start_key, r.end_key, r.exhausted, r.results) for r in rwset.range_queries]
    return (endorsed.response, rwset.reads, ranges, rwset.writes, rwset.metadata_writes)


@pytest.mark.parametrize("scenario", ["mixed", "write_then_page"])
def test_batched_and_single_calls_give_the_same_read_write_sets(ledgers, scenario) -> None:
    results = []
    for features in (FABRIC_3_1_DEFAULTS, NO_BATCHING):
        ledger, chaincode = ledgers(features)
        alice = ledger.identities.enroll("alice", "Org1MSP")
        ledger.submit(alice, "cc", "seed")
        results.append(_sets(ledger.endorse(alice, "cc", scenario)))
        assert chaincode.features[-1] == features
    batched, single = results
    assert batched == single
    if scenario == "write_then_page":
        assert json.loads(batched[0].payload) == "refused: True"


def test_a_refused_batched_write_fails_the_endorsement(ledgers) -> None:
    def page_then_write(stub: ChaincodeStub) -> None:
        with stub.get_state_by_range_with_pagination("k0", "k9", 2)[0]:
            pass
        stub.put_state("k0", b"x")  # batched: the peer refuses it when the batch is sent

    ledger, _ = ledgers(FABRIC_3_1_DEFAULTS)
    ledger.install("other", Scripted({"page_then_write": page_then_write}))
    alice = ledger.identities.enroll("alice", "Org1MSP")
    with pytest.raises(EndorsementError) as refused:
        ledger.endorse(alice, "other", "page_then_write")
    assert refused.value.response.status == 500
    assert "Writes are not allowed" in refused.value.response.message


_keys = st.sampled_from([f"k{i}" for i in range(8)])
_operations = st.lists(
    st.one_of(
        st.tuples(st.just("put"), _keys, st.binary(min_size=1, max_size=4)),
        st.tuples(st.just("del"), _keys, st.just(b"")),
        st.tuples(st.just("get"), _keys, st.just(b"")),
        st.tuples(st.just("many"), _keys, st.just(b"")),
    ),
    max_size=20,
)


@settings(max_examples=40, deadline=None)
@given(operations=_operations)
def test_any_sequence_of_reads_and_writes_records_the_same_sets(operations) -> None:
    def run(stub: ChaincodeStub) -> Any:
        seen = []
        for kind, key, value in operations:
            if kind == "put":
                stub.put_state(key, value)
            elif kind == "del":
                stub.del_state(key)
            elif kind == "get":
                seen.append((stub.get_state(key) or b"").hex())
            else:
                seen.append([(v or b"").hex() for v in stub.get_multiple_states([key, "k0", key])])
        return seen

    results = []
    for features in (FABRIC_3_1_DEFAULTS, PeerFeatures(write_batch=True, max_write_batch=3), NO_BATCHING):
        with EmbeddedLedger.open(None) as ledger:
            ledger.features = features
            ledger.install("cc", Scripted({"seed": _seed, "run": run}))
            alice = ledger.identities.enroll("alice", "Org1MSP")
            ledger.submit(alice, "cc", "seed")
            results.append(_sets(ledger.endorse(alice, "cc", "run")))
    assert results[0] == results[1] == results[2]
