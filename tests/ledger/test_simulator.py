"""The simulator answers raw chaincode-protocol messages as a LevelDB peer does, recording rw sets."""

from __future__ import annotations

import hashlib

import pytest
from embedded_ledger.rwset import Height, StateKey
from embedded_ledger.simulator import RICH_QUERY_UNSUPPORTED, TxSimulator
from embedded_ledger.store import LedgerStore, StateUpdate
from fabric_protos.ledger.queryresult import kv_query_result_pb2
from fabric_protos.peer import chaincode_shim_pb2 as shim
from fabric_shim.calls import PeerError

Msg = shim.ChaincodeMessage
CHANNEL, TX = "ch", "tx1"


@pytest.fixture
def store() -> LedgerStore:
    store = LedgerStore(None)
    updates = [
        StateUpdate(StateKey("cc", "", key), f"v-{key}".encode(), Height(1, i))
        for i, key in enumerate("abcde")
    ]
    updates.append(StateUpdate(StateKey("cc", "secret", "p"), b"private", Height(1, 9)))
    updates.append(StateUpdate(StateKey("other", "", "a"), b"other-ns", Height(1, 8)))
    from datetime import UTC, datetime

    from embedded_ledger.blocks import Block

    store.write_block(Block(0, b"h", b"", b"d", datetime.now(UTC)), updates, [], [])
    return store


def call(sim: TxSimulator, msg_type: int, message: object) -> bytes:
    return sim.call(msg_type, message.SerializeToString(), CHANNEL, TX)  # type: ignore[attr-defined]


def range_keys(response_bytes: bytes) -> list[str]:
    response = shim.QueryResponse.FromString(response_bytes)
    return [kv_query_result_pb2.KV.FromString(r.resultBytes).key for r in response.results]


def test_reads_record_committed_versions_and_absent_keys(store: LedgerStore) -> None:
    sim = TxSimulator(store, CHANNEL, TX, "cc")
    assert call(sim, Msg.GET_STATE, shim.GetState(key="b")) == b"v-b"
    assert call(sim, Msg.GET_STATE, shim.GetState(key="zz")) == b""
    assert sim.rwset.reads == {StateKey("cc", "", "b"): Height(1, 1), StateKey("cc", "", "zz"): None}


def test_no_read_your_writes(store: LedgerStore) -> None:
    sim = TxSimulator(store, CHANNEL, TX, "cc")
    call(sim, Msg.PUT_STATE, shim.PutState(key="a", value=b"new"))
    call(sim, Msg.PUT_STATE, shim.PutState(key="fresh", value=b"new"))
    assert call(sim, Msg.GET_STATE, shim.GetState(key="a")) == b"v-a"
    assert call(sim, Msg.GET_STATE, shim.GetState(key="fresh")) == b""
    by_range = call(sim, Msg.GET_STATE_BY_RANGE, shim.GetStateByRange(startKey="a", endKey="z"))
    assert range_keys(by_range) == list("abcde")
    assert sim.rwset.writes[StateKey("cc", "", "a")].value == b"new"


def test_delete_and_empty_put_is_a_delete(store: LedgerStore) -> None:
    sim = TxSimulator(store, CHANNEL, TX, "cc")
    call(sim, Msg.DEL_STATE, shim.DelState(key="c"))
    assert sim.rwset.writes[StateKey("cc", "", "c")].is_delete
    # A peer's write set records an empty value as a delete (rwsetutil: IsDelete = len(value) == 0).
    call(sim, Msg.PUT_STATE, shim.PutState(key="d", value=b""))
    assert sim.rwset.writes[StateKey("cc", "", "d")].is_delete


def test_namespaces_are_isolated(store: LedgerStore) -> None:
    sim = TxSimulator(store, CHANNEL, TX, "other")
    assert call(sim, Msg.GET_STATE, shim.GetState(key="a")) == b"other-ns"
    assert call(sim, Msg.GET_STATE, shim.GetState(key="b")) == b""


def test_unbatched_range_spans_query_state_next(store: LedgerStore) -> None:
    bulk = [StateUpdate(StateKey("big", "", f"k{i:04d}"), b"x", Height(2, 0)) for i in range(250)]
    from datetime import UTC, datetime

    from embedded_ledger.blocks import Block

    store.write_block(Block(1, b"h1", b"h", b"d", datetime.now(UTC)), bulk, [], [])
    sim = TxSimulator(store, CHANNEL, TX, "big")
    first = shim.QueryResponse.FromString(
        call(sim, Msg.GET_STATE_BY_RANGE, shim.GetStateByRange(startKey="k"))
    )
    assert len(first.results) == 100 and first.has_more
    second = shim.QueryResponse.FromString(call(sim, Msg.QUERY_STATE_NEXT, shim.QueryStateNext(id=first.id)))
    assert len(second.results) == 100 and second.has_more
    call(sim, Msg.QUERY_STATE_CLOSE, shim.QueryStateClose(id=first.id))
    with pytest.raises(PeerError):
        call(sim, Msg.QUERY_STATE_NEXT, shim.QueryStateNext(id=first.id))
    (record,) = sim.rwset.range_queries
    assert not record.exhausted
    assert record.end_key == record.results[-1][0]


def test_paginated_range_returns_metadata_and_forbids_writes(store: LedgerStore) -> None:
    sim = TxSimulator(store, CHANNEL, TX, "cc")
    metadata = shim.QueryMetadata(pageSize=2, bookmark="b").SerializeToString()
    raw = call(sim, Msg.GET_STATE_BY_RANGE, shim.GetStateByRange(startKey="a", endKey="", metadata=metadata))
    response = shim.QueryResponse.FromString(raw)
    page = shim.QueryResponseMetadata.FromString(response.metadata)
    assert range_keys(raw) == ["b", "c"] and not response.has_more
    assert (page.fetched_records_count, page.bookmark) == (2, "d")
    with pytest.raises(PeerError, match="paginated"):
        call(sim, Msg.PUT_STATE, shim.PutState(key="x", value=b"1"))


def test_private_data_hash_metadata_and_purge(store: LedgerStore) -> None:
    sim = TxSimulator(store, CHANNEL, TX, "cc")
    assert call(sim, Msg.GET_STATE, shim.GetState(key="p", collection="secret")) == b"private"
    digest = call(sim, Msg.GET_PRIVATE_DATA_HASH, shim.GetState(key="p", collection="secret"))
    assert digest == hashlib.sha256(b"private").digest()
    assert call(sim, Msg.GET_PRIVATE_DATA_HASH, shim.GetState(key="none", collection="secret")) == b""
    call(sim, Msg.PURGE_PRIVATE_DATA, shim.PurgePrivateState(key="p", collection="secret"))
    assert sim.rwset.writes[StateKey("cc", "secret", "p")].purge
    entry = shim.StateMetadata(metakey="VALIDATION_PARAMETER", value=b"policy")
    call(sim, Msg.PUT_STATE_METADATA, shim.PutStateMetadata(key="a", metadata=entry))
    assert sim.rwset.metadata_writes[StateKey("cc", "", "a")] == {"VALIDATION_PARAMETER": b"policy"}
    empty = shim.StateMetadataResult.FromString(
        call(sim, Msg.GET_STATE_METADATA, shim.GetStateMetadata(key="a"))
    )
    assert list(empty.entries) == []


def test_rich_queries_and_unknown_messages_fail_like_leveldb_peer(store: LedgerStore) -> None:
    sim = TxSimulator(store, CHANNEL, TX, "cc")
    with pytest.raises(PeerError, match="CouchDB") as caught:
        call(sim, Msg.GET_QUERY_RESULT, shim.GetQueryResult(query="{}"))
    assert str(caught.value) == RICH_QUERY_UNSUPPORTED
    with pytest.raises(PeerError):
        sim.call(Msg.KEEPALIVE, b"", CHANNEL, TX)
    with pytest.raises(PeerError):
        sim.call(Msg.GET_STATE, b"", CHANNEL, "another-tx")
    sim.finish()
    with pytest.raises(PeerError):
        call(sim, Msg.GET_STATE, shim.GetState(key="a"))
