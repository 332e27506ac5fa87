"""The two ledgers the coin-rule tests run on, behind one small interface, both on the wall clock.

`EmbeddedRules` is the coin contract on the embedded ledger; `PeerRules` is the same contract served on the
session's real Fabric network, called through our Gateway client. Neither pins a clock: proposals carry the
client's wall-clock time and the contract checks them against its own (on the network, the chaincode
servers' clock beside their peers). `stamped(moment)` is the only way a test chooses a proposal's time,
as a client with a wrong clock would; the peer then judges it by the skew allowance.

A refusal is `Refused` (the chaincode's status and message) on both, raised at endorsement: nothing was
ordered, so a test checks that nothing moved by reading the ledger back.
"""

from __future__ import annotations

import contextlib
import json
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import fabric_gateway as fg
from coin_network import DISTRICT, CallFailed, CoinNetwork, encode_arg
from fabric_network_support import RunningNetwork, enroll_identity
from fabric_protos.gateway import gateway_pb2
from fabric_protos.peer import proposal_pb2
from fabric_shim.cid import ClientIdentity
from polling import wait_for
from seocho.errors import RejectedError
from seocho.gateway_backend import GatewayBackend


class Refused(AssertionError):
    """The chaincode refused a transaction at endorsement (nothing was ordered)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


class RulesLedger(Protocol):
    variant: str
    shared: bool
    """True when other tests' data is on the same ledger (the session network): totals are deltas."""

    def enroll(self, alias: str, msp: str, **attributes: str) -> None: ...
    def client_id(self, alias: str) -> str: ...
    def submit(self, who: str, fn: str, *args: Any) -> Any: ...
    def query(self, who: str, fn: str, *args: Any) -> Any: ...
    def stamped(self, moment: datetime) -> contextlib.AbstractContextManager[None]: ...


def now() -> datetime:
    """The ledger's clock: the machine's, which the embedded contract and the chaincode servers read."""
    return datetime.now(UTC)


def refusal(call: Callable[[], object]) -> Refused:
    """The `Refused` that `call` raises; fails the test when it succeeds."""
    try:
        result = call()
    except Refused as refused:
        return refused
    raise AssertionError(f"expected a refusal, got {result!r}")


def wait_until(condition: Callable[[], bool], what: str, patience: float = 120.0) -> None:
    """`polling.wait_for` with the rules' patience: a reading of the ledger or its clock (policy versions
    come into force, requests expire) may take up to two minutes on a busy network."""
    wait_for(condition, what, patience)


class _WallClock:
    """`coin_network.Clock`'s two readings, both the wall clock; proposals may be stamped at a set moment."""

    def __init__(self) -> None:
        self.stamp: datetime | None = None

    def peer_now(self) -> datetime:
        return now()

    def now(self) -> datetime:
        return self.stamp or now()


class EmbeddedRules:
    """The coin contract on a fresh in-memory embedded ledger, on the wall clock."""

    variant = "embedded"
    shared = False

    def __init__(self) -> None:
        self._clock = _WallClock()
        self.net = CoinNetwork.open(self._clock)  # type: ignore[arg-type]

    def close(self) -> None:
        self.net.ledger.close()

    def enroll(self, alias: str, msp: str, **attributes: str) -> None:
        self.net.enroll(alias, msp, **attributes)

    def client_id(self, alias: str) -> str:
        return self.net.client_id(alias)

    def submit(self, who: str, fn: str, *args: Any) -> Any:
        try:
            return self.net.submit(who, fn, *args)
        except CallFailed as failed:
            raise Refused(failed.status, failed.message) from None

    def query(self, who: str, fn: str, *args: Any) -> Any:
        try:
            return self.net.query(who, fn, *args)
        except CallFailed as failed:
            raise Refused(failed.status, failed.message) from None

    @contextlib.contextmanager
    def stamped(self, moment: datetime) -> Iterator[None]:
        self._clock.stamp = moment
        try:
            yield
        finally:
            self._clock.stamp = None


class _StampedContract:
    """The parts of `fg.Contract` that `GatewayBackend` uses, with every proposal stamped at `moment`.

    Built through the offline-signing path (an unsigned proposal, signed here, rebuilt by the Network), so
    it is the client SDK's own flow with only the client's clock changed.
    """

    def __init__(
        self, network: fg.Network, contract: fg.Contract, identity: fg.X509Identity, signer: fg.Signer,
        moment: datetime,
    ) -> None:  # fmt: skip
        self._network, self._contract = network, contract
        self._identity, self._signer, self._moment = identity, signer, moment
        self.channel_id, self.chaincode_name = contract.channel_id, contract.chaincode_name

    def new_proposal(self, function: str, *args: str) -> fg.Proposal:
        proposal, tx_id = fg.build_proposal(
            self._identity.serialize(), self.channel_id, self.chaincode_name, function, args,
            timestamp=self._moment,
        )  # fmt: skip
        proposed = gateway_pb2.ProposedTransaction(
            transaction_id=tx_id,
            proposal=proposal_pb2.SignedProposal(proposal_bytes=proposal.SerializeToString()),
        )
        unsigned = self._network.new_signed_proposal(proposed.SerializeToString(), b"")
        return self._network.new_signed_proposal(unsigned.bytes(), self._signer(unsigned.digest()))

    def evaluate_transaction(self, function: str, *args: str) -> bytes:
        return self.new_proposal(function, *args).evaluate()

    def new_commit(self, transaction_id: str) -> fg.Commit:
        return self._contract.new_commit(transaction_id)


@dataclass
class _Person:
    identity: fg.X509Identity
    signer: fg.Signer
    gateway: fg.Gateway
    network: fg.Network
    contract: fg.Contract


@dataclass
class PeerRules:
    """The coin contract `chaincode` on the session network, through the district peer's Gateway.

    Aliases are this test's; each enrolls a new CA identity under a unique name, so tests on the shared
    network never share an identity.
    """

    running: RunningNetwork
    chaincode: str
    variant: str = "fabric"
    shared: bool = True
    _people: dict[str, _Person] = field(default_factory=dict)
    _stamp: datetime | None = None
    _token: str = field(default_factory=lambda: secrets.token_hex(4))

    def close(self) -> None:
        for person in self._people.values():
            person.gateway.close()

    def enroll(self, alias: str, msp: str, **attributes: str) -> None:
        org = self.running.district if msp == DISTRICT else self.running.partners
        assert org.msp_id == msp, (org.msp_id, msp)
        identity, signer = enroll_identity(
            self.running, org, f"rules-{alias.replace('_', '-')}-{self._token}",
            {f"seocho.{k}": v for k, v in attributes.items()},
        )  # fmt: skip
        peer = self.running.district.peers[0]
        gateway = fg.connect(
            peer.address, identity, signer,
            tls_root_certs=self.running.network.layout.org_tls_ca_cert(self.running.district),
            server_name_override=peer.node_id,
        )  # fmt: skip
        network = gateway.get_network(self.running.topology.channel)
        self._people[alias] = _Person(
            identity, signer, gateway, network, network.get_contract(self.chaincode)
        )

    def client_id(self, alias: str) -> str:
        return str(ClientIdentity(self._people[alias].identity.serialize()).id)

    def submit(self, who: str, fn: str, *args: Any) -> Any:
        return self._call(who, lambda backend: backend.submit(fn, [encode_arg(a) for a in args]))

    def query(self, who: str, fn: str, *args: Any) -> Any:
        return self._call(who, lambda backend: backend.evaluate(fn, [encode_arg(a) for a in args]))

    @contextlib.contextmanager
    def stamped(self, moment: datetime) -> Iterator[None]:
        self._stamp = moment
        try:
            yield
        finally:
            self._stamp = None

    def _call(self, who: str, call: Callable[[GatewayBackend], bytes]) -> Any:
        person = self._people[who]
        contract: Any = person.contract
        if self._stamp is not None:
            contract = _StampedContract(
                person.network, person.contract, person.identity, person.signer, self._stamp
            )
        try:
            payload = call(GatewayBackend(contract))
        except RejectedError as rejected:
            raise Refused(rejected.status, str(rejected)) from None
        return json.loads(payload) if payload else None


def local_time(moment: datetime, offset_minutes: int) -> datetime:
    return moment.astimezone(UTC) + timedelta(minutes=offset_minutes)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()
