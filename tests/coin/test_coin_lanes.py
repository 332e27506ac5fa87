"""`seocho_coin.lanes` alone, on a dict: random draws keep the budget's sums and never overdraw,
and a record of the old single-key layout is folded into the lanes with its totals."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st
from seocho_coin import keys
from seocho_coin.allowances import allowance_budget, pool_budget
from seocho_coin.lanes import LANES
from seocho_coin.records import Allowance, Institution, QuotaPool, encode
from seocho_coin.txn import Caller, Tx


class DictStub:
    def __init__(self, state: dict[str, bytes]) -> None:
        self.state = state
        self.tx_id = "t" * 64
        self.tx_timestamp = datetime(2024, 3, 4, tzinfo=UTC)

    def get_state(self, key: str) -> bytes | None:
        return self.state.get(key)

    def put_state(self, key: str, value: bytes) -> None:
        self.state[key] = value

    def del_state(self, key: str) -> None:
        self.state.pop(key, None)


def tx_on(state: dict[str, bytes]) -> Tx:
    return Tx(DictStub(state), Caller("M", "id", {}))  # type: ignore[arg-type]


def committed(tx: Tx) -> None:
    tx.commit()


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 500), st.lists(st.tuples(st.integers(0, LANES - 1), st.integers(1, 40)), max_size=60))
def test_draws_never_overdraw_and_keep_the_sums(allocated: int, draws: list[tuple[int, int]]) -> None:
    state: dict[str, bytes] = {}
    tx = tx_on(state)
    allowance_budget(tx, "cc-01", "2024", "d").grow(allocated)
    committed(tx)
    used = 0
    for lane, amount in draws:
        tx = tx_on(state)
        budget = allowance_budget(tx, "cc-01", "2024", "d")
        accepted = budget.draw(lane, amount)
        assert accepted == (used + amount <= allocated)
        committed(tx)
        used += amount if accepted else 0
        totals = allowance_budget(tx_on(state), "cc-01", "2024", "d").totals()
        assert (totals.limit, totals.taken) == (allocated, used)
        for record in allowance_budget(tx_on(state), "cc-01", "2024", "d").load_all():
            assert 0 <= record.used <= record.allocated


def test_an_old_single_key_allowance_and_pool_are_folded_into_lanes() -> None:
    state = {
        keys.allowance("cc-01", "2024", "d"): encode(Allowance("cc-01", "2024", "d", 100, 30, 5)),
        keys.quota("cc-01", "2024"): encode(QuotaPool("cc-01", "2024", 1_000, 100, 5)),
    }
    institution = Institution("cc-01", "community_centre", [], True, False, 50_000, True, "")
    tx = tx_on(state)
    assert allowance_budget(tx, "cc-01", "2024", "d").draw(random.randrange(LANES), 70)
    assert not pool_budget(tx, institution, "2024").draw(3, 901)  # the old pool's 900, not 50,000
    assert pool_budget(tx, institution, "2024").draw(3, 900)
    committed(tx)
    assert keys.allowance("cc-01", "2024", "d") not in state and keys.quota("cc-01", "2024") not in state
    allowance = allowance_budget(tx_on(state), "cc-01", "2024", "d").totals()
    assert (allowance.limit, allowance.taken, allowance.reclaimed) == (100, 100, 5)
    pool = pool_budget(tx_on(state), institution, "2024").totals()
    assert (pool.limit, pool.taken, pool.reclaimed) == (1_000, 1_000, 5)
