"""The off-chain reporting store: SQLite (default) or PostgreSQL, fed a block at a time by `indexer`.

Exactly once: a block's rows and the checkpoint (the next block to read) are written in ONE database
transaction, so after a crash the store holds either the whole block and its checkpoint or neither,
and the indexer re-reads exactly the blocks not applied. A block other than the checkpoint's is
refused (an earlier one is skipped as already applied; a later one would leave a gap). Movements
also keep their transaction id as primary key, so a repeat could never count twice anyway.

Readers never wait for the writer and never fail because it writes: `open_store(..., read_only=True)`
opens SQLite read-only on its write-ahead log (a reader sees the last committed block, whatever the
writer does meanwhile) and PostgreSQL in read-only REPEATABLE READ transactions; neither runs schema
statements, which are writes. `snapshot()` gives one consistent view for a report's several queries.

Reports read small summary tables kept up to date in the same transactions (`totals` by month,
kind, activity and institution; `category_totals`), not the movement rows, so they take
milliseconds however many movements the store holds.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS checkpoint (id INTEGER PRIMARY KEY, next_block BIGINT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS movements (tx_id TEXT PRIMARY KEY, block BIGINT NOT NULL, kind TEXT NOT NULL,"
    " coins BIGINT NOT NULL, krw BIGINT NOT NULL, ts TEXT NOT NULL, month TEXT NOT NULL,"
    " member_id TEXT NOT NULL, institution_id TEXT NOT NULL, activity TEXT NOT NULL,"
    " policy_version INTEGER NOT NULL)",
    "CREATE INDEX IF NOT EXISTS movements_member ON movements (member_id, ts)",
    "CREATE TABLE IF NOT EXISTS members (member_id TEXT PRIMARY KEY, active INTEGER NOT NULL,"
    " registered_month TEXT NOT NULL, first_earn_month TEXT)",
    "CREATE TABLE IF NOT EXISTS member_categories (member_id TEXT NOT NULL, category TEXT NOT NULL,"
    " PRIMARY KEY (member_id, category))",
    "CREATE TABLE IF NOT EXISTS totals (month TEXT NOT NULL, kind TEXT NOT NULL, activity TEXT NOT NULL,"
    " institution_id TEXT NOT NULL, coins BIGINT NOT NULL, krw BIGINT NOT NULL, count BIGINT NOT NULL,"
    " PRIMARY KEY (month, kind, activity, institution_id))",
    "CREATE TABLE IF NOT EXISTS category_totals (category TEXT NOT NULL, kind TEXT NOT NULL,"
    " coins BIGINT NOT NULL, PRIMARY KEY (category, kind))",
)
TABLES = ("checkpoint", "movements", "members", "member_categories", "totals", "category_totals")
# How long a SQLite writer waits for another writer's lock (a block's commit takes milliseconds; a
# checkpoint of a large write-ahead log on a busy disk may take seconds).
BUSY_TIMEOUT_SECONDS = 30.0
# Held while PostgreSQL's schema is created, so two first runs do not race on the catalogue.
_SCHEMA_LOCK = 0x5E0C40


class StoreError(Exception):
    """The store cannot be opened, or a block does not follow its checkpoint."""


@dataclass(frozen=True)
class Movement:
    tx_id: str
    kind: str
    coins: int
    krw: int
    timestamp: str
    month: str
    member_id: str
    institution_id: str
    activity: str
    policy_version: int


@dataclass(frozen=True)
class MemberChange:
    change: str
    """register, categories, deactivate or reactivate."""
    member_id: str
    categories: tuple[str, ...]
    active: bool
    month: str


class Store:
    """One connection to the store; `apply_block` is its only writer (not on a read-only store)."""

    def __init__(self, connection: Any, placeholder: str, url: str, *, read_only: bool = False) -> None:
        self._db = connection
        self._placeholder = placeholder
        self.url = url
        self.read_only = read_only
        self._in_snapshot = False
        if not read_only:
            self._create_schema()

    def _create_schema(self) -> None:
        if self._placeholder == "?":
            self._db.execute("BEGIN IMMEDIATE")  # waits (busy timeout) for a writer creating it too
        else:
            self._db.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
        for statement in SCHEMA:
            self._db.execute(statement)
        self._db.commit()

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Every query inside sees the same committed state (one read transaction)."""
        if self._in_snapshot:
            yield
            return
        sqlite_began = self._placeholder == "?" and not self._db.in_transaction
        if sqlite_began:
            self._db.execute("BEGIN")
        self._in_snapshot = True
        try:
            yield
        finally:
            self._in_snapshot = False
            if sqlite_began or self.read_only:
                self._db.rollback()  # nothing was written: this only ends the read transaction

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _sql(self, statement: str, params: Sequence[Any] = ()) -> Any:
        return self._db.execute(statement.replace("?", self._placeholder), tuple(params))

    def rows(self, statement: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        found = [tuple(row) for row in self._sql(statement, params).fetchall()]
        if self.read_only and not self._in_snapshot:
            self._db.rollback()  # a read-only PostgreSQL transaction would otherwise keep its old snapshot
        return found

    # ---- the checkpoint and writing -------------------------------------------------------------------

    def next_block(self) -> int:
        found = self.rows("SELECT next_block FROM checkpoint WHERE id = 1")
        return int(found[0][0]) if found else 0

    def reset(self) -> None:
        """Forget everything, so the next run rebuilds the store from block 0."""
        for table in TABLES:
            self._sql(f"DELETE FROM {table}")
        self._db.commit()

    def apply_block(
        self, number: int, movements: Iterable[Movement], members: Iterable[MemberChange]
    ) -> bool:
        """Apply block `number` and move the checkpoint past it, atomically; False if already applied."""
        expected = self.next_block()
        if number < expected:
            return False
        if number > expected:
            raise StoreError(f"block {number} does not follow the checkpoint (next block {expected})")
        try:
            for change in members:
                self._member(change)
            for movement in movements:
                self._movement(number, movement)
            self._sql(
                "INSERT INTO checkpoint (id, next_block) VALUES (1, ?)"
                " ON CONFLICT (id) DO UPDATE SET next_block = excluded.next_block",
                (number + 1,),
            )
            self._db.commit()
        except BaseException:
            self._db.rollback()
            raise
        return True

    def _member(self, change: MemberChange) -> None:
        if change.change == "register":
            self._sql(
                "INSERT INTO members (member_id, active, registered_month) VALUES (?, 1, ?)"
                " ON CONFLICT (member_id) DO NOTHING",
                (change.member_id, change.month),
            )
        if change.change in ("register", "categories"):
            self._sql("DELETE FROM member_categories WHERE member_id = ?", (change.member_id,))
            for category in change.categories:
                self._sql(
                    "INSERT INTO member_categories (member_id, category) VALUES (?, ?)",
                    (change.member_id, category),
                )
        self._sql("UPDATE members SET active = ? WHERE member_id = ?", (int(change.active), change.member_id))

    def _movement(self, block: int, m: Movement) -> None:
        inserted = self._sql(
            "INSERT INTO movements (tx_id, block, kind, coins, krw, ts, month, member_id, institution_id,"
            " activity, policy_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (tx_id) DO NOTHING",
            (m.tx_id, block, m.kind, m.coins, m.krw, m.timestamp, m.month, m.member_id, m.institution_id,
             m.activity, m.policy_version),
        )  # fmt: skip
        if inserted.rowcount != 1:
            return  # already counted
        self._sql(
            "INSERT INTO totals (month, kind, activity, institution_id, coins, krw, count)"
            " VALUES (?, ?, ?, ?, ?, ?, 1) ON CONFLICT (month, kind, activity, institution_id) DO UPDATE SET"
            " coins = totals.coins + excluded.coins, krw = totals.krw + excluded.krw,"
            " count = totals.count + 1",
            (m.month, m.kind, m.activity, m.institution_id, m.coins, m.krw),
        )
        if not m.member_id:
            return
        if m.kind == "earn":
            self._sql(
                "UPDATE members SET first_earn_month = ? WHERE member_id = ? AND first_earn_month IS NULL",
                (m.month, m.member_id),
            )
        for (category,) in self.rows(
            "SELECT category FROM member_categories WHERE member_id = ?", (m.member_id,)
        ):
            self._sql(
                "INSERT INTO category_totals (category, kind, coins) VALUES (?, ?, ?)"
                " ON CONFLICT (category, kind) DO UPDATE SET coins = category_totals.coins + excluded.coins",
                (category, m.kind, m.coins),
            )


def open_store(location: str | Path, *, read_only: bool = False) -> Store:
    """`postgresql://...` (or `postgres://`) for PostgreSQL, anything else is a SQLite file path.

    `read_only` for readers (reports): they run beside a following `seocho index` without taking its
    locks. A store that does not exist yet is created first, as a writer would.
    """
    url = str(location)
    if url.startswith(("postgresql://", "postgres://")):
        try:
            import psycopg
        except ImportError as exc:  # pragma: no cover - psycopg is a dependency
            raise StoreError(f"PostgreSQL needs psycopg: {exc}") from None
        try:
            pg_connection = psycopg.connect(url, connect_timeout=10)
            if read_only:
                with pg_connection.cursor() as cursor:
                    cursor.execute("SELECT to_regclass('checkpoint') IS NOT NULL")
                    created = bool(cursor.fetchone()[0])  # type: ignore[index]
                pg_connection.rollback()
                if not created:
                    Store(pg_connection, "%s", url)
                pg_connection.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
                pg_connection.read_only = True
        except psycopg.Error as exc:
            raise StoreError(f"cannot connect to the PostgreSQL store: {_first_line(exc)}") from None
        return Store(pg_connection, "%s", _without_password(url), read_only=read_only)
    path = Path(url)
    try:
        if read_only and _sqlite_store_exists(path):
            connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_SECONDS)
            return Store(connection, "?", str(path), read_only=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT_SECONDS)
        # The journal mode is kept in the file: switched once, by the first writer.
        _use_wal(connection)
        connection.execute("PRAGMA synchronous=FULL")  # a committed block must survive a power cut
        return Store(connection, "?", str(path))
    except (OSError, sqlite3.Error) as exc:
        raise StoreError(f"cannot open the SQLite store {path}: {exc}") from None


def _sqlite_store_exists(path: Path) -> bool:
    """Whether `path` is a SQLite store whose schema is committed (read-only, without waiting)."""
    if not path.is_file():
        return False
    probe = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_SECONDS)
    try:
        found = probe.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'checkpoint'")
        return found.fetchone() is not None
    finally:
        probe.close()


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _without_password(url: str) -> str:
    # Never print or log a password from the URL.
    scheme, sep, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not at:
        return url
    return f"{scheme}{sep}{credentials.partition(':')[0]}@{host}"


def _use_wal(connection: sqlite3.Connection) -> None:
    """Switches the file to WAL once. The switch needs the database to itself, and SQLite refuses it with
    "database is locked" at once, without its busy wait, while another connection holds the file (a
    second writer opening the same new file): so the switch is retried for the busy timeout."""
    deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS
    while True:
        try:
            if connection.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                connection.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)
