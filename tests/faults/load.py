"""A bounded coin load on the session network: threads earning, paying and donating, every outcome kept.

Eight workers, each paying and donating for one member (the demo has seven, so two share one), earning
through the community centre's staff, submit through the coin SDK exactly as an application would. Every
request id starts with the run's prefix, so the ledger's own record of the run can be read back from the
block stream (ledger_record.py). A worker's exception other than the SDK's answers ends the run and fails
the test (tests/background.py); what the SDK answers is recorded as the client saw it:
valid (with its transaction id), refused by the chaincode, invalidated at commit, not committed, or unknown
(with its transaction id, resolved later by asking for the commit status).
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import TypeVar

from background import Background
from fabric_network_support import RunningNetwork
from seocho.coin import Coin
from seocho.errors import CommitConflictError, OutcomeUnknownError, RejectedError, SeochoError
from seocho.gateway_backend import GatewayBackend, connect_gateway
from seocho.profile import load_profile

T = TypeVar("T")
STAFF = "staff-yangjae1"  # the demo's community centre: courses earn 1 coin each, no daily hour cap
INSTITUTION = "yangjae1-cc"
CHARITY = "chest-seoul"
MEMBERS = ("S-0001", "S-0002", "S-0003", "S-0004", "S-0005", "R-0001", "R-0002")


@dataclass
class Outcome:
    kind: str  # earn | pay | donate
    member: str
    coins: int  # as credited (+) or debited (-) when valid
    request_id: str
    result: str  # valid | refused | invalid | not_committed | unknown
    tx_id: str | None = None
    detail: str = ""
    started_at: float = 0.0
    finished_at: float = 0.0
    resolved: bool = False  # an unknown outcome later settled by its commit status


@dataclass
class Load:
    network: RunningNetwork
    workers: int = 8
    prefix: str = field(default_factory=lambda: f"LOAD{uuid.uuid4().hex[:8].upper()}-")
    outcomes: list[Outcome] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _counter: Iterator[int] = field(default_factory=itertools.count)

    def run(
        self,
        seconds: float,
        fault: Callable[[], T] | None = None,
        after: float = 0.0,
        fault_timeout: float = 300.0,
    ) -> tuple[list[Outcome], T | None]:
        """Runs the load while `fault()` runs alongside, for at least `seconds` and for `after` seconds
        more once the fault has returned; gives this run's outcomes and what the fault returned. A
        worker's or the fault's exception is raised here, as is a fault still running after
        `fault_timeout` seconds."""
        stop = threading.Event()
        start = len(self.outcomes)
        began = time.monotonic()
        owned = [(MEMBERS[i % len(MEMBERS)],) for i in range(self.workers)]
        workers = [
            Background(functools.partial(self._work, own, stop), name=f"load-{own[0]}") for own in owned
        ]
        try:
            found = Background(fault, name="fault").join(timeout=fault_timeout) if fault is not None else None
            # The load runs on past the fault (the event is only a timer here: nobody sets it early).
            stop.wait(max(after, seconds - (time.monotonic() - began)))
        finally:
            stop.set()
            for worker in workers:
                worker.join(timeout=300)
        return self.outcomes[start:], found

    def _work(self, members: tuple[str, ...], stop: threading.Event) -> None:
        profile = load_profile(self.network.profile())
        chooser = random.Random()
        with ExitStack() as stack:

            def backend(identity: str) -> GatewayBackend:
                gateway = stack.enter_context(connect_gateway(profile, identity))
                contract = gateway.get_network(profile.channel).get_contract(profile.chaincode)
                return GatewayBackend(
                    contract, submit_patience=20, commit_patience=20, retry_on_mvcc_conflict=3
                )

            staff = backend(STAFF)
            own = {member: backend(f"member-{member}") for member in members}
            while not stop.is_set():
                member = chooser.choice(members)
                roll = chooser.random()
                if roll < 0.5:
                    self._submit(
                        "earn",
                        member,
                        1,
                        staff,
                        lambda c, m, r: c.earn(m, "course_session", 1, _evidence(r), r),
                    )
                elif roll < 0.8:
                    self._submit(
                        "pay",
                        member,
                        -1,
                        own[member],
                        lambda c, m, r: c.pay(m, INSTITUTION, 1000, 1, "course", r),
                    )
                else:
                    self._submit(
                        "donate", member, -1, own[member], lambda c, m, r: c.donate(m, CHARITY, 1, r)
                    )

    def _submit(self, kind: str, member: str, coins: int, backend: GatewayBackend, call) -> None:  # type: ignore[no-untyped-def]
        request_id = f"{self.prefix}{kind}-{next(self._counter)}-{member}"
        outcome = Outcome(kind, member, coins, request_id, "valid", started_at=time.monotonic())
        try:
            call(Coin(backend), member, request_id)
            outcome.tx_id = backend.last_transaction_id
        except OutcomeUnknownError as exc:
            outcome.result, outcome.tx_id, outcome.detail = "unknown", exc.tx_id, exc.message
        except CommitConflictError as exc:
            outcome.result, outcome.tx_id, outcome.detail = "invalid", exc.tx_id, exc.validation_code
        except RejectedError as exc:
            outcome.result, outcome.detail = "refused", f"{exc.status} {exc.message}"
        except SeochoError as exc:
            outcome.result, outcome.detail = "not_committed", exc.message
            time.sleep(0.2)  # the node is down: do not spin
        outcome.finished_at = time.monotonic()
        with self._lock:
            self.outcomes.append(outcome)

    def resubmit(self, outcome: Outcome) -> str:
        """Submits `outcome`'s request again with the same request id; says what the chaincode answered."""
        profile = load_profile(self.network.profile())
        identity = STAFF if outcome.kind == "earn" else f"member-{outcome.member}"
        with connect_gateway(profile, identity) as gateway:
            contract = gateway.get_network(profile.channel).get_contract(profile.chaincode)
            coin = Coin(GatewayBackend(contract, retry_on_mvcc_conflict=3))
            r, m = outcome.request_id, outcome.member
            try:
                if outcome.kind == "earn":
                    coin.earn(m, "course_session", 1, _evidence(r), r)
                elif outcome.kind == "pay":
                    coin.pay(m, INSTITUTION, 1000, 1, "course", r)
                else:
                    coin.donate(m, CHARITY, 1, r)
            except RejectedError as exc:
                return f"refused {exc.status}"
        return "valid"


def _evidence(request_id: str) -> str:
    return hashlib.sha256(
        b"attendance sheet " + request_id.encode() + b" salt-kept-by-the-centre"
    ).hexdigest()
