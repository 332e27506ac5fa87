"""Terminals: API keys bound to one institution's staff identity and to scopes; idempotent POSTs."""

from __future__ import annotations

from flows import balance, transact
from http_service import Served
from world import evidence


def earning(member: str, request_id: str, hours: int = 2, proof: str | None = None) -> dict[str, object]:
    return {"member_id": member, "activity": "volunteer_hour", "quantity": hours,
            "evidence_hash": proof or evidence(), "request_id": request_id}  # fmt: skip


def test_a_terminal_earns_for_its_institution_and_a_retry_moves_no_coin_twice(served: Served) -> None:
    client, phone = served.client, served.world.phones["M-0002"]
    before = balance(client, phone)
    body = earning("M-0002", "VOL-1")
    first = client.post("/v1/institutions/wc-01/earnings", json=body, headers=served.terminal("wc-kiosk"))
    again = client.post("/v1/institutions/wc-01/earnings", json=body, headers=served.terminal("wc-kiosk"))
    assert first.status_code == again.status_code == 201, first.text
    assert first.json() == again.json()
    assert balance(client, phone) == before + 6  # 3 coins an hour, once


def test_the_same_request_id_with_another_body_is_refused_and_changes_nothing(served: Served) -> None:
    client, phone = served.client, served.world.phones["M-0002"]
    headers = served.terminal("wc-kiosk")
    assert client.post("/v1/institutions/wc-01/earnings", json=earning("M-0002", "VOL-2"),
                       headers=headers).status_code == 201  # fmt: skip
    after_first = balance(client, phone)
    reused = client.post(
        "/v1/institutions/wc-01/earnings", json=earning("M-0002", "VOL-2", 5), headers=headers
    )
    assert reused.status_code == 409 and reused.json()["code"] == "request_id_reused"
    assert balance(client, phone) == after_first


def test_a_terminal_of_one_institution_cannot_earn_for_another(served: Served) -> None:
    client, phone = served.client, served.world.phones["M-0001"]
    before = balance(client, phone)
    for_other = client.post("/v1/institutions/wc-01/earnings", json=earning("M-0001", "X-1"),
                            headers=served.terminal("shop-till"))  # fmt: skip
    assert for_other.status_code == 403 and for_other.json()["code"] == "forbidden"
    statement = client.get("/v1/institutions/wc-01/statement", headers=served.terminal("shop-till"))
    assert statement.status_code == 403
    assert balance(client, phone) == before


def test_scopes_bind_what_a_terminal_may_do(served: Served) -> None:
    client = served.client
    viewer = served.terminal("wc-viewer")
    refused = client.post("/v1/institutions/wc-01/earnings", json=earning("M-0001", "V-1"), headers=viewer)
    assert refused.status_code == 403
    statement = client.get("/v1/institutions/wc-01/statement", headers=viewer)
    assert statement.status_code == 200 and statement.json()["institution_id"] == "wc-01"
    assert client.get("/v1/report", headers=viewer).status_code == 403
    report = client.get("/v1/report", headers=served.terminal("officials"))
    assert report.status_code == 200 and report.json()["members"] >= 2


def test_a_revoked_or_wrong_key_is_refused_at_once(served: Served) -> None:
    client = served.client
    headers = served.terminal("wc-viewer")
    assert client.get("/v1/institutions/wc-01/statement", headers=headers).status_code == 200
    assert served.client.app.state.service.store.revoke_terminal("wc-viewer")  # type: ignore[attr-defined]
    assert client.get("/v1/institutions/wc-01/statement", headers=headers).status_code == 401
    forged = {"Authorization": served.keys["wc-kiosk"][:-2] + "xx"}
    assert client.get("/v1/institutions/wc-01/statement", headers=forged).status_code == 401


def test_the_kiosk_flow_a_request_by_the_terminal_paid_by_the_resident_signing(served: Served) -> None:
    client, phone = served.client, served.world.phones["M-0001"]
    kiosk = served.terminal("wc-kiosk")
    created = client.post("/v1/institutions/wc-01/payment-requests", headers=kiosk, json={
        "request_id": "KIOSK-1", "price_krw": 3000, "coins": 4, "service_code": "cafeteria",
        "expires_at": "2099-01-01T00:00:00+09:00"})  # fmt: skip
    assert created.status_code == 201, created.text
    before = balance(client, phone)
    paid, _ = transact(client, phone, {"name": "pay_request", "institution_id": "wc-01",
                                       "request_id": "KIOSK-1", "member_id": "M-0001"})  # fmt: skip
    assert paid.json()["status"] == "committed", paid.text
    assert balance(client, phone) == before - 4
    shown = client.get("/v1/institutions/wc-01/payment-requests/KIOSK-1", headers=kiosk)
    assert shown.status_code == 200 and shown.json()["paid_by"] == "M-0001"
