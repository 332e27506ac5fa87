from coin_network import EVIDENCE, CoinNetwork


def test_earn_pay_donate_settle_round_trip(net: CoinNetwork) -> None:
    earned = net.submit("cc_staff", "earn", "M-001", "volunteer_hour", 2, EVIDENCE, "r1")
    assert earned["coins"] == 6 and earned["krw"] == 1200
    paid = net.submit("m1", "pay", "M-001", "cc-01", 1000, 4, "gym", "p1")
    assert paid["cash_krw"] == 200
    net.submit("m1", "donate", "M-001", "charity-01", 2, "d1")
    assert net.query("m1", "get_balance", "M-001")["coins"] == 0
    audit = net.query("auditor", "audit_supply")
    assert audit["ok"], audit
