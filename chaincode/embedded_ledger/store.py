"""The embedded ledger's SQLite database: world state, key history, blocks, transactions, events.

Keys are stored as BLOBs of their UTF-8 bytes so that SQLite orders them with memcmp, which is the
byte order Fabric's LevelDB state database uses for range scans. Committing a block is a single
SQLite transaction with `synchronous=FULL` in WAL mode: after `write_block` returns the block is on
disk, and a crash before that leaves no trace of it.
"""

from __future__ import annotations

import os
import sqlite3
import stat
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from embedded_ledger.blocks import Block, ChaincodeEventRecord, TransactionRecord
from embedded_ledger.rwset import Height, StateKey

_SCAN_CHUNK = 256

_SCHEMA = """
CREATE TABLE IF NOT EXISTS state (
    namespace TEXT NOT NULL, collection TEXT NOT NULL, key BLOB NOT NULL,
    value BLOB NOT NULL, block_num INTEGER NOT NULL, tx_num INTEGER NOT NULL, metadata BLOB,
    PRIMARY KEY (namespace, collection, key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS history (
    namespace TEXT NOT NULL, key BLOB NOT NULL, block_num INTEGER NOT NULL, tx_num INTEGER NOT NULL,
    tx_id TEXT NOT NULL, value BLOB, is_delete INTEGER NOT NULL, timestamp_ns INTEGER NOT NULL,
    PRIMARY KEY (namespace, key, block_num, tx_num)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS blocks (
    number INTEGER PRIMARY KEY, hash BLOB NOT NULL, prev_hash BLOB NOT NULL, data_hash BLOB NOT NULL,
    timestamp_ns INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS transactions (
    tx_id TEXT NOT NULL, block_num INTEGER NOT NULL, tx_num INTEGER NOT NULL,
    validation_code INTEGER NOT NULL, chaincode TEXT NOT NULL, function TEXT NOT NULL,
    creator_msp TEXT NOT NULL, response_status INTEGER NOT NULL, timestamp_ns INTEGER NOT NULL,
    PRIMARY KEY (block_num, tx_num));
-- Fabric keeps the first commit of a tx id; a later duplicate is recorded only inside its block.
CREATE INDEX IF NOT EXISTS transactions_by_id ON transactions (tx_id);
CREATE TABLE IF NOT EXISTS events (
    block_num INTEGER NOT NULL, tx_num INTEGER NOT NULL, tx_id TEXT NOT NULL,
    chaincode_id TEXT NOT NULL, name TEXT NOT NULL, payload BLOB NOT NULL,
    PRIMARY KEY (block_num, tx_num));
CREATE INDEX IF NOT EXISTS events_by_chaincode ON events (chaincode_id, block_num);
CREATE TABLE IF NOT EXISTS identities (
    name TEXT PRIMARY KEY, msp_id TEXT NOT NULL, role TEXT NOT NULL,
    certificate_pem TEXT NOT NULL, attributes TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS certificate_authorities (msp_id TEXT PRIMARY KEY, certificate_pem TEXT NOT NULL);
-- Roots of other CAs (e.g. a Fabric CA) whose identities the channel accepts.
CREATE TABLE IF NOT EXISTS trusted_roots (
    msp_id TEXT NOT NULL, certificate_pem TEXT NOT NULL, PRIMARY KEY (msp_id, certificate_pem));
-- Only used by in-memory ledgers; a ledger on disk keeps private keys in 0600 files.
CREATE TABLE IF NOT EXISTS private_keys (owner TEXT PRIMARY KEY, pem BLOB NOT NULL);
"""


@dataclass(frozen=True)
class VersionedValue:
    value: bytes
    version: Height
    metadata: bytes | None  # serialized chaincode_shim_pb2.StateMetadataResult


@dataclass(frozen=True)
class HistoryRecord:
    namespace: str
    key: str
    height: Height
    tx_id: str
    value: bytes | None
    is_delete: bool
    timestamp: datetime


@dataclass(frozen=True)
class StateUpdate:
    """The committed result for one key: a new value/metadata, or removal (value None)."""

    state_key: StateKey
    value: bytes | None
    version: Height
    metadata: bytes | None = None


def to_ns(moment: datetime) -> int:
    return int(moment.timestamp()) * 1_000_000_000 + moment.microsecond * 1000


def from_ns(nanos: int) -> datetime:
    return datetime.fromtimestamp(nanos // 1_000_000_000, tz=UTC).replace(
        microsecond=(nanos % 1_000_000_000) // 1000
    )


class LedgerStore:
    """Thread-safe access to one ledger database (one SQLite connection behind a lock)."""

    def __init__(self, database: Path | None) -> None:
        self._lock = threading.RLock()
        if database is not None:
            _make_private(database)
        self._db = sqlite3.connect(
            ":memory:" if database is None else str(database), isolation_level=None, check_same_thread=False
        )
        if database is not None:
            self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- world state ------------------------------------------------------------------------------

    def get_state(self, state_key: StateKey) -> VersionedValue | None:
        with self._lock:
            row = self._db.execute(
                "SELECT value, block_num, tx_num, metadata FROM state"
                " WHERE namespace = ? AND collection = ? AND key = ?",
                (state_key.namespace, state_key.collection, state_key.key.encode()),
            ).fetchone()
        if row is None:
            return None
        return VersionedValue(
            bytes(row[0]), Height(row[1], row[2]), None if row[3] is None else bytes(row[3])
        )

    def scan(
        self, namespace: str, collection: str, start_key: str, end_key: str, *, include_end: bool = False
    ) -> Iterator[tuple[str, VersionedValue]]:
        """Keys in [start_key, end_key) in byte order (end_key "" = unbounded), fetched lazily."""
        lower = start_key.encode()
        lower_op = ">="
        upper = end_key.encode()
        upper_op = "<=" if include_end else "<"
        while True:
            sql = (
                "SELECT key, value, block_num, tx_num, metadata FROM state"
                f" WHERE namespace = ? AND collection = ? AND key {lower_op} ?"
            )
            params: list[object] = [namespace, collection, lower]
            if end_key:
                sql += f" AND key {upper_op} ?"
                params.append(upper)
            sql += " ORDER BY key LIMIT ?"
            params.append(_SCAN_CHUNK)
            with self._lock:
                rows = self._db.execute(sql, params).fetchall()
            for row in rows:
                metadata = None if row[4] is None else bytes(row[4])
                yield bytes(row[0]).decode(), VersionedValue(bytes(row[1]), Height(row[2], row[3]), metadata)
            if len(rows) < _SCAN_CHUNK:
                return
            lower, lower_op = bytes(rows[-1][0]), ">"

    def history(self, namespace: str, key: str) -> list[HistoryRecord]:
        """Every committed write of a public key, newest first (Fabric v2's order)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT block_num, tx_num, tx_id, value, is_delete, timestamp_ns FROM history"
                " WHERE namespace = ? AND key = ? ORDER BY block_num DESC, tx_num DESC",
                (namespace, key.encode()),
            ).fetchall()
        return [
            HistoryRecord(
                namespace,
                key,
                Height(r[0], r[1]),
                r[2],
                None if r[3] is None else bytes(r[3]),
                bool(r[4]),
                from_ns(r[5]),
            )
            for r in rows
        ]

    # -- blocks -----------------------------------------------------------------------------------

    @property
    def height(self) -> int:
        with self._lock:
            (count,) = self._db.execute("SELECT COALESCE(MAX(number) + 1, 0) FROM blocks").fetchone()
        return int(count)

    def committed_tx_ids(self, tx_ids: Sequence[str]) -> set[str]:
        with self._lock:
            found: set[str] = set()
            for tx_id in set(tx_ids):
                if self._db.execute(
                    "SELECT 1 FROM transactions WHERE tx_id = ? LIMIT 1", (tx_id,)
                ).fetchone():
                    found.add(tx_id)
        return found

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """One write transaction: what is read inside it (height, versions) stays true until it ends.

        Several processes may share a ledger file; taking SQLite's write lock before the block number
        is chosen and the block validated keeps a second process from validating against state the
        first is about to change. Nested use joins the outer transaction.
        """
        with self._lock:
            if self._db.in_transaction:
                yield
                return
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def write_block(
        self,
        block: Block,
        updates: Sequence[StateUpdate],
        history: Sequence[HistoryRecord],
        events: Sequence[ChaincodeEventRecord],
    ) -> None:
        """Persist a whole block atomically, or nothing."""
        with self.exclusive():
            self._db.execute(
                "INSERT INTO blocks VALUES (?, ?, ?, ?, ?)",
                (block.number, block.hash, block.previous_hash, block.data_hash, to_ns(block.timestamp)),
            )
            self._db.executemany(
                "INSERT INTO transactions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (t.tx_id, t.block_num, t.tx_num, t.validation_code, t.chaincode_name, t.function,
                     t.creator_msp, t.response_status, to_ns(t.timestamp))
                    for t in block.transactions
                ],
            )  # fmt: skip
            for update in updates:
                self._apply(update)
            self._db.executemany(
                "INSERT INTO history VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (h.namespace, h.key.encode(), h.height.block_num, h.height.tx_num, h.tx_id, h.value,
                     int(h.is_delete), to_ns(h.timestamp))
                    for h in history
                ],
            )  # fmt: skip
            tx_nums = {t.tx_id: t.tx_num for t in block.transactions if t.is_valid}
            self._db.executemany(
                "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (e.block_num, tx_nums[e.tx_id], e.tx_id, e.chaincode_name, e.name, e.payload)
                    for e in events
                ],
            )

    def _apply(self, update: StateUpdate) -> None:
        sk = update.state_key
        if update.value is None:
            self._db.execute(
                "DELETE FROM state WHERE namespace = ? AND collection = ? AND key = ?",
                (sk.namespace, sk.collection, sk.key.encode()),
            )
            return
        self._db.execute(
            "INSERT OR REPLACE INTO state VALUES (?, ?, ?, ?, ?, ?, ?)",
            (sk.namespace, sk.collection, sk.key.encode(), update.value, update.version.block_num,
             update.version.tx_num, update.metadata),
        )  # fmt: skip

    def get_block(self, number: int) -> Block | None:
        with self._lock:
            row = self._db.execute(
                "SELECT number, hash, prev_hash, data_hash, timestamp_ns FROM blocks WHERE number = ?",
                (number,),
            ).fetchone()
            if row is None:
                return None
            rows = self._db.execute(
                "SELECT tx_id, block_num, tx_num, validation_code, chaincode, function, creator_msp,"
                " response_status, timestamp_ns FROM transactions WHERE block_num = ? ORDER BY tx_num",
                (number,),
            ).fetchall()
        transactions = [_transaction(r) for r in rows]
        return Block(row[0], bytes(row[1]), bytes(row[2]), bytes(row[3]), from_ns(row[4]), transactions)

    def transaction(self, tx_id: str) -> TransactionRecord | None:
        """The first committed transaction with this id (later duplicates are invalid copies)."""
        with self._lock:
            row = self._db.execute(
                "SELECT tx_id, block_num, tx_num, validation_code, chaincode, function, creator_msp,"
                " response_status, timestamp_ns FROM transactions WHERE tx_id = ?"
                " ORDER BY block_num, tx_num LIMIT 1",
                (tx_id,),
            ).fetchone()
        return None if row is None else _transaction(row)

    def events(self, chaincode_name: str, start_block: int) -> Iterator[ChaincodeEventRecord]:
        last = (start_block, -1)
        while True:
            with self._lock:
                rows = self._db.execute(
                    "SELECT block_num, tx_num, tx_id, chaincode_id, name, payload FROM events"
                    " WHERE chaincode_id = ? AND (block_num > ? OR (block_num = ? AND tx_num > ?))"
                    " ORDER BY block_num, tx_num LIMIT ?",
                    (chaincode_name, last[0], last[0], last[1], _SCAN_CHUNK),
                ).fetchall()
            for r in rows:
                yield ChaincodeEventRecord(r[0], r[2], r[3], r[4], bytes(r[5]))
            if len(rows) < _SCAN_CHUNK:
                return
            last = (rows[-1][0], rows[-1][1])

    # -- identities -------------------------------------------------------------------------------

    def get_identity_row(self, name: str) -> tuple[str, str, str, str] | None:
        """(msp_id, role, certificate_pem, attributes JSON) of an enrolled identity."""
        with self._lock:
            row = self._db.execute(
                "SELECT msp_id, role, certificate_pem, attributes FROM identities WHERE name = ?", (name,)
            ).fetchone()
        return None if row is None else (row[0], row[1], row[2], row[3])

    def identity_names(self) -> list[str]:
        with self._lock:
            return [r[0] for r in self._db.execute("SELECT name FROM identities ORDER BY name")]

    def put_identity_row(
        self, name: str, msp_id: str, role: str, certificate_pem: str, attributes: str
    ) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO identities VALUES (?, ?, ?, ?, ?)",
                (name, msp_id, role, certificate_pem, attributes),
            )

    def get_ca_certificate(self, msp_id: str) -> str | None:
        with self._lock:
            row = self._db.execute(
                "SELECT certificate_pem FROM certificate_authorities WHERE msp_id = ?", (msp_id,)
            ).fetchone()
        return None if row is None else str(row[0])

    def put_ca_certificate(self, msp_id: str, certificate_pem: str) -> None:
        with self._lock:
            self._db.execute("INSERT INTO certificate_authorities VALUES (?, ?)", (msp_id, certificate_pem))

    def trusted_roots(self, msp_id: str) -> list[str]:
        with self._lock:
            rows = self._db.execute(
                "SELECT certificate_pem FROM trusted_roots WHERE msp_id = ? ORDER BY rowid", (msp_id,)
            ).fetchall()
        return [str(row[0]) for row in rows]

    def add_trusted_root(self, msp_id: str, certificate_pem: str) -> None:
        with self._lock:
            self._db.execute("INSERT OR IGNORE INTO trusted_roots VALUES (?, ?)", (msp_id, certificate_pem))

    def get_private_key(self, owner: str) -> bytes | None:
        with self._lock:
            row = self._db.execute("SELECT pem FROM private_keys WHERE owner = ?", (owner,)).fetchone()
        return None if row is None else bytes(row[0])

    def put_private_key(self, owner: str, pem: bytes) -> None:
        with self._lock:
            self._db.execute("INSERT INTO private_keys VALUES (?, ?)", (owner, pem))


def _make_private(database: Path) -> None:
    """Create the database file 0600 (or tighten an existing one) before SQLite opens it.

    The state table holds private data collections too. SQLite creates the WAL and shared-memory
    files with the database file's mode, so those follow; existing ones are tightened as well.
    """
    descriptor = os.open(database, os.O_RDWR | os.O_CREAT, 0o600)
    os.close(descriptor)
    for path in (database, *(database.with_name(database.name + s) for s in ("-wal", "-shm", "-journal"))):
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
        except FileNotFoundError:
            continue
        if mode & 0o077:
            path.chmod(mode & 0o700)


def _transaction(row: Sequence[object]) -> TransactionRecord:
    r = list(row)
    return TransactionRecord(
        tx_id=str(r[0]),
        block_num=int(r[1]),  # type: ignore[call-overload]
        tx_num=int(r[2]),  # type: ignore[call-overload]
        validation_code=int(r[3]),  # type: ignore[call-overload]
        chaincode_name=str(r[4]),
        function=str(r[5]),
        creator_msp=str(r[6]),
        response_status=int(r[7]),  # type: ignore[call-overload]
        timestamp=from_ns(int(r[8])),  # type: ignore[call-overload]
    )
