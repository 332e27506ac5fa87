"""MVCC validation at commit: conflicts, phantoms, duplicates, and what an invalid tx leaves behind."""

from __future__ import annotations

import pytest
from embedded_ledger import CommitError, EmbeddedLedger, EndorsementError, Identity
from fabric_protos.peer.transaction_pb2 import TxValidationCode
from hypothesis import given, settings
from hypothesis import strategies as st
from kv_test_chaincode import CHAINCODE, KeyValueChaincode

VALID = TxValidationCode.VALID
MVCC = TxValidationCode.MVCC_READ_CONFLICT
PHANTOM = TxValidationCode.PHANTOM_READ_CONFLICT


def state(ledger: EmbeddedLedger, who: Identity, key: str) -> bytes:
    return ledger.evaluate(who, CHAINCODE, "get", [key]).payload


def test_read_write_conflict_invalidates_the_second_tx(ledger: EmbeddedLedger, alice: Identity) -> None:
    ledger.submit(alice, CHAINCODE, "put", ["counter", "0"])
    first = ledger.endorse(alice, CHAINCODE, "increment", ["counter"])
    second = ledger.endorse(alice, CHAINCODE, "increment", ["counter"])
    block = ledger.commit([first, second])
    assert block.validation_codes == [VALID, MVCC]
    assert state(ledger, alice, "counter") == b"1"
    status = ledger.transaction_status(second.tx_id)
    assert (
        status is not None
        and status.validation_code == MVCC
        and status.validation_code_name == "MVCC_READ_CONFLICT"
    )


def test_stale_read_across_blocks_conflicts(ledger: EmbeddedLedger, alice: Identity) -> None:
    stale = ledger.endorse(alice, CHAINCODE, "increment", ["counter"])
    ledger.submit(alice, CHAINCODE, "increment", ["counter"])
    assert ledger.commit([stale]).validation_codes == [MVCC]


def test_commit_error_names_the_validation_code() -> None:
    error = CommitError("tx", MVCC)
    assert (error.code, error.code_name) == (MVCC, "MVCC_READ_CONFLICT")
    assert "MVCC_READ_CONFLICT" in str(error)


def test_blind_writes_of_different_keys_are_both_valid(ledger: EmbeddedLedger, alice: Identity) -> None:
    one = ledger.endorse(alice, CHAINCODE, "put", ["x", "1"])
    two = ledger.endorse(alice, CHAINCODE, "put", ["y", "2"])
    three = ledger.endorse(alice, CHAINCODE, "put", ["x", "3"])  # blind writes never conflict
    assert ledger.commit([one, two, three]).validation_codes == [VALID, VALID, VALID]
    assert (state(ledger, alice, "x"), state(ledger, alice, "y")) == (b"3", b"2")


def test_phantom_read_when_an_earlier_tx_inserts_into_the_range(
    ledger: EmbeddedLedger, alice: Identity
) -> None:
    ledger.submit(alice, CHAINCODE, "put", ["item1", "a", "item3", "c"])
    insert = ledger.endorse(alice, CHAINCODE, "put", ["item2", "b"])
    count = ledger.endorse(alice, CHAINCODE, "count_range_then_put", ["item", "item~", "total"])
    assert count.response.payload == b"2"
    assert ledger.commit([insert, count]).validation_codes == [VALID, PHANTOM]
    assert state(ledger, alice, "total") == b""


def test_insert_outside_the_range_is_no_phantom(ledger: EmbeddedLedger, alice: Identity) -> None:
    ledger.submit(alice, CHAINCODE, "put", ["item1", "a"])
    insert = ledger.endorse(alice, CHAINCODE, "put", ["other", "b"])
    count = ledger.endorse(alice, CHAINCODE, "count_range_then_put", ["item", "item~", "total"])
    assert ledger.commit([insert, count]).validation_codes == [VALID, VALID]


def test_duplicate_txid_rejected_within_and_across_blocks(ledger: EmbeddedLedger, alice: Identity) -> None:
    tx = ledger.endorse(alice, CHAINCODE, "put", ["d", "1"])
    assert ledger.commit([tx, tx]).validation_codes == [VALID, TxValidationCode.DUPLICATE_TXID]
    assert ledger.commit([tx]).validation_codes == [TxValidationCode.DUPLICATE_TXID]
    status = ledger.transaction_status(tx.tx_id)
    assert status is not None and status.is_valid  # the first commit is the one that counts


def test_failed_endorsement_is_never_committed(ledger: EmbeddedLedger, alice: Identity) -> None:
    with pytest.raises(EndorsementError) as caught:
        ledger.submit(alice, CHAINCODE, "fail", [])
    assert caught.value.response.status == 403
    crashed = ledger.evaluate(alice, CHAINCODE, "crash", [])
    assert crashed.status == 500 and "secret" not in crashed.message
    assert state(ledger, alice, "failed-write") == b""
    assert ledger.height == 1


def test_invalid_tx_event_and_history_not_applied(ledger: EmbeddedLedger, alice: Identity) -> None:
    stale = ledger.endorse(alice, CHAINCODE, "emit", ["e", "Evt", "p1"])
    reader = ledger.endorse(alice, CHAINCODE, "increment", ["e2"])
    ledger.submit(alice, CHAINCODE, "put", ["e2", "5"])
    assert ledger.commit([reader, stale]).validation_codes == [MVCC, VALID]
    assert [e.payload for e in ledger.chaincode_events(CHAINCODE)] == [b"p1"]


@settings(max_examples=25, deadline=None)
@given(
    plan=st.lists(st.tuples(st.sampled_from(["inc", "put"]), st.sampled_from("abc")), min_size=1, max_size=6)
)
def test_counters_equal_valid_increments(plan: list[tuple[str, str]]) -> None:
    """Any mix of read-modify-writes and blind writes in one block: a read-modify-write is valid
    exactly when no earlier valid tx of the block wrote its key; each key ends as its last valid
    writer set it."""
    with EmbeddedLedger.open(None) as ledger:
        ledger.install(CHAINCODE, KeyValueChaincode())
        who = ledger.identities.enroll("h", "Org1MSP")
        txs = [
            ledger.endorse(who, CHAINCODE, "increment", [key])
            if op == "inc"
            else ledger.endorse(who, CHAINCODE, "put", [key, "7"])
            for op, key in plan
        ]
        codes = ledger.commit(txs).validation_codes
        written: dict[str, bytes] = {}
        for (op, key), code in zip(plan, codes, strict=True):
            expected_valid = op == "put" or key not in written
            assert (code == VALID) == expected_valid
            if code == VALID:
                written[key] = b"1" if op == "inc" else b"7"
        for key, value in written.items():
            assert state(ledger, who, key) == value
