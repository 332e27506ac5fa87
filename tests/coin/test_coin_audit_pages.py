"""The audit in bounded pages equals the one-shot audit, on random ledgers, broken ones included.

`audit_supply_page` reads at most `ROWS_PER_PAGE` rows per evaluation; here the bound is set to a
few rows so that even a small ledger takes many pages, and every page boundary (inside a family,
at a family's end, across families) is crossed. Whatever the ledger holds, including balances,
receipts, members and tally rows altered behind the coin's back, the last page's document must be
exactly the one-shot's, and a broken ledger must be reported broken by both in the same way.
"""

from __future__ import annotations

from typing import Any
from unittest import mock

import pytest
from coin_network import DISTRICT, EVIDENCE, CallFailed, Clock, CoinNetwork, build_world, kst
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ledger_surgery import cid, keys_of, read_raw, write_raw
from seocho_coin import audit, keys

MEMBERS = {"M-001": "m1", "M-002": "m2"}

operation = st.one_of(
    st.tuples(st.just("earn"), st.sampled_from(sorted(MEMBERS)), st.integers(1, 6)),
    st.tuples(st.just("pay"), st.sampled_from(sorted(MEMBERS)), st.integers(1, 4)),
    st.tuples(st.just("donate"), st.sampled_from(sorted(MEMBERS)), st.integers(1, 4)),
    st.tuples(st.just("settle"), st.sampled_from(["cc-01", "charity-01"]), st.just(0)),
    st.tuples(st.just("register"), st.sampled_from(["senior", "resident"]), st.integers(1, 5)),
    st.tuples(st.just("deactivate"), st.just(""), st.integers(0, 4)),
)
damage = st.sampled_from(
    ["none", "balance_coin", "negative_lot", "member_gone", "receipt_coins", "tally_row", "stat_row"]
)


def apply(net: CoinNetwork, op: tuple[str, str, int], n: int) -> None:
    kind, target, amount = op
    if kind == "register":  # always succeeds: fresh ids
        entries = [
            {"member_id": f"N-{n:03d}{i}", "categories": [target], "client_id": cid(f"N-{n:03d}{i}")}
            for i in range(amount)
        ]
        net.submit("registrar", "register_members", entries)
        return
    try:
        if kind == "earn":
            net.submit("cc_staff", "earn", target, "course_session", amount, EVIDENCE, f"e{n}")
        elif kind == "pay":
            net.submit(MEMBERS[target], "pay", target, "cc-01", 10_000, amount, "gym", f"p{n}")
        elif kind == "donate":
            net.submit(MEMBERS[target], "donate", target, "charity-01", amount, f"d{n}")
        elif kind == "settle":
            manager = "cc_manager" if target == "cc-01" else "charity_manager"
            net.clock.advance(minutes=2)  # past the policy's settlement cutoff margin
            net.submit(manager, "request_settlement", target, f"S-{n}", "")
        else:
            member_keys = keys_of(net, keys.MEMBER)
            member = read_raw(net, member_keys[amount % len(member_keys)])
            net.submit("registrar", "deactivate_member", member["member_id"])
    except CallFailed:
        pass  # refused steps (no coins, already inactive, nothing to settle) change nothing


def break_ledger(net: CoinNetwork, how: str) -> None:
    """Alter one row as no coin transaction would (the audit must notice)."""
    if how == "none":
        return
    if how in ("balance_coin", "negative_lot"):
        key = keys.balance("M-001")
        balance = read_raw(net, key)
        lot = next(iter(balance["lots"]), "2024/v1")
        balance["lots"][lot] = balance["lots"].get(lot, 0) + (1 if how == "balance_coin" else -1_000)
        write_raw(net, {key: balance})
    elif how == "member_gone":
        write_raw(net, {keys.member("M-002"): None})
    elif how == "receipt_coins":
        start, end = keys.receipt_range()
        receipts = sorted(k for k in net.ledger.world_state("seocho") if start <= k < end)
        key = receipts[0] if receipts else keys.receipt("cc-01", "2024-03-04T01:00:00.000000Z", "forged")
        receipt = read_raw(net, key) or {
            "institution_id": "cc-01", "tx_id": "forged", "kind": "pay", "coins": 0, "coin_value_krw": 200,
            "krw": 0, "policy_version": 1, "timestamp": "2024-03-04T01:00:00.000000Z",
        }  # fmt: skip
        receipt["coins"] += 3
        write_raw(net, {key: receipt})
    elif how == "tally_row":
        write_raw(net, {keys.tally("2024-03", "2024-03-04T01:00:00.000000Z", "forged"): {"members": 2}})
    else:
        row = {"kind": "earn", "coins": 5, "krw": 1_000, "policy_version": 1}
        write_raw(net, {keys.stat("2024-03", "2024-03-04T01:00:00.000000Z", "forged"): row})


def paged(net: CoinNetwork, bound: int) -> tuple[dict[str, Any], list[int]]:
    """The paged audit's last document and the rows each page read."""
    cursor = ""
    sizes = []
    with mock.patch.object(audit, "ROWS_PER_PAGE", bound):
        while True:
            page = net.query("auditor", "audit_supply_page", cursor)
            sizes.append(page["rows_read"])
            if page["done"]:
                return page["audit"], sizes
            cursor = page["cursor"]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(operation, max_size=10), damage, st.integers(1, 7))
def test_the_paged_audit_equals_the_one_shot(ops: list[tuple[str, str, int]], how: str, bound: int) -> None:
    net = build_world(CoinNetwork.open(Clock(kst(2024, 3, 4, 10))))
    try:
        net.submit("cc_staff", "earn", "M-001", "course_session", 5, EVIDENCE, "seed")
        for n, op in enumerate(ops):
            apply(net, op, n)
        break_ledger(net, how)
        one_shot = net.query("auditor", "audit_supply")
        result, sizes = paged(net, bound)
        assert result == one_shot
        assert all(size <= bound for size in sizes)
        rows = sum(len(keys_of(net, family)) for family in (keys.BALANCE, keys.MEMBER, keys.INSTITUTION))
        start, end = keys.receipt_range()
        rows += sum(1 for k in net.ledger.world_state("seocho") if start <= k < end)
        assert sum(sizes) == rows  # every row read exactly once
        assert len(sizes) >= rows // bound
        assert one_shot["ok"] == (how == "none"), one_shot
        if how in ("member_gone", "tally_row"):
            assert not one_shot["counts_ok"]
    finally:
        net.ledger.close()


def test_a_commit_between_pages_is_refused_not_reported_as_missing_coins(net: CoinNetwork) -> None:
    net.submit("cc_staff", "earn", "M-001", "course_session", 5, EVIDENCE, "e1")
    with mock.patch.object(audit, "ROWS_PER_PAGE", 2):
        first = net.query("auditor", "audit_supply_page", "")
        assert not first["done"]
        # A payment between pages: a balance already counted shrinks, a receipt not yet counted appears.
        net.submit("m1", "pay", "M-001", "cc-01", 10_000, 2, "gym", "p1")
        cursor = first["cursor"]
        with pytest.raises(CallFailed) as refused:
            while True:
                page = net.query("auditor", "audit_supply_page", cursor)
                if page["done"]:
                    break
                cursor = page["cursor"]
    assert refused.value.status == 409 and "changed during the audit" in refused.value.message
    result, _sizes = paged(net, 2)  # started again, on a quiet ledger
    assert result["ok"] and result == net.query("auditor", "audit_supply")


def test_compaction_between_pages_changes_nothing(net: CoinNetwork) -> None:
    net.submit("cc_staff", "earn", "M-001", "course_session", 5, EVIDENCE, "e1")
    with mock.patch.object(audit, "ROWS_PER_PAGE", 2):
        first = net.query("auditor", "audit_supply_page", "")
        net.clock.advance(minutes=11)
        assert net.submit("admin", "compact_stats", "2024-03")["rows_folded"] > 0
        cursor = first["cursor"]
        while True:
            page = net.query("auditor", "audit_supply_page", cursor)
            if page["done"]:
                break
            cursor = page["cursor"]
    assert page["audit"]["ok"] and page["audit"] == net.query("auditor", "audit_supply")


@pytest.mark.parametrize(
    "cursor",
    [
        "not base64 at all!",
        audit.encode_cursor(audit.Recount(family=9)),
        audit.encode_cursor(audit.Recount(family=0, bookmark=keys.member("M-001"))),  # another family's key
        audit.encode_cursor(audit.Recount(family=3, bookmark=keys.balance("M-001"))),
        "eyJmYW1pbHkiOiAiMCJ9",  # {"family": "0"}
        "x" * 20_000,
    ],
)
def test_a_cursor_it_did_not_return_is_refused(net: CoinNetwork, cursor: str) -> None:
    assert net.evaluate("auditor", "audit_supply_page", cursor).status == 400


def test_the_sdk_pages_until_done(net: CoinNetwork) -> None:
    from seocho.backend import EmbeddedBackend
    from seocho.coin import Coin

    net.enroll("auditor2", DISTRICT, role="auditor")
    net.submit("cc_staff", "earn", "M-001", "course_session", 5, EVIDENCE, "e1")
    coin = Coin(EmbeddedBackend(net.ledger, net.people["auditor2"]))
    calls = []
    real = coin.audit_supply_page

    def counting(cursor: str = "") -> dict[str, Any]:
        calls.append(cursor)
        return real(cursor)

    with mock.patch.object(audit, "ROWS_PER_PAGE", 3), mock.patch.object(coin, "audit_supply_page", counting):
        result = coin.audit_supply()
    assert len(calls) > 2 and calls[0] == "" and all(calls[1:])
    assert result == net.query("auditor", "audit_supply") and result["ok"]
