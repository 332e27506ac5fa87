"""Migrating a ledger written before the aggregates' tally rows: bounded steps, then exact counts.

The old layout is made on the embedded ledger by writing it directly (`ledger_surgery`): the coin's
rows as today's chaincode writes them, minus every tally row, and a config without a schema version
(as every ledger initialised before versions has). Such a ledger reports its counts from zero and its
audit says `counts_ok: false`; after `Coin.migrate` (pages of a few rows here) both are exact.
"""

from __future__ import annotations

from typing import Any
from unittest import mock

import pytest
from coin_network import DISTRICT, EVIDENCE, CoinNetwork
from ledger_surgery import cid, keys_of, read_raw, write_raw
from seocho.backend import EmbeddedBackend
from seocho.coin import Coin
from seocho.errors import SeochoError
from seocho_coin import audit, keys, migrations

COUNTS = ("members", "active_members", "participants", "institutions")


def activity(net: CoinNetwork) -> None:
    net.submit("cc_staff", "earn", "M-001", "course_session", 5, EVIDENCE, "e1")
    entries = [
        {"member_id": f"N-{i}", "categories": ["resident"], "client_id": cid(f"N-{i}")} for i in range(5)
    ]
    net.submit("registrar", "register_members", entries)
    net.submit("registrar", "deactivate_member", "N-1")
    net.submit("registrar", "set_member_categories", "N-2", ["resident", "worker"])
    net.submit("m1", "pay", "M-001", "cc-01", 10_000, 2, "gym", "p1")


def make_old(net: CoinNetwork, *, drop_tallies: bool = True) -> None:
    """The layout from before the schema version (and, with `drop_tallies`, before the tally rows)."""
    config = read_raw(net, keys.CONFIG)
    del config["schema_version"]
    writes: dict[str, Any] = {keys.CONFIG: config}
    if drop_tallies:
        writes.update(dict.fromkeys(keys_of(net, keys.TALLY)))
    write_raw(net, writes)


def admin_coin(net: CoinNetwork) -> Coin:
    return Coin(EmbeddedBackend(net.ledger, net.people["admin"]))


def migrate_in_pages(net: CoinNetwork, bound: int) -> tuple[list[dict[str, Any]], list[int]]:
    coin = admin_coin(net)
    sizes: list[int] = []
    real = coin.migration_page

    def page(cursor: str = "") -> dict[str, Any]:
        result = real(cursor)
        sizes.append(result["rows_read"])
        return result

    with mock.patch.object(audit, "ROWS_PER_PAGE", bound), mock.patch.object(coin, "migration_page", page):
        return coin.migrate(), sizes


def test_a_ledger_from_before_the_tallies_is_backfilled_in_bounded_steps(net: CoinNetwork) -> None:
    activity(net)
    report = net.query("auditor", "get_report")
    expected = {name: report[name] for name in COUNTS}
    assert expected == {"members": 7, "active_members": 6, "participants": 1, "institutions": 3}
    expected_categories = report["by_category"]
    make_old(net)
    assert keys_of(net, keys.TALLY) == []

    old = net.query("auditor", "get_report")
    assert {name: old[name] for name in COUNTS} == dict.fromkeys(COUNTS, 0)
    old_audit = net.query("auditor", "audit_supply")
    assert not old_audit["counts_ok"] and not old_audit["ok"]
    # Counts cannot change until migrated (a first earning adds a participant); coins that change
    # no count still move.
    assert net.status("registrar", "register_member", "M-009", ["senior"], cid("M-009")) == 409
    assert net.status("registrar", "deactivate_member", "N-2") == 409
    new_institution = ("new-01", "other", [], False, False, 0, DISTRICT)
    assert net.status("admin", "register_institution", *new_institution) == 409
    assert net.status("cc_staff", "earn", "M-002", "course_session", 1, EVIDENCE, "e2") == 409
    net.submit("cc_staff", "earn", "M-001", "course_session", 1, EVIDENCE, "e3")
    net.submit("m1", "pay", "M-001", "cc-01", 10_000, 1, "gym", "p2")

    applied, sizes = migrate_in_pages(net, bound=2)
    assert [m["schema_version"] for m in applied] == [migrations.CURRENT_SCHEMA]
    assert applied[0]["backfill"] == {**expected, "categories": expected_categories}
    rows = sum(len(keys_of(net, f)) for f in (keys.BALANCE, keys.MEMBER, keys.INSTITUTION))
    assert sum(sizes) == rows and len(sizes) >= rows // 2 and max(sizes) <= 2

    after = net.query("auditor", "get_report")
    assert {name: after[name] for name in COUNTS} == expected
    assert after["by_category"] == expected_categories
    result = net.query("auditor", "audit_supply")
    assert result["ok"] and result["counts_ok"], result
    assert read_raw(net, keys.CONFIG)["schema_version"] == migrations.CURRENT_SCHEMA

    assert admin_coin(net).migrate() == []  # up to date: nothing to do, nothing written
    net.submit("registrar", "register_member", "M-009", ["senior"], cid("M-009"))
    net.submit("cc_staff", "earn", "M-002", "course_session", 1, EVIDENCE, "e2")
    final = net.query("auditor", "get_report")
    assert (final["members"], final["participants"]) == (8, 2)
    assert net.query("auditor", "audit_supply")["ok"]


def test_a_ledger_that_had_the_tallies_gets_an_empty_backfill(net: CoinNetwork) -> None:
    activity(net)
    report = net.query("auditor", "get_report")
    make_old(net, drop_tallies=False)
    tallies = keys_of(net, keys.TALLY)
    applied, _sizes = migrate_in_pages(net, bound=3)
    assert applied[0]["backfill"] == {**dict.fromkeys(COUNTS, 0), "categories": {}}
    assert keys_of(net, keys.TALLY) == tallies  # no row written: nothing counted twice
    assert net.query("auditor", "get_report") == report
    assert net.query("auditor", "audit_supply")["ok"]


@pytest.mark.parametrize(
    "version, backfill",
    [
        (1, {"members": 1}),
        (1, {**dict.fromkeys(COUNTS, 0), "categories": {"astronaut": 1}}),
        (1, {**dict.fromkeys(COUNTS, "1"), "categories": {}}),
        (2, {**dict.fromkeys(COUNTS, 0), "categories": {}}),
        (0, {**dict.fromkeys(COUNTS, 0), "categories": {}}),
    ],
)
def test_a_bad_migration_is_refused_and_changes_nothing(
    net: CoinNetwork, version: int, backfill: dict[str, Any]
) -> None:
    make_old(net)
    before = net.ledger.world_state("seocho")
    assert net.status("admin", "migrate_ledger", version, backfill) == 400
    assert net.ledger.world_state("seocho") == before


def test_only_the_district_admin_migrates(net: CoinNetwork) -> None:
    make_old(net)
    net.enroll("other_admin", "PartnersMSP", role="admin")
    backfill = {**dict.fromkeys(COUNTS, 0), "categories": {}}
    for who in ("other_admin", "registrar", "auditor"):
        assert net.status(who, "migrate_ledger", 1, backfill) == 403
        assert net.status(who, "migration_page", "") == 403
    with pytest.raises(SeochoError):
        Coin(EmbeddedBackend(net.ledger, net.people["auditor"])).migrate()


def test_a_new_ledger_starts_at_the_current_layout(bare: CoinNetwork) -> None:
    bare.enroll("admin", DISTRICT, role="admin")
    bare.submit("admin", "init_ledger", DISTRICT)
    assert read_raw(bare, keys.CONFIG)["schema_version"] == migrations.CURRENT_SCHEMA
    assert Coin(EmbeddedBackend(bare.ledger, bare.people["admin"])).migrate() == []
