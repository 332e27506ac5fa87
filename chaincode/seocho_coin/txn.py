"""One transaction's view of the ledger: buffered writes, the caller, the clock and the policy in force.

Writes are buffered and reach the stub only when the transaction function returns normally
(`Tx.commit`), so a rule that fails halfway (400/403/404/409) never leaves a partial write set behind,
whoever runs the chaincode. Reads go to the stub and are recorded in the read set as usual; a buffered
write is returned to a later read in the same transaction. A committed value is read from the stub
once per transaction (the peer would answer the same again), and `prefetch` reads many keys in one
batched call where the peer offers it (`seocho_coin.read_plans` says which keys a movement needs).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar

from fabric_shim.contract_errors import BadRequest, Conflict, NotFound
from fabric_shim.keys import partial_composite_key_range

from seocho_coin import ids, keys
from seocho_coin.policy import Policy, decode_index, version_in_force
from seocho_coin.policy_cache import PolicyCache
from seocho_coin.records import Config, decode, encode

R = TypeVar("R")

QUERY_PAGE_SIZE = 10_000
"""Rows per page of `scan_all`: far below the peer's `totalQueryLimit` (100,000 by default)."""


class KeyValue(Protocol):
    key: str
    value: bytes


class Page(Protocol):
    fetched_records_count: int
    bookmark: str


class Stub(Protocol):
    """The part of `fabric_shim.stub.ChaincodeStub` the coin uses."""

    tx_id: str
    tx_timestamp: datetime

    def get_state(self, key: str) -> bytes | None: ...
    def get_multiple_states(self, keys: list[str]) -> list[bytes | None]: ...
    def put_state(self, key: str, value: bytes) -> None: ...
    def del_state(self, key: str) -> None: ...
    def get_state_by_range(self, start_key: str, end_key: str) -> Any: ...
    def get_state_by_partial_composite_key(self, object_type: str, attributes: list[str]) -> Any: ...
    def get_state_by_range_with_pagination(
        self, start_key: str, end_key: str, page_size: int, bookmark: str = ""
    ) -> tuple[Any, Any]: ...
    def get_state_by_partial_composite_key_with_pagination(
        self, object_type: str, attributes: list[str], page_size: int, bookmark: str = ""
    ) -> tuple[Any, Any]: ...
    def set_event(self, name: str, payload: bytes) -> None: ...


@dataclass(frozen=True)
class Caller:
    """Who signed the proposal: MSP, `cid` id and Fabric CA attributes."""

    msp_id: str
    id: str
    attributes: dict[str, str]

    @classmethod
    def from_identity(cls, identity: Any) -> Caller:
        return cls(msp_id=identity.msp_id, id=identity.id, attributes=dict(identity.attributes))

    @property
    def digest(self) -> str:
        return client_digest(self.id)

    @property
    def role(self) -> str | None:
        return self.attributes.get("seocho.role")

    @property
    def institution_id(self) -> str | None:
        return self.attributes.get("seocho.institution")

    @property
    def is_manager(self) -> bool:
        return self.attributes.get("seocho.manager") == "true"


def client_digest(client_id: str) -> str:
    """What the ledger stores instead of a client identity id (which holds certificate names).

    An unsalted SHA-256 hides nothing from someone who can guess the names, so members must be
    enrolled under pseudonymous enrollment IDs (see the package docstring).
    """
    return hashlib.sha256(client_id.encode("utf-8")).hexdigest()


class Tx:
    """The context every coin rule receives."""

    def __init__(self, stub: Stub, caller: Caller, policies: PolicyCache | None = None) -> None:
        self.stub = stub
        self.caller = caller
        self.tx_id: str = stub.tx_id
        self.now: datetime = stub.tx_timestamp
        self.timestamp = ids.format_timestamp(self.now)
        self._writes: dict[str, bytes | None] = {}
        self._committed: dict[str, bytes | None] = {}  # what the stub returned, by key
        # A stand-in stub without batched reads (a unit test's dict) is read one key at a time.
        self._get_many: Callable[[list[str]], list[bytes | None]] | None = getattr(
            stub, "get_multiple_states", None
        )
        self._event: tuple[str, bytes] | None = None
        self._config: Config | None = None
        self._policies = policies if policies is not None else PolicyCache()
        self._channel: str = getattr(stub, "channel_id", "")  # a unit test's dict stub has none
        self._policy_loaded = False
        self._policy: Policy | None = None
        self._versions: dict[int, Policy] = {}
        self._index: tuple[bytes, list[tuple[int, str]]] | None = None  # raw policy index, decoded

    # ---- state --------------------------------------------------------------------------------------

    def raw(self, key: str) -> bytes | None:
        if key in self._writes:
            return self._writes[key]
        if key in self._committed:
            return self._committed[key]
        value = self._committed[key] = self.stub.get_state(key)
        return value

    def prefetch(self, keys: Iterable[str]) -> None:
        """Read `keys` now, in one round trip where the peer allows; their later reads cost nothing.

        Only for keys the rule reads on every path that succeeds: a prefetched key is in the read set
        like any read, so prefetching a key the rule would not read would change the read set.
        Keys already read or written are not read again (a written key is never read from the stub).
        """
        wanted = [k for k in dict.fromkeys(keys) if k not in self._writes and k not in self._committed]
        if len(wanted) > 1 and self._get_many is not None:
            self._committed.update(zip(wanted, self._get_many(wanted), strict=True))
        else:
            for key in wanted:
                self._committed[key] = self.stub.get_state(key)

    def get(self, cls: type[R], key: str) -> R | None:
        raw = self.raw(key)
        return None if raw is None else decode(cls, raw)

    def require(self, cls: type[R], key: str, what: str) -> R:
        found = self.get(cls, key)
        if found is None:
            raise NotFound(f"{what} does not exist")
        return found

    def exists(self, key: str) -> bool:
        return self.raw(key) is not None

    def put(self, key: str, record: Any) -> None:
        self._writes[key] = encode(record)

    def put_raw(self, key: str, value: bytes) -> None:
        self._writes[key] = value

    def delete(self, key: str) -> None:
        self._writes[key] = None

    def scan(self, object_type: str, attributes: list[str]) -> Generator[tuple[str, bytes], None, None]:
        """Committed rows under a partial composite key (buffered writes are not merged in).

        A peer ends an unpaginated scan at its `totalQueryLimit` without an error, so this is only
        for ranges known to be small or read only in part (compaction stops early); queries that
        must see every row use `scan_all`.
        """
        with self.stub.get_state_by_partial_composite_key(object_type, attributes) as rows:
            for row in rows:
                yield row.key, row.value

    def scan_range(self, start_key: str, end_key: str) -> Iterator[tuple[str, bytes]]:
        """Committed rows of plain (not composite) keys in [start_key, end_key)."""
        with self.stub.get_state_by_range(start_key, end_key) as rows:
            for row in rows:
                yield row.key, row.value

    def scan_all(self, object_type: str, attributes: list[str]) -> Iterator[tuple[str, bytes]]:
        """Every committed row under a partial composite key, a page at a time, never cut short.

        Only for queries: Fabric refuses writes in a transaction that ran a paginated query. One
        evaluation reads one snapshot (the peer holds commits back while it simulates).
        """
        return _every_page(
            lambda bookmark: self.stub.get_state_by_partial_composite_key_with_pagination(
                object_type, attributes, QUERY_PAGE_SIZE, bookmark
            )
        )

    def scan_range_all(self, start_key: str, end_key: str) -> Iterator[tuple[str, bytes]]:
        """`scan_all` for plain keys in [start_key, end_key)."""
        return _every_page(
            lambda bookmark: self.stub.get_state_by_range_with_pagination(
                start_key, end_key, QUERY_PAGE_SIZE, bookmark
            )
        )

    def page(
        self, object_type: str, attributes: list[str], page_size: int, bookmark: str
    ) -> tuple[list[tuple[str, bytes]], str]:
        """One page of committed rows under a partial composite key, and the next page's bookmark.

        The bookmark comes from the caller, and a peer starts the scan AT the bookmark without
        checking it against the query's range (Fabric's `core/chaincode` handler): a bookmark
        naming another member's rows would return them. So it must lie in the queried range (400).
        Every paginated coin query goes through here.
        """
        start_key, end_key = partial_composite_key_range(object_type, attributes)
        if bookmark and not (bookmark.startswith(start_key) and bookmark < end_key):
            raise BadRequest('bookmark does not belong to this query; pass one this query returned, or ""')
        rows, page = self.stub.get_state_by_partial_composite_key_with_pagination(
            object_type, attributes, page_size, bookmark
        )
        with rows:
            found = [(row.key, row.value) for row in rows]
        return found, page.bookmark

    def emit(self, name: str, payload: dict[str, Any]) -> None:
        """The transaction's one chaincode event (a second call is a programming error)."""
        if self._event is not None:
            raise RuntimeError("a coin transaction emits exactly one event")
        self._event = (name, json.dumps(payload, sort_keys=True, separators=(",", ":")).encode("utf-8"))

    def commit(self) -> None:
        """Hand the buffered writes (in key order, for determinism) and the event to the stub."""
        for key in sorted(self._writes):
            value = self._writes[key]
            if value is None:
                self.stub.del_state(key)
            else:
                self.stub.put_state(key, value)
        if self._event is not None:
            self.stub.set_event(*self._event)

    # ---- configuration and policy ---------------------------------------------------------------------

    @property
    def config(self) -> Config:
        if self._config is None:
            config = self.get(Config, keys.CONFIG)
            if config is None:
                raise Conflict("the ledger is not initialised; a district admin must call init_ledger first")
            self._config = config
        return self._config

    @property
    def policy(self) -> Policy:
        """The policy version in force at the proposal's timestamp."""
        policy = self.policy_in_force
        if policy is None:
            raise Conflict(f"no policy is in force at {self.timestamp}")
        return policy

    @property
    def policy_in_force(self) -> Policy | None:
        """The policy version in force at the proposal's timestamp, or None (not initialised yet)."""
        if not self._policy_loaded:
            self._policy = self.policy_at(self.now)
            self._policy_loaded = True
        return self._policy

    def policy_at(self, moment: datetime) -> Policy | None:
        """The policy version in force at `moment`, or None (e.g. for the endorsing peer's clock)."""
        version = version_in_force(self.policy_versions(), moment)
        return None if version is None else self.policy_version(version)

    def policy_version(self, version: int) -> Policy:
        """Version `version`, read once per transaction (lots name the versions that rule them)."""
        found = self._versions.get(version)
        if found is None:
            raw = self.raw(keys.policy(version))
            if raw is None:
                raise NotFound(f"policy version {version} does not exist")
            found = self._versions[version] = self._policies.decode(version, raw, self._channel)
        return found

    def remembered_policy(self, version: int) -> Policy | None:
        """Version `version` as an earlier transaction of this process read it, if one did; no read.

        Only to name keys before the version's own read returns (`read_plans`); rules use `policy_version`.
        """
        return self._policies.remembered(version, self._channel)

    def policy_versions(self) -> list[tuple[int, str]]:
        """The policy index (version, effective_from), decoded once per value it has in this
        transaction (an earning reads it three times; a rule that writes it reads the new one).
        Shared: callers must not change the list."""
        raw_index = self.raw(keys.POLICY_INDEX)
        if raw_index is None:
            return []
        if self._index is None or self._index[0] is not raw_index:
            self._index = (raw_index, decode_index(raw_index))
        return self._index[1]


def _every_page(fetch: Callable[[str], tuple[Any, Any]]) -> Iterator[tuple[str, bytes]]:
    """The rows of every page `fetch(bookmark)` returns, from the first until the bookmark runs out."""
    bookmark = ""
    while True:
        rows, page = fetch(bookmark)
        with rows:
            yield from ((row.key, row.value) for row in rows)
        if not page.bookmark:
            return
        bookmark = page.bookmark
