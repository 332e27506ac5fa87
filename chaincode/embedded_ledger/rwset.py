"""What a transaction read and wrote while it was simulated: the input of MVCC validation.

The shapes follow Fabric's `kvrwset`: reads carry the committed version the simulation saw (or
none for an absent key), range queries carry the keys and versions they returned so re-executing
them at commit time can detect phantoms, and writes are the last value per key (None = delete).
Private data lives in the same structures with a non-empty `collection`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple


class Height(NamedTuple):
    """A key's version: the block and the transaction inside it that last wrote the key."""

    block_num: int
    tx_num: int


class StateKey(NamedTuple):
    """Where a value lives: chaincode namespace, private collection ("" for public state), key."""

    namespace: str
    collection: str
    key: str


@dataclass(frozen=True)
class KeyWrite:
    """The final write of one key in a transaction; `value` None means delete."""

    value: bytes | None
    purge: bool = False  # private data only: also forget the value (PURGE_PRIVATE_DATA)

    @property
    def is_delete(self) -> bool:
        return self.value is None


@dataclass
class RangeQueryRead:
    """One range scan as the chaincode consumed it.

    `end_key` is the last key handed to the chaincode while the scan was not exhausted (so only
    the part actually read is protected), or the requested end key once it was exhausted — the
    same narrowing Fabric applies.
    """

    namespace: str
    collection: str
    start_key: str
    end_key: str
    exhausted: bool = False
    results: list[tuple[str, Height]] = field(default_factory=list)


@dataclass
class ReadWriteSet:
    """Everything a simulated transaction read and wrote, across every chaincode it invoked."""

    reads: dict[StateKey, Height | None] = field(default_factory=dict)
    range_queries: list[RangeQueryRead] = field(default_factory=list)
    writes: dict[StateKey, KeyWrite] = field(default_factory=dict)
    metadata_writes: dict[StateKey, dict[str, bytes]] = field(default_factory=dict)

    def record_read(self, state_key: StateKey, version: Height | None) -> None:
        # Fabric keeps the first version read; a later read in the same simulation sees the same
        # committed state anyway because commits cannot interleave with a simulation.
        self.reads.setdefault(state_key, version)

    def record_write(self, state_key: StateKey, value: bytes | None, purge: bool = False) -> None:
        self.writes[state_key] = KeyWrite(value=value, purge=purge)

    def record_metadata_write(self, state_key: StateKey, metakey: str, value: bytes) -> None:
        # As on a peer, each PUT_STATE_METADATA replaces the key's whole metadata map.
        self.metadata_writes[state_key] = {metakey: value}

    @property
    def is_read_only(self) -> bool:
        return not self.writes and not self.metadata_writes

    def digest_lines(self) -> list[bytes]:
        """A canonical encoding of the write set, used to hash a block's content."""
        lines: list[bytes] = []
        for state_key in sorted(self.writes, key=_sort_key):
            write = self.writes[state_key]
            lines.append(
                _encode_key(state_key) + b"=" + (b"-" if write.value is None else write.value.hex().encode())
            )
        for state_key in sorted(self.metadata_writes, key=_sort_key):
            entries = self.metadata_writes[state_key]
            for metakey in sorted(entries):
                lines.append(
                    _encode_key(state_key) + b"#" + metakey.encode() + b"=" + entries[metakey].hex().encode()
                )
        return lines


def _sort_key(state_key: StateKey) -> tuple[bytes, bytes, bytes]:
    return (state_key.namespace.encode(), state_key.collection.encode(), state_key.key.encode())


def _encode_key(state_key: StateKey) -> bytes:
    return b"/".join(part.encode().hex().encode() for part in state_key)
