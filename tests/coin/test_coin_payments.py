"""Paying (direct and kiosk requests) and donating: price rules, identity, once-only, receipts."""

from __future__ import annotations

from coin_network import DISTRICT, EVIDENCE, CoinNetwork, kst


def fund(net: CoinNetwork, member: str = "M-001", hours: int = 8, request: str = "fund") -> None:
    net.submit("cc_staff", "earn", member, "volunteer_hour", hours, EVIDENCE, request)


def test_pay_with_coins_and_cash(net: CoinNetwork) -> None:
    fund(net)  # 24 coins
    paid = net.submit("m1", "pay", "M-001", "cc-01", 5000, 20, "gym-monthly", "p1")
    assert (paid["coins"], paid["krw"], paid["cash_krw"], paid["price_krw"]) == (20, 4000, 1000, 5000)
    assert net.query("m1", "get_balance", "M-001")["coins"] == 4
    statement = net.query("cc_staff", "get_institution_statement", "cc-01")
    assert statement["unredeemed"]["coins"] == 20 and statement["unredeemed"]["krw"] == 4000


def test_pay_rules(net: CoinNetwork) -> None:
    fund(net)
    assert net.status("m1", "pay", "M-001", "cc-01", 999, 5, "gym", "p1") == 400  # 1,000 KRW > price
    assert net.status("m1", "pay", "M-001", "cc-01", 100_000, 25, "gym", "p1") == 409  # balance 24
    assert net.status("m1", "pay", "M-001", "charity-01", 1000, 1, "gym", "p1") == 403  # sells nothing
    assert net.status("m1", "pay", "M-001", "nowhere", 1000, 1, "gym", "p1") == 404
    assert net.status("m2", "pay", "M-001", "cc-01", 1000, 1, "gym", "p1") == 403  # not M-001's identity
    assert net.status("cc_staff", "pay", "M-001", "cc-01", 1000, 1, "gym", "p1") == 403
    net.submit("admin", "set_policy", {"effective_from": "now", "payment_unit": 10})
    assert net.status("m1", "pay", "M-001", "cc-01", 10_000, 15, "gym", "p1") == 400
    assert net.status("m1", "pay", "M-001", "cc-01", 10_000, 20, "gym", "p1") == 200


def test_donations_follow_the_payment_unit_in_force(net: CoinNetwork) -> None:
    fund(net)
    net.submit("admin", "set_policy", {"effective_from": "now", "payment_unit": 5})
    assert net.status("m1", "donate", "M-001", "charity-01", 3, "d1") == 400
    assert net.query("m1", "get_balance", "M-001")["coins"] == 24
    assert net.status("m1", "donate", "M-001", "charity-01", 5, "d1") == 200


def test_a_payment_request_id_is_used_once(net: CoinNetwork) -> None:
    fund(net)
    net.submit("m1", "pay", "M-001", "cc-01", 1000, 1, "gym", "p1")
    assert net.status("m1", "pay", "M-001", "cc-01", 1000, 1, "gym", "p1") == 409
    assert net.query("m1", "get_balance", "M-001")["coins"] == 23


def test_rebinding_moves_the_member_to_a_new_identity(net: CoinNetwork) -> None:
    fund(net)
    net.enroll("m1_new_phone", DISTRICT, role="member")
    net.submit("registrar", "rebind_member", "M-001", net.client_id("m1_new_phone"))
    assert net.status("m1", "pay", "M-001", "cc-01", 1000, 1, "gym", "p1") == 403
    assert net.status("m1_new_phone", "pay", "M-001", "cc-01", 1000, 1, "gym", "p1") == 200


def test_kiosk_payment_request_is_paid_exactly_once(net: CoinNetwork) -> None:
    fund(net)
    fund(net, "M-002", request="fund2")
    created = net.submit(
        "cc_staff", "create_payment_request", "K-1", 3000, 10, "cafeteria", "2024-03-04T12:00:00+09:00"
    )
    assert created["status"] == "open"
    assert net.query("m2", "get_payment_request", "cc-01", "K-1")["coins"] == 10
    paid = net.submit("m1", "pay_request", "cc-01", "K-1", "M-001")
    assert (paid["coins"], paid["cash_krw"], paid["request_id"]) == (10, 1000, "K-1")
    assert net.status("m2", "pay_request", "cc-01", "K-1", "M-002") == 409
    assert net.status("m1", "pay_request", "cc-01", "K-1", "M-001") == 409
    assert net.query("cc_staff", "get_payment_request", "cc-01", "K-1")["paid_by"] == "M-001"
    assert net.query("m1", "get_payment_request", "cc-01", "K-1")["paid_by"] == "M-001"
    assert net.query("auditor", "get_payment_request", "cc-01", "K-1")["paid_by"] == "M-001"
    # Anyone else still sees the request and that it is paid, but not who paid it.
    seen_by_other = net.query("m2", "get_payment_request", "cc-01", "K-1")
    assert (seen_by_other["status"], seen_by_other["paid_by"]) == ("paid", None)
    assert net.query("wc_manager", "get_payment_request", "cc-01", "K-1")["paid_by"] is None
    assert net.query("m1", "get_balance", "M-001")["coins"] == 14
    assert net.query("m2", "get_balance", "M-002")["coins"] == 24
    # The id is claimed for the institution: a direct payment cannot reuse it.
    assert net.status("m2", "pay", "M-002", "cc-01", 1000, 1, "gym", "K-1") == 409


def test_kiosk_request_rules(net: CoinNetwork) -> None:
    fund(net)
    future = "2024-03-04T12:00:00+09:00"
    assert net.status("charity_manager", "create_payment_request", "K-1", 1000, 1, "x", future) == 403
    assert (
        net.status("cc_staff", "create_payment_request", "K-1", 1000, 1, "x", "2024-03-04T09:00:00+09:00")
        == 400
    )
    assert (
        net.status("cc_staff", "create_payment_request", "K-1", 100, 1, "x", future) == 400
    )  # coins worth 200
    assert net.status("m1", "create_payment_request", "K-1", 1000, 1, "x", future) == 403
    net.submit("cc_staff", "create_payment_request", "K-1", 1000, 1, "x", future)
    assert net.status("cc_staff2", "create_payment_request", "K-1", 1000, 1, "x", future) == 409
    assert net.status("m1", "pay_request", "cc-01", "K-404", "M-001") == 404
    net.clock.set(kst(2024, 3, 4, 12, 0, 1))
    assert net.status("m1", "pay_request", "cc-01", "K-1", "M-001") == 409  # expired


def test_donate_only_to_a_charity_and_the_donor_reads_the_receipt(net: CoinNetwork) -> None:
    fund(net)
    assert net.status("m1", "donate", "M-001", "cc-01", 5, "d1") == 400  # takes no donations: a bad request
    assert net.status("m2", "donate", "M-001", "charity-01", 5, "d1") == 403
    net.submit("m1", "donate", "M-001", "charity-01", 5, "d1")
    assert net.status("m1", "donate", "M-001", "charity-01", 5, "d1") == 409
    _name, event = net.last_event()
    receipt = net.query("m1", "get_donation_receipt", event["tx_id"])
    assert (receipt["member_id"], receipt["charity_id"], receipt["coins"], receipt["krw"]) == (
        "M-001",
        "charity-01",
        5,
        1000,
    )
    assert net.query("auditor", "get_donation_receipt", event["tx_id"]) == receipt
    assert net.status("m2", "get_donation_receipt", event["tx_id"]) == 403
    assert net.status("charity_manager", "get_donation_receipt", event["tx_id"]) == 403
    assert net.status("admin", "get_donation_receipt", "no-such-tx") == 404
    assert (
        net.query("charity_manager", "get_institution_statement", "charity-01")["unredeemed"]["donations"]
        == 5
    )


def test_request_ids_are_one_namespace_per_institution_across_kinds(net: CoinNetwork) -> None:
    """An earning, donation or payment may not take an open kiosk request's id, nor the reverse."""
    fund(net)
    fund(net, "M-002", request="fund2")
    net.submit(  # cc-01 now sells, attests and takes donations
        "admin", "update_institution", "cc-01", ["course_session", "volunteer_hour"], True, True
    )
    net.submit("cc_staff", "create_payment_request", "K1", 1000, 1, "x", "2024-03-04T12:00:00+09:00")
    for who, fn, args in [
        ("m2", "donate", ["M-002", "cc-01", 1, "K1"]),
        ("cc_staff", "earn", ["M-002", "course_session", 1, EVIDENCE, "K1"]),
        ("m2", "pay", ["M-002", "cc-01", 1000, 1, "gym", "K1"]),
    ]:
        response = net.evaluate(who, fn, *args)
        assert (response.status, "payment request" in response.message) == (409, True), (fn, response)
    assert net.submit("m1", "pay_request", "cc-01", "K1", "M-001")["request_id"] == "K1"
    # And the other way round: ids already used by any kind cannot become a kiosk request.
    net.submit("m2", "donate", "M-002", "cc-01", 1, "D1")
    net.submit("cc_staff", "earn", "M-002", "course_session", 1, EVIDENCE, "E1")
    for used in ("D1", "E1", "fund", "K1"):
        assert (
            net.status("cc_staff", "create_payment_request", used, 1000, 1, "x", "2024-03-04T12:00Z") == 409
        )


def test_a_kiosk_request_is_not_repriced_by_a_later_policy(net: CoinNetwork) -> None:
    """The member agreed to 15 coins = 3,000 KRW; at 100 KRW a coin the request must be made anew."""
    fund(net)
    expires = "2024-03-04T12:00:00+09:00"
    created = net.submit("cc_staff", "create_payment_request", "K-1", 3000, 15, "gym", expires)
    assert (created["coin_value_krw"], created["payment_unit"], created["policy_version"]) == (200, 1, 1)
    net.submit("admin", "set_policy", {"effective_from": "now", "coin_value_krw": 100})
    response = net.evaluate("m1", "pay_request", "cc-01", "K-1", "M-001")
    assert response.status == 409, response.message
    assert "200 KRW" in response.message and "100 KRW" in response.message and "new" in response.message
    assert net.query("m1", "get_balance", "M-001")["coins"] == 24
    assert net.query("m1", "get_payment_request", "cc-01", "K-1")["status"] == "open"
    renewed = net.submit("cc_staff", "create_payment_request", "K-2", 3000, 15, "gym", expires)
    assert renewed["coin_value_krw"] == 100
    paid = net.submit("m1", "pay_request", "cc-01", "K-2", "M-001")
    assert (paid["krw"], paid["cash_krw"]) == (1500, 1500)


def test_a_kiosk_request_refuses_a_new_payment_unit_but_not_other_policy_changes(net: CoinNetwork) -> None:
    fund(net)
    expires = "2024-03-04T12:00:00+09:00"
    net.submit("cc_staff", "create_payment_request", "K-1", 3000, 10, "gym", expires)
    net.submit("cc_staff", "create_payment_request", "K-2", 3000, 10, "gym", expires)
    net.submit("admin", "set_policy", {"effective_from": "now", "caps": {"balance_cap": 1000}})
    assert net.submit("m1", "pay_request", "cc-01", "K-1", "M-001")["coins"] == 10  # same price terms
    net.submit("admin", "set_policy", {"effective_from": "now", "payment_unit": 5})
    response = net.evaluate("m1", "pay_request", "cc-01", "K-2", "M-001")
    assert response.status == 409 and "payment unit" in response.message, response.message
