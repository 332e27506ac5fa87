"""One client identity, one member: a per-identity index refuses a second binding while the first holds."""

from __future__ import annotations

from coin_network import DISTRICT, PARTNERS, CoinNetwork


def test_an_identity_bound_to_an_active_member_cannot_be_bound_again(net: CoinNetwork) -> None:
    m1 = net.client_id("m1")
    response = net.evaluate("registrar", "register_member", "M-009", ["senior"], m1)
    assert response.status == 409 and "already bound to member M-001" in response.message
    assert net.status("registrar", "rebind_member", "M-002", m1) == 409
    assert net.status("registrar", "rebind_member", "M-002", f"{DISTRICT}:{m1}") == 409  # same identity
    # The same names under another MSP are another identity.
    assert net.status("registrar", "register_member", "M-009", ["senior"], f"{PARTNERS}:{m1}") == 200


def test_rebinding_moves_the_index(net: CoinNetwork) -> None:
    net.enroll("m1_new_phone", DISTRICT, role="member")
    old, new = net.client_id("m1"), net.client_id("m1_new_phone")
    net.submit("registrar", "rebind_member", "M-001", new)
    assert net.status("m1_new_phone", "get_balance", "M-001") == 200
    assert net.status("m1", "get_balance", "M-001") == 403
    assert net.status("registrar", "register_member", "M-009", ["senior"], new) == 409
    net.submit("registrar", "register_member", "M-009", ["senior"], old)  # the old identity is free
    net.submit("registrar", "rebind_member", "M-001", new)  # rebinding to the same identity is fine


def test_deactivation_frees_the_identity(net: CoinNetwork) -> None:
    m2 = net.client_id("m2")
    net.submit("registrar", "deactivate_member", "M-002")
    net.submit("registrar", "register_member", "M-010", ["resident"], m2)
    assert net.query("m2", "get_member", "M-010")["member_id"] == "M-010"
