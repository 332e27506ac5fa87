"""Corner cases where the embedded ledger must answer and validate exactly as a Fabric peer does.

References: core/chaincode/handler.go (query handling), core/ledger/kvledger/txmgmt/txmgr
(simulator) and core/ledger/kvledger/txmgmt/validation/validator.go (MVCC and phantom checks).
"""

from __future__ import annotations

from datetime import UTC, datetime

from embedded_ledger import EmbeddedLedger, Identity
from embedded_ledger.blocks import Block
from embedded_ledger.rwset import Height, KeyWrite, RangeQueryRead, ReadWriteSet, StateKey
from embedded_ledger.simulator import TxSimulator
from embedded_ledger.store import LedgerStore, StateUpdate
from embedded_ledger.validator import CandidateTransaction, validate_block
from fabric_protos.peer import chaincode_shim_pb2 as shim
from fabric_protos.peer.transaction_pb2 import TxValidationCode
from kv_test_chaincode import CHAINCODE

VALID = TxValidationCode.VALID
MVCC = TxValidationCode.MVCC_READ_CONFLICT
PHANTOM = TxValidationCode.PHANTOM_READ_CONFLICT
Msg = shim.ChaincodeMessage


def seeded_store(*updates: StateUpdate) -> LedgerStore:
    store = LedgerStore(None)
    store.write_block(Block(0, b"h", b"", b"d", datetime.now(UTC)), list(updates), [], [])
    return store


def test_read_of_an_absent_key_conflicts_with_an_earlier_delete_in_the_block(
    ledger: EmbeddedLedger, alice: Identity
) -> None:
    # Fabric invalidates a read whenever an earlier valid tx of the block wrote the key, even when
    # that write deleted a key the reader saw as absent (validator.validateKVRead: updates.Exists).
    deleting = ledger.endorse(alice, CHAINCODE, "delete", ["ghost"])
    reading = ledger.endorse(alice, CHAINCODE, "increment", ["ghost"])
    assert ledger.commit([deleting, reading]).validation_codes == [VALID, MVCC]


def _stale_tx(tx_id: str, rwset: ReadWriteSet) -> CandidateTransaction:
    return CandidateTransaction(tx_id, rwset, datetime.now(UTC))


def test_phantom_is_reported_before_a_private_read_conflict_of_the_same_namespace() -> None:
    store = seeded_store(
        StateUpdate(StateKey("a", "", "k1"), b"1", Height(0, 0)),
        StateUpdate(StateKey("a", "coll", "p"), b"p", Height(0, 1)),
    )
    rwset = ReadWriteSet()
    rwset.reads[StateKey("a", "coll", "p")] = Height(0, 0)  # stale private read
    # The range saw nothing, but k1 is there: a phantom.
    rwset.range_queries.append(RangeQueryRead("a", "", "k", "l", exhausted=True))
    assert validate_block(store, 1, [_stale_tx("t1", rwset)]).codes == [PHANTOM]


def test_namespaces_are_validated_in_sorted_order() -> None:
    store = seeded_store(
        StateUpdate(StateKey("a", "", "k1"), b"1", Height(0, 0)),
        StateUpdate(StateKey("b", "", "x"), b"x", Height(0, 1)),
    )
    rwset = ReadWriteSet()
    rwset.reads[StateKey("b", "", "x")] = Height(0, 0)  # stale read in namespace b
    rwset.range_queries.append(RangeQueryRead("a", "", "k", "l", exhausted=True))  # phantom in a
    assert validate_block(store, 1, [_stale_tx("t1", rwset)]).codes == [PHANTOM]


def test_private_range_ignores_page_metadata() -> None:
    # handler.go paginates public ranges only; the page size still caps the result count.
    store = seeded_store(
        *(StateUpdate(StateKey("cc", "coll", f"p{i}"), b"v", Height(0, i)) for i in range(3))
    )
    sim = TxSimulator(store, "ch", "tx", "cc")
    metadata = shim.QueryMetadata(pageSize=2).SerializeToString()
    request = shim.GetStateByRange(startKey="p", endKey="q", collection="coll", metadata=metadata)
    raw = sim.call(Msg.GET_STATE_BY_RANGE, request.SerializeToString(), "ch", "tx")
    response = shim.QueryResponse.FromString(raw)
    assert len(response.results) == 2 and not response.has_more
    assert response.metadata == b""


def test_stale_private_read_alone_is_an_mvcc_conflict() -> None:
    store = seeded_store(StateUpdate(StateKey("a", "coll", "p"), b"p", Height(0, 1)))
    stale, current = ReadWriteSet(), ReadWriteSet()
    stale.reads[StateKey("a", "coll", "p")] = Height(0, 0)
    current.reads[StateKey("a", "coll", "p")] = Height(0, 1)
    codes = validate_block(store, 1, [_stale_tx("t1", stale), _stale_tx("t2", current)]).codes
    assert codes == [MVCC, VALID]


def test_private_read_then_private_write_through_the_ledger_conflicts(
    ledger: EmbeddedLedger, alice: Identity
) -> None:
    ledger.submit(alice, CHAINCODE, "put_private", ["secret", "p"], transient={"value": b"v1"})
    reading = ledger.endorse(alice, CHAINCODE, "get_private", ["secret", "p"])
    ledger.submit(alice, CHAINCODE, "put_private", ["secret", "p"], transient={"value": b"v2"})
    assert ledger.commit([reading]).validation_codes == [MVCC]


def test_a_range_read_that_stopped_early_protects_its_last_key_inclusively() -> None:
    # Fabric narrows an unexhausted range to the last key handed out and re-executes it with that
    # key included; excluding it would report a phantom for an unchanged range.
    store = seeded_store(*(StateUpdate(StateKey("a", "", f"k{i}"), b"v", Height(0, i)) for i in range(1, 4)))
    unchanged = ReadWriteSet()
    unchanged.range_queries.append(
        RangeQueryRead(
            "a", "", "k", "k2", exhausted=False, results=[("k1", Height(0, 1)), ("k2", Height(0, 2))]
        )
    )
    rewritten = ReadWriteSet()
    rewritten.writes[StateKey("a", "", "k2")] = KeyWrite(b"new")
    stale = ReadWriteSet()
    stale.range_queries.append(
        RangeQueryRead(
            "a", "", "k", "k2", exhausted=False, results=[("k1", Height(0, 1)), ("k2", Height(0, 2))]
        )
    )
    exhausted = ReadWriteSet()  # a finished range keeps its requested end key exclusive
    exhausted.range_queries.append(
        RangeQueryRead("a", "", "k1", "k2", exhausted=True, results=[("k1", Height(0, 1))])
    )
    codes = validate_block(
        store,
        1,
        [
            _stale_tx("t0", exhausted),
            _stale_tx("t1", unchanged),
            _stale_tx("t2", rewritten),
            _stale_tx("t3", stale),
        ],
    ).codes
    assert codes == [VALID, VALID, VALID, PHANTOM]
