"""Reactivating members and institutions: the block lifts, coins and allowances were kept."""

from __future__ import annotations

from coin_network import DISTRICT, EVIDENCE, CoinNetwork


def test_a_reactivated_member_acts_again_with_their_coins(net: CoinNetwork) -> None:
    net.submit("cc_staff", "earn", "M-002", "course_session", 3, EVIDENCE, "r1")
    net.submit("registrar", "deactivate_member", "M-002")
    assert net.status("m2", "get_balance", "M-002") == 403
    assert net.submit("registrar", "reactivate_member", "M-002")["active"] is True
    assert net.query("m2", "get_balance", "M-002")["coins"] == 3
    net.submit("cc_staff", "earn", "M-002", "course_session", 1, EVIDENCE, "r2")
    # The identity is indexed again: nobody else can take it.
    assert net.status("registrar", "register_member", "M-009", ["senior"], net.client_id("m2")) == 409


def test_not_while_the_identity_belongs_to_another_active_member(net: CoinNetwork) -> None:
    net.submit("registrar", "deactivate_member", "M-002")
    net.submit("registrar", "register_member", "M-010", ["resident"], net.client_id("m2"))
    response = net.evaluate("registrar", "reactivate_member", "M-002")
    assert response.status == 409 and "already bound to member M-010" in response.message
    # Once M-010 is deactivated (or rebound), M-002 may come back.
    net.submit("registrar", "deactivate_member", "M-010")
    net.submit("registrar", "reactivate_member", "M-002")
    assert net.query("m2", "get_member", "M-002")["member_id"] == "M-002"


def test_reactivation_after_a_rebind_elsewhere(net: CoinNetwork) -> None:
    net.enroll("m2_new_phone", DISTRICT, role="member")
    net.submit("registrar", "deactivate_member", "M-002")
    net.submit("registrar", "rebind_member", "M-001", net.client_id("m2"))  # m2's old phone, now M-001's
    assert net.status("registrar", "reactivate_member", "M-002") == 409
    net.submit("registrar", "rebind_member", "M-001", net.client_id("m2_new_phone"))
    net.submit("registrar", "reactivate_member", "M-002")
    assert net.status("m2", "get_balance", "M-002") == 200


def test_member_reactivation_rules(net: CoinNetwork) -> None:
    assert net.status("registrar", "reactivate_member", "M-001") == 409  # already active
    assert net.status("registrar", "reactivate_member", "M-404") == 404
    assert net.status("registrar", "reactivate_member", "M 001") == 400
    net.submit("registrar", "deactivate_member", "M-001")
    for who in ("admin", "auditor", "cc_manager", "m1", "partner_admin"):
        assert net.status(who, "reactivate_member", "M-001") == 403, who


def test_a_reactivated_institution_attests_and_sells_again(net: CoinNetwork) -> None:
    net.submit("admin", "deactivate_institution", "cc-01")
    assert net.status("cc_staff", "earn", "M-001", "course_session", 1, EVIDENCE, "r1") == 403
    assert net.submit("admin", "reactivate_institution", "cc-01")["active"] is True
    # Its allowances were kept while inactive.
    net.submit("cc_staff", "earn", "M-001", "course_session", 2, EVIDENCE, "r1")
    net.submit("m1", "pay", "M-001", "cc-01", 1000, 1, "gym", "p1")
    assert net.query("admin", "get_allowance", "cc-01", net.client_id("cc_staff"), "2024")["used"] == 2


def test_institution_reactivation_rules(net: CoinNetwork) -> None:
    assert net.status("admin", "reactivate_institution", "cc-01") == 409  # already active
    assert net.status("admin", "reactivate_institution", "nope-01") == 404
    assert net.status("admin", "reactivate_institution", "bad id") == 400
    net.submit("admin", "deactivate_institution", "wc-01")
    for who in ("registrar", "auditor", "wc_manager", "m1", "partner_admin"):
        assert net.status(who, "reactivate_institution", "wc-01") == 403, who
