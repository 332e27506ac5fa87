"""`EmbeddedLedger`: run Python chaincode unchanged, in-process, with Fabric's transaction semantics.

A transaction goes through the same phases as on a network: a client's signed proposal (or one
built here for a local identity) is checked as an endorser checks it, the chaincode is executed
against a `TxSimulator` through the ordinary `ChaincodeStub` (endorsement), and the endorsed
transactions are committed as one block after MVCC validation.
Everything is stored durably in SQLite (see `store.py`).
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from cryptography import x509
from fabric_protos.peer import chaincode_event_pb2, chaincode_pb2, proposal_pb2
from fabric_protos.peer.transaction_pb2 import TxValidationCode
from fabric_shim.batching import FABRIC_3_1_DEFAULTS, PeerFeatures
from fabric_shim.calls import PeerError
from fabric_shim.chaincode import Chaincode, Response

from embedded_ledger import blocks
from embedded_ledger.blocks import Block, ChaincodeEventRecord, TransactionRecord
from embedded_ledger.identities import Identity, IdentityRegistry
from embedded_ledger.keystore import DatabaseKeyStore, DirectoryKeyStore, KeyStore
from embedded_ledger.membership import ChannelMembership
from embedded_ledger.proposal import build_proposal
from embedded_ledger.proposal_validation import ProposalError, unpack_proposal
from embedded_ledger.runtime import ChaincodeRuntime, as_runtime
from embedded_ledger.rwset import ReadWriteSet
from embedded_ledger.simulator import TxSimulator
from embedded_ledger.store import LedgerStore, VersionedValue
from embedded_ledger.validator import CandidateTransaction, validate_block

logger = logging.getLogger(__name__)

DATABASE_FILE = "ledger.sqlite"
KEYSTORE_DIRECTORY = "keystore"


class ChaincodeNotFoundError(LookupError):
    """No chaincode is installed under that name."""


class EndorsementError(Exception):
    """The chaincode answered with status >= 400, so the transaction cannot be submitted.

    `transaction` is what the simulation produced (its read/write set shows what was not written).
    """

    def __init__(self, transaction: EndorsedTransaction) -> None:
        response = transaction.response
        super().__init__(f"endorsement failed with status {response.status}: {response.message}")
        self.transaction = transaction

    @property
    def response(self) -> Response:
        return self.transaction.response


class CommitError(Exception):
    """The transaction was ordered but invalidated at commit (e.g. MVCC_READ_CONFLICT)."""

    def __init__(self, tx_id: str, code: int) -> None:
        self.tx_id = tx_id
        self.code = code
        self.code_name = TxValidationCode.Name(code)
        super().__init__(f"transaction {tx_id} was invalidated: {self.code_name} ({code})")


@dataclass(frozen=True)
class EndorsedTransaction:
    """A simulated transaction; with a successful response it is ready to be committed."""

    tx_id: str
    chaincode_name: str
    function: str
    creator_msp: str
    timestamp: datetime
    response: Response
    rwset: ReadWriteSet
    event: chaincode_event_pb2.ChaincodeEvent | None
    proposal: proposal_pb2.SignedProposal


class EmbeddedLedger:
    """A single-channel, single-peer ledger living in one SQLite database.

    Use `EmbeddedLedger.open(directory)` (or `open(None)` for an in-memory ledger), `install`
    chaincode, enroll identities with `ledger.identities.enroll(...)`, then `evaluate`/`submit`; or,
    as a peer, take clients' own signed proposals with `evaluate_proposal`/`endorse_proposal`.
    All methods are thread-safe; transactions are simulated and committed one at a time.
    """

    def __init__(
        self, store: LedgerStore, keys: KeyStore, channel_id: str, clock: Callable[[], datetime] | None = None
    ) -> None:
        self.channel_id = channel_id
        self._clock = clock or _utc_now
        self._store = store
        self._lock = threading.RLock()
        self._chaincodes: dict[str, ChaincodeRuntime] = {}
        self.features: PeerFeatures = FABRIC_3_1_DEFAULTS
        """The batched calls offered to chaincode, as a v3.1 peer's `chaincode.runtimeParams`
        (`fabric_shim.batching.NO_BATCHING` answers as a v2.5 peer does)."""
        self.identities = IdentityRegistry(store, keys)
        self.membership = ChannelMembership(store)
        with store.exclusive():  # two processes may open a new ledger at once: one genesis block
            if store.height == 0:
                self._write_block([], [])  # so transaction blocks start at 1 as on a channel

    @classmethod
    def open(
        cls,
        path: str | Path | None,
        channel_id: str = "seocho",
        *,
        clock: Callable[[], datetime] | None = None,
    ) -> EmbeddedLedger:
        """Open (or create) the ledger kept in directory `path`; None = in memory, gone on close.

        `clock` stamps the proposals built here for local identities (default: the wall clock, UTC).
        """
        if path is None:
            store = LedgerStore(None)
            return cls(store, DatabaseKeyStore(store), channel_id, clock)
        directory = Path(path)
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        store = LedgerStore(directory / DATABASE_FILE)
        return cls(store, DirectoryKeyStore(directory / KEYSTORE_DIRECTORY), channel_id, clock)

    def __enter__(self) -> EmbeddedLedger:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            self._store.close()

    def install(self, name: str, chaincode: Chaincode | ChaincodeRuntime) -> None:
        """Make `chaincode` callable as `name` (replacing any chaincode installed under that name).

        `chaincode` is a Python `Chaincode` run in-process, or a `ChaincodeRuntime` such as
        `embedded_ledger.remote.RemoteChaincode` (a chaincode-as-a-service server).
        """
        with self._lock:
            self._chaincodes[name] = as_runtime(chaincode)

    # -- transactions -----------------------------------------------------------------------------

    def evaluate(
        self,
        identity: Identity,
        chaincode_name: str,
        function: str,
        args: Sequence[str | bytes] = (),
        transient: Mapping[str, bytes] | None = None,
    ) -> Response:
        """Run a query as `identity`: build and sign its proposal, then `evaluate_proposal`."""
        return self.evaluate_proposal(self._propose(identity, chaincode_name, function, args, transient))

    def endorse(
        self,
        identity: Identity,
        chaincode_name: str,
        function: str,
        args: Sequence[str | bytes] = (),
        transient: Mapping[str, bytes] | None = None,
    ) -> EndorsedTransaction:
        """Endorse as `identity`: build and sign its proposal, then `endorse_proposal`."""
        return self.endorse_proposal(self._propose(identity, chaincode_name, function, args, transient))

    def evaluate_proposal(self, signed_proposal: proposal_pb2.SignedProposal) -> Response:
        """Check a client's proposal as a peer does, simulate it and return the chaincode's
        response, whatever its status. Raises `ProposalError` (or its `IdentityError`) when a check
        fails, `ChaincodeNotFoundError` when the chaincode is not installed."""
        return self._process(signed_proposal).response

    def endorse_proposal(self, signed_proposal: proposal_pb2.SignedProposal) -> EndorsedTransaction:
        """Check a client's proposal as a peer does and simulate it for a later `commit`, with the
        client's tx id, creator, timestamp and transient data.

        Raises `ProposalError` when a check fails (malformed, wrong channel or header type, tx id not
        hex(SHA-256(nonce ‖ creator)), tx id already committed; `IdentityError` for an untrusted,
        expired or badly signing creator), `ChaincodeNotFoundError`, or `EndorsementError` when the
        chaincode answers with status >= 400.
        """
        endorsed = self._process(signed_proposal)
        if not endorsed.response.ok:
            raise EndorsementError(endorsed)
        return endorsed

    # -- channel membership -----------------------------------------------------------------------

    def msp_roots(self, msp_id: str) -> list[x509.Certificate]:
        """The roots creators of `msp_id` must chain to: the local CA of that MSP (if any identity was
        enrolled in it) and the roots added with `trust_msp_root`. Empty for an unknown MSP."""
        return self.membership.roots(msp_id)

    def trust_msp_root(self, msp_id: str, ca_pem: str | bytes) -> None:
        """Accept creators of `msp_id` whose certificate was issued by `ca_pem`, e.g. the root of a
        real Fabric CA, so its enrolled identities can sign proposals here. Kept in the ledger."""
        self.membership.trust_root(msp_id, ca_pem)

    def commit(self, transactions: Sequence[EndorsedTransaction]) -> Block:
        """Validate `transactions` in order and commit them as one block; only valid ones apply."""
        for tx in transactions:
            if not tx.response.ok:
                raise ValueError(f"transaction {tx.tx_id} failed endorsement and cannot be ordered")
        with self._lock:
            return self._write_block(list(transactions), [tx.rwset.digest_lines() for tx in transactions])

    def submit(
        self,
        identity: Identity,
        chaincode_name: str,
        function: str,
        args: Sequence[str | bytes] = (),
        transient: Mapping[str, bytes] | None = None,
    ) -> Response:
        """Endorse and commit in a block of its own; raises `EndorsementError` or `CommitError`."""
        with self._lock:
            endorsed = self.endorse(identity, chaincode_name, function, args, transient)
            block = self.commit([endorsed])
        code = block.transactions[0].validation_code
        if code != TxValidationCode.VALID:
            raise CommitError(endorsed.tx_id, code)
        return endorsed.response

    # -- queries of the ledger itself -------------------------------------------------------------

    @property
    def height(self) -> int:
        """Number of blocks, genesis included (the next block's number)."""
        return self._store.height

    def get_block(self, number: int) -> Block:
        block = self._store.get_block(number)
        if block is None:
            raise IndexError(f"block {number} does not exist (height {self.height})")
        return block

    def transaction_status(self, tx_id: str) -> TransactionRecord | None:
        """Where and how `tx_id` was committed, or None when it never was."""
        return self._store.transaction(tx_id)

    def world_state(self, chaincode_name: str) -> dict[str, VersionedValue]:
        """Every public key of `chaincode_name` with its value and version, as committed (a dump)."""
        return dict(self._store.scan(chaincode_name, "", "", ""))

    def chaincode_events(self, chaincode_name: str, start_block: int = 0) -> Iterator[ChaincodeEventRecord]:
        """Events of valid transactions of `chaincode_name`, in commit order, from `start_block` on."""
        return self._store.events(chaincode_name, start_block)

    # -- internals --------------------------------------------------------------------------------

    def _propose(
        self,
        identity: Identity,
        chaincode_name: str,
        function: str,
        args: Sequence[str | bytes],
        transient: Mapping[str, bytes] | None,
    ) -> proposal_pb2.SignedProposal:
        return build_proposal(
            identity, self.channel_id, chaincode_name, function, args, transient, timestamp=self._clock()
        ).signed_proposal

    def _process(self, signed: proposal_pb2.SignedProposal) -> EndorsedTransaction:
        """Check `signed` as an endorser does, then run it with the client's tx id and headers."""
        proposal = unpack_proposal(signed)
        proposal.validate_headers(self.channel_id)
        member = self.membership.verify(proposal.creator, signed.proposal_bytes, signed.signature)
        tx_id = proposal.tx_id
        with self._lock:
            if self._store.committed_tx_ids([tx_id]):
                raise ProposalError(f"duplicate transaction found [{tx_id}]")
            chaincode = self._chaincode(proposal.chaincode_name)

            def invoke_nested(
                name: str, chaincode_input: chaincode_pb2.ChaincodeInput, calls: TxSimulator
            ) -> Response:
                try:
                    called = self._chaincode(name)
                except ChaincodeNotFoundError as exc:
                    raise PeerError(str(exc)) from None
                return self._execute(called, calls, chaincode_input, signed)[0]

            simulator = TxSimulator(
                self._store,
                self.channel_id,
                tx_id,
                proposal.chaincode_name,
                invoke_chaincode=invoke_nested,
                features=self.features,
            )
            try:
                response, event = self._execute(chaincode, simulator, proposal.chaincode_input, signed)
            finally:
                simulator.finish()
        if event is not None:
            event.chaincode_id = proposal.chaincode_name
            event.tx_id = tx_id
        return EndorsedTransaction(
            tx_id=tx_id,
            chaincode_name=proposal.chaincode_name,
            function=proposal.function,
            creator_msp=member.msp_id,
            timestamp=proposal.timestamp,
            response=response,
            rwset=simulator.rwset,
            event=event,
            proposal=signed,
        )

    def _chaincode(self, name: str) -> ChaincodeRuntime:
        try:
            return self._chaincodes[name]
        except KeyError:
            raise ChaincodeNotFoundError(f"chaincode {name!r} is not installed") from None

    def _execute(
        self,
        chaincode: ChaincodeRuntime,
        calls: TxSimulator,
        chaincode_input: chaincode_pb2.ChaincodeInput,
        signed: proposal_pb2.SignedProposal,
    ) -> tuple[Response, chaincode_event_pb2.ChaincodeEvent | None]:
        """Run one chaincode; a failure to run it comes back as a response with status >= 400."""
        return chaincode.execute(calls, self.channel_id, calls.tx_id, chaincode_input, signed)

    def _write_block(self, transactions: list[EndorsedTransaction], digests: list[list[bytes]]) -> Block:
        # The block number, the validation and the write form one SQLite write transaction, so another
        # process committing to the same ledger directory cannot slip a block in between.
        with self._store.exclusive():
            return self._validate_and_write(transactions, digests)

    def _validate_and_write(
        self, transactions: list[EndorsedTransaction], digests: list[list[bytes]]
    ) -> Block:
        number = self._store.height
        previous = self._store.get_block(number - 1) if number else None
        candidates = [CandidateTransaction(tx.tx_id, tx.rwset, tx.timestamp) for tx in transactions]
        validation = validate_block(self._store, number, candidates)
        records: list[TransactionRecord] = []
        events: list[ChaincodeEventRecord] = []
        tx_digests: list[bytes] = []
        for tx_num, (tx, code, lines) in enumerate(zip(transactions, validation.codes, digests, strict=True)):
            records.append(
                TransactionRecord(
                    tx.tx_id, number, tx_num, code, tx.chaincode_name, tx.function, tx.creator_msp,
                    tx.response.status, tx.timestamp,
                )
            )  # fmt: skip
            tx_digests.append(hashlib.sha256(tx.proposal.SerializeToString() + b"\n".join(lines)).digest())
            if code == TxValidationCode.VALID and tx.event is not None:
                events.append(
                    ChaincodeEventRecord(
                        number, tx.tx_id, tx.chaincode_name, tx.event.event_name, tx.event.payload
                    )
                )
        previous_hash = b"" if previous is None else previous.hash
        data_hash = blocks.data_hash(tx_digests)
        block = Block(
            number=number,
            hash=blocks.block_header_hash(number, previous_hash, data_hash),
            previous_hash=previous_hash,
            data_hash=data_hash,
            timestamp=datetime.now(UTC),
            transactions=records,
        )
        self._store.write_block(block, list(validation.updates.values()), validation.history, events)
        logger.debug("committed block %d with %d transactions", number, len(records))
        return block


def _utc_now() -> datetime:
    return datetime.now(UTC)
