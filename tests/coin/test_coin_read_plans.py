"""Read plans (`seocho_coin.read_plans`) batch a movement's reads and change nothing else.

Every proposal of the model-based test's random runs is simulated twice on the same state, once
with the plans and once without: the responses, events, read sets (keys and versions), range reads
and write sets must be identical (a refusal's read set is discarded by the peer, so there only the
answer and the empty write set count), on a ledger offering batched calls and on one that offers none.
And a movement's reads take the few batched round trips the plans promise.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from coin_network import Clock, build_world, kst
from coin_network import CoinNetwork as CoinNet
from embedded_ledger.ledger import EmbeddedLedger, EndorsedTransaction
from embedded_ledger.simulator import TxSimulator
from fabric_protos.peer import chaincode_shim_pb2
from fabric_shim.batching import NO_BATCHING
from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test
from seocho_coin import contract as coin_contract
from seocho_coin.policy_cache import PolicyCache
from test_coin_model_based import CoinMachine

Msg = chaincode_shim_pb2.ChaincodeMessage


def _outcome(endorsed: Any) -> tuple[Any, ...]:
    """What a peer makes of the simulation: a refusal (status >= 400) keeps only its answer."""
    rwset = endorsed.rwset
    if not endorsed.response.ok:
        return (endorsed.response, endorsed.event, rwset.writes)
    ranges = [(r.start_key, r.end_key, r.exhausted, r.results) for r in rwset.range_queries]
    event = None if endorsed.event is None else endorsed.event.SerializeToString()
    return (endorsed.response, event, rwset.reads, ranges, rwset.writes, rwset.metadata_writes)


@pytest.fixture
def compared(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every endorsement also runs without read plans first; yields the functions compared."""
    original = EmbeddedLedger._process
    plans = dict(coin_contract._READ_PLANS)
    functions: list[str] = []

    def twice(self: EmbeddedLedger, signed: Any) -> Any:
        coin_contract._READ_PLANS.clear()
        try:
            without = original(self, signed)
        finally:
            coin_contract._READ_PLANS.update(plans)
        planned = original(self, signed)
        assert _outcome(planned) == _outcome(without), planned.function
        functions.append(planned.function)
        return planned

    monkeypatch.setattr(EmbeddedLedger, "_process", twice)
    yield functions


_MACHINE_SETTINGS = settings(
    max_examples=8,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def test_plans_change_no_outcome_and_no_read_set(compared: list[str]) -> None:
    run_state_machine_as_test(CoinMachine, settings=_MACHINE_SETTINGS)
    assert {"earn", "pay", "pay_request", "donate"} & set(compared), compared


def test_plans_change_nothing_on_a_ledger_without_batching(
    compared: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    opened = EmbeddedLedger.open.__func__  # type: ignore[attr-defined]

    def unbatched(cls: type[EmbeddedLedger], *args: Any, **kwargs: Any) -> EmbeddedLedger:
        ledger = opened(cls, *args, **kwargs)
        ledger.features = NO_BATCHING
        return ledger

    monkeypatch.setattr(EmbeddedLedger, "open", classmethod(unbatched))
    run_state_machine_as_test(
        CoinMachine, settings=settings(_MACHINE_SETTINGS, max_examples=4, stateful_step_count=20)
    )
    assert {"earn", "pay", "pay_request", "donate"} & set(compared), compared


def test_every_movement_and_its_refusals_keep_their_outcome(compared: list[str]) -> None:
    net = build_world(CoinNet.open(Clock(kst(2024, 3, 4, 10))))
    try:
        net.submit("cc_staff", "earn", "M-001", "volunteer_hour", 3, "ab" * 32, "E-1")
        net.submit("wc_manager", "earn", "M-001", "volunteer_hour", 2, "cd" * 32, "E-2")
        net.submit("cc_staff", "earn", "M-002", "course_session", 10, "ef" * 32, "E-3")
        net.submit("m1", "pay", "M-001", "cc-01", 2_000, 5, "gym", "P-1")
        net.submit("m2", "donate", "M-002", "charity-01", 2, "D-1")
        net.submit("cc_staff", "create_payment_request", "K-1", 1_000, 3, "cafe", "2024-03-05T00:00:00+09:00")
        net.submit("m2", "pay_request", "cc-01", "K-1", "M-002")
        refused = [
            ("cc_staff", "earn", "M-001", "volunteer_hour", 9, "ab" * 32, "E-4"),  # daily cap
            ("cc_staff", "earn", "M-001", "volunteer_hour", 1, "ab" * 32, "E-1"),  # id used
            ("m1", "pay", "M-001", "cc-01", 2_000, 500, "gym", "P-2"),  # over the price
            ("m1", "pay", "M-002", "cc-01", 2_000, 5, "gym", "P-3"),  # not the member
            ("m2", "donate", "M-002", "charity-01", 999, "D-2"),  # too few coins
            ("m2", "pay_request", "cc-01", "K-1", "M-002"),  # already paid
        ]
        for call in refused:
            assert net.status(*call) >= 400, call
            net.simulate(*call)
    finally:
        net.ledger.close()
    assert Counter(compared)["earn"] >= 5 and {"pay", "donate", "pay_request"} <= set(compared)


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The message types every chaincode request of the next transactions sent."""
    sent: list[int] = []
    original = TxSimulator.call

    def counting(self: TxSimulator, msg_type: int, payload: bytes, channel_id: str, txid: str) -> bytes:
        sent.append(msg_type)
        return original(self, msg_type, payload, channel_id, txid)

    monkeypatch.setattr(TxSimulator, "call", counting)
    return sent


@pytest.mark.parametrize(
    ("function", "read_round_trips"),
    [
        # index, institution, request ids, member, balance; the policy in force with the lane and
        # hours it names (the process read that version before, for the earlier earnings)
        ("earn", 2),
        # index, member, institution, request ids, balance; the policies in force and of the lots
        ("pay", 2),
        ("donate", 2),
    ],
)
def test_a_movement_reads_in_a_few_batched_round_trips(
    calls: list[int], function: str, read_round_trips: int
) -> None:
    net = build_world(CoinNet.open(Clock(kst(2024, 3, 4, 10))))
    try:
        net.submit("cc_staff", "earn", "M-001", "volunteer_hour", 3, "ab" * 32, "E-1")
        net.submit("wc_manager", "earn", "M-001", "volunteer_hour", 2, "cd" * 32, "E-2")
        args = {
            "earn": ("cc_staff", "earn", "M-001", "volunteer_hour", 1, "ef" * 32, "E-3"),
            "pay": ("m1", "pay", "M-001", "cc-01", 2_000, 5, "gym", "P-1"),
            "donate": ("m1", "donate", "M-001", "charity-01", 5, "D-1"),
        }[function]
        calls.clear()
        net.submit(*args)
        sent = Counter(calls)
        assert sent[Msg.GET_STATE] + sent[Msg.GET_STATE_MULTIPLE] == read_round_trips, sent
        assert sent[Msg.WRITE_BATCH_STATE] == 1, sent
        assert sum(sent.values()) == read_round_trips + 1, sent  # nothing else, no single writes
    finally:
        net.ledger.close()


def _earn_after_two(net: CoinNet) -> EndorsedTransaction:
    net.submit("cc_staff", "earn", "M-001", "volunteer_hour", 3, "ab" * 32, "E-1")
    net.submit("wc_manager", "earn", "M-001", "volunteer_hour", 2, "cd" * 32, "E-2")
    return net.simulate("cc_staff", "earn", "M-001", "volunteer_hour", 1, "ef" * 32, "E-3")


def test_an_earning_without_a_remembered_policy_reads_the_same_keys_in_three_round_trips(
    calls: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    warm_net = build_world(CoinNet.open(Clock(kst(2024, 3, 4, 10))))
    try:
        warm = _earn_after_two(warm_net)
    finally:
        warm_net.ledger.close()
    monkeypatch.setattr(PolicyCache, "remembered", lambda *_args: None)  # as a fresh process
    cold_net = build_world(CoinNet.open(Clock(kst(2024, 3, 4, 10))))
    try:
        _earn_after_two(cold_net)
        calls.clear()
        cold = cold_net.simulate("cc_staff", "earn", "M-001", "volunteer_hour", 1, "ef" * 32, "E-3")
    finally:
        cold_net.ledger.close()
    assert cold.response.ok and warm.response.ok
    assert [read.key for read in cold.rwset.reads] == [read.key for read in warm.rwset.reads]
    kinds = [sorted(key.key.split("\x00")[1] for key in t.rwset.writes) for t in (cold, warm)]
    assert kinds[0] == kinds[1]  # the same rows (their keys and values name the transaction)
    assert Counter(calls)[Msg.GET_STATE] + Counter(calls)[Msg.GET_STATE_MULTIPLE] == 3, calls


def test_a_remembered_policy_that_differs_from_the_ledger_fails_the_earning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    net = build_world(CoinNet.open(Clock(kst(2024, 3, 4, 10))))
    try:
        real = PolicyCache.remembered

        def shifted(self: PolicyCache, version: int, channel: str = "") -> Any:
            found = real(self, version, channel)  # another local day: it names other hours and lane keys
            return None if found is None else dataclasses.replace(found, utc_offset_minutes=-600)

        net.submit("cc_staff", "earn", "M-001", "volunteer_hour", 3, "ab" * 32, "E-1")
        monkeypatch.setattr(PolicyCache, "remembered", shifted)
        with caplog.at_level(logging.DEBUG, logger="fabric_shim.contract"):  # the traceback: debug only
            refused = net.simulate("cc_staff", "earn", "M-001", "volunteer_hour", 1, "ef" * 32, "E-3")
        assert refused.response.status == 500, refused.response
        assert not refused.rwset.writes
        # Refused for the reason: the read-ahead's guess, not some other failure of the earning.
        assert "differs from the copy this process read before" in caplog.text, caplog.text
    finally:
        net.ledger.close()
