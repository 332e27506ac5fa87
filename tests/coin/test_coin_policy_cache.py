"""The contract keeps decoded policy versions, keyed by version and the exact bytes read."""

from __future__ import annotations

import json

from coin_network import EVIDENCE, CoinNetwork
from seocho_coin.policy import default_policy_data
from seocho_coin.policy_cache import PolicyCache


def raw(**changes: object) -> bytes:
    return json.dumps({**default_policy_data(), **changes}, sort_keys=True).encode()


def test_the_same_bytes_decode_once() -> None:
    cache = PolicyCache()
    first = cache.decode(1, raw())
    assert cache.decode(1, raw()) is first
    assert len(cache) == 1


def test_other_bytes_under_the_same_version_are_decoded_afresh() -> None:
    cache = PolicyCache()
    cheap = cache.decode(1, raw(coin_value_krw=100))
    dear = cache.decode(1, raw(coin_value_krw=200))
    assert (cheap.coin_value_krw, dear.coin_value_krw) == (100, 200)
    assert cache.decode(2, raw(version=2)).version == 2


def test_a_version_is_remembered_per_channel() -> None:
    """One process may serve two channels whose version 1 differ: neither's copy names the other's keys."""
    cache = PolicyCache()
    cache.decode(1, raw(coin_value_krw=100), "district")
    assert cache.remembered(1, "district").coin_value_krw == 100  # type: ignore[union-attr]
    assert cache.remembered(1, "other") is None
    cache.decode(1, raw(coin_value_krw=200), "other")
    assert cache.remembered(1, "other").coin_value_krw == 200  # type: ignore[union-attr]
    assert cache.remembered(1, "district").coin_value_krw == 100  # type: ignore[union-attr]
    cache.decode(1, raw(coin_value_krw=300), "district")  # two contents on one channel: no guess
    assert cache.remembered(1, "district") is None


def test_the_cache_is_bounded() -> None:
    cache = PolicyCache(max_entries=3)
    for value in range(100, 110):
        cache.decode(1, raw(coin_value_krw=value))
    assert len(cache) == 3
    assert cache.decode(1, raw(coin_value_krw=109)).coin_value_krw == 109


def test_transactions_reuse_the_decoded_policy(net: CoinNetwork) -> None:
    contract = net.contract
    assert contract is not None
    net.submit("cc_staff", "earn", "M-001", "course_session", 1, EVIDENCE, "r1")
    decoded = len(contract.policies)
    for n in range(5):
        net.submit("cc_staff", "earn", "M-001", "course_session", 1, EVIDENCE, f"more{n}")
    assert len(contract.policies) == decoded == 1
    net.submit("admin", "set_policy", {"effective_from": "now", "coin_value_krw": 100})
    assert net.submit("cc_staff", "earn", "M-001", "course_session", 1, EVIDENCE, "r2")["krw"] == 100
    assert len(contract.policies) == 2
