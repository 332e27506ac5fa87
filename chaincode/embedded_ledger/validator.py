"""MVCC validation of a block, as a Fabric committing peer performs it.

Transactions are checked in block order against the committed state plus the writes of the earlier
*valid* transactions of the same block:
- a tx id already committed (or earlier in the block) -> DUPLICATE_TXID;
- any key read at a version other than the committed one, or written by an earlier valid
  transaction of the same block -> MVCC_READ_CONFLICT;
- any range query whose re-execution returns other keys or versions -> PHANTOM_READ_CONFLICT.
Only valid transactions contribute state updates and history. Endorsement policies are not
evaluated (the embedded ledger has a single endorser: itself).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from fabric_protos.peer import chaincode_shim_pb2
from fabric_protos.peer.transaction_pb2 import TxValidationCode

from embedded_ledger.rwset import Height, RangeQueryRead, ReadWriteSet, StateKey
from embedded_ledger.store import HistoryRecord, LedgerStore, StateUpdate

VALID = TxValidationCode.VALID
DUPLICATE_TXID = TxValidationCode.DUPLICATE_TXID
MVCC_READ_CONFLICT = TxValidationCode.MVCC_READ_CONFLICT
PHANTOM_READ_CONFLICT = TxValidationCode.PHANTOM_READ_CONFLICT


@dataclass(frozen=True)
class CandidateTransaction:
    """What validation needs to know about one ordered transaction."""

    tx_id: str
    rwset: ReadWriteSet
    timestamp: datetime


@dataclass
class BlockValidation:
    """Per-transaction codes and the state changes of the valid ones, ready to commit."""

    codes: list[int] = field(default_factory=list)
    updates: dict[StateKey, StateUpdate] = field(default_factory=dict)
    history: list[HistoryRecord] = field(default_factory=list)


def validate_block(
    store: LedgerStore, block_num: int, transactions: Sequence[CandidateTransaction]
) -> BlockValidation:
    result = BlockValidation()
    already_committed = store.committed_tx_ids([tx.tx_id for tx in transactions])
    seen_in_block: set[str] = set()
    for tx_num, tx in enumerate(transactions):
        if tx.tx_id in already_committed or tx.tx_id in seen_in_block:
            result.codes.append(DUPLICATE_TXID)
            continue
        seen_in_block.add(tx.tx_id)
        code = _check_reads(store, result.updates, tx.rwset)
        result.codes.append(code)
        if code == VALID:
            _apply(store, result, Height(block_num, tx_num), tx)
    return result


def _current(
    store: LedgerStore, updates: dict[StateKey, StateUpdate], state_key: StateKey
) -> StateUpdate | None:
    """The key's value as of the transaction being validated (None when absent)."""
    if state_key in updates:
        update = updates[state_key]
        return None if update.value is None else update
    committed = store.get_state(state_key)
    if committed is None:
        return None
    return StateUpdate(state_key, committed.value, committed.version, committed.metadata)


def _check_reads(store: LedgerStore, updates: dict[StateKey, StateUpdate], rwset: ReadWriteSet) -> int:
    """Fabric's order: namespace by namespace (sorted), public reads, then range queries, then
    private reads; the first failure decides the code."""
    namespaces = sorted({key.namespace for key in rwset.reads} | {r.namespace for r in rwset.range_queries})
    for namespace in namespaces:
        public = [(k, v) for k, v in rwset.reads.items() if k.namespace == namespace and not k.collection]
        private = [(k, v) for k, v in rwset.reads.items() if k.namespace == namespace and k.collection]
        if not all(_read_is_current(store, updates, key, version) for key, version in public):
            return MVCC_READ_CONFLICT
        ranges = [r for r in rwset.range_queries if r.namespace == namespace]
        if any(_reexecute(store, updates, r) != r.results for r in ranges):
            return PHANTOM_READ_CONFLICT
        if not all(_read_is_current(store, updates, key, version) for key, version in private):
            return MVCC_READ_CONFLICT
    return VALID


def _read_is_current(
    store: LedgerStore, updates: dict[StateKey, StateUpdate], state_key: StateKey, read_version: Height | None
) -> bool:
    # Any write of the key by an earlier valid transaction of this block invalidates the read,
    # even a delete of a key that was read as absent (Fabric checks the update batch first).
    if state_key in updates:
        return False
    committed = store.get_state(state_key)
    return (None if committed is None else committed.version) == read_version


def _reexecute(
    store: LedgerStore, updates: dict[StateKey, StateUpdate], range_read: RangeQueryRead
) -> list[tuple[str, Height]]:
    """The range's (key, version) list now; inclusive of the end key when the scan stopped early."""
    include_end = not range_read.exhausted
    start, end = range_read.start_key.encode(), range_read.end_key.encode()
    merged: dict[str, Height | None] = {
        key: value.version
        for key, value in store.scan(
            range_read.namespace, range_read.collection, range_read.start_key, range_read.end_key,
            include_end=include_end,
        )
    }  # fmt: skip
    for state_key, update in updates.items():
        if state_key.namespace != range_read.namespace or state_key.collection != range_read.collection:
            continue
        encoded = state_key.key.encode()
        in_range = encoded >= start and (not end or encoded < end or (include_end and encoded == end))
        if in_range:
            merged[state_key.key] = None if update.value is None else update.version
    return [
        (key, version)
        for key, version in sorted(merged.items(), key=lambda item: item[0].encode())
        if version is not None
    ]


def _apply(store: LedgerStore, result: BlockValidation, height: Height, tx: CandidateTransaction) -> None:
    rwset = tx.rwset
    for state_key, write in rwset.writes.items():
        if write.value is None:
            result.updates[state_key] = StateUpdate(state_key, None, height)
        else:
            if state_key in rwset.metadata_writes:
                metadata = _serialize_metadata(rwset.metadata_writes[state_key])
            else:
                # A value-only write keeps the key's existing metadata, as Fabric's commit does.
                current = _current(store, result.updates, state_key)
                metadata = None if current is None else current.metadata
            result.updates[state_key] = StateUpdate(state_key, write.value, height, metadata)
        if not state_key.collection:
            result.history.append(
                HistoryRecord(
                    state_key.namespace,
                    state_key.key,
                    height,
                    tx.tx_id,
                    write.value,
                    write.is_delete,
                    tx.timestamp,
                )
            )
    for state_key, entries in rwset.metadata_writes.items():
        if state_key in rwset.writes:
            continue
        # Metadata alone applies to the key's current value, and is dropped when the key is absent.
        current = _current(store, result.updates, state_key)
        if current is not None:
            result.updates[state_key] = StateUpdate(
                state_key, current.value, height, _serialize_metadata(entries)
            )


def _serialize_metadata(entries: dict[str, bytes]) -> bytes | None:
    kept = [chaincode_shim_pb2.StateMetadata(metakey=k, value=v) for k, v in sorted(entries.items()) if v]
    if not kept:
        return None
    return chaincode_shim_pb2.StateMetadataResult(entries=kept).SerializeToString()
