"""Residents sign on their own device: pay, donate, balance and history through the service."""

from __future__ import annotations

from flows import balance, query, transact
from http_service import Served


def pay(member: str, coins: int, request_id: str, institution: str = "wc-01") -> dict[str, object]:
    return {"name": "pay", "member_id": member, "institution_id": institution,
            "price_krw": max(3000, coins * 200), "coins": coins,
            "service_code": "gym", "request_id": request_id}  # fmt: skip


def test_a_resident_pays_with_two_signatures_and_the_transaction_is_committed(served: Served) -> None:
    client, phone = served.client, served.world.phones["M-0001"]
    before = balance(client, phone)
    submitted, _ = transact(client, phone, pay("M-0001", 5, "PAY-1"))
    assert submitted.status_code == 200, submitted.text
    outcome = submitted.json()
    assert outcome["status"] == "committed" and outcome["validation_code"] == "VALID"
    assert outcome["result"]["coins"] == 5
    assert balance(client, phone) == before - 5
    status = client.get(f"/v1/transactions/{outcome['transaction_id']}").json()
    assert status["status"] == "committed" and status["block_number"] == outcome["block_number"]
    record = served.world.ledger.transaction_status(outcome["transaction_id"])
    assert record is not None and record.function.endswith("pay")


def test_a_resident_donates_and_reads_the_history_in_pages(served: Served) -> None:
    client, phone = served.client, served.world.phones["M-0001"]
    donated, _ = transact(client, phone, {"name": "donate", "member_id": "M-0001", "charity_id": "chest-01",
                                          "coins": 2, "request_id": "DON-1"})  # fmt: skip
    assert donated.json()["status"] == "committed", donated.text
    first = query(client, phone, {"name": "get_member_history", "member_id": "M-0001", "page_size": 1})
    assert first.status_code == 200, first.text
    page = first.json()["result"]
    assert len(page["movements"]) == 1 and page["bookmark"]
    second = query(client, phone, {"name": "get_member_history", "member_id": "M-0001", "page_size": 1,
                                   "bookmark": page["bookmark"]})  # fmt: skip
    assert second.json()["result"]["movements"] != page["movements"]


def test_an_unknown_transaction_is_unknown(served: Served) -> None:
    answered = served.client.get("/v1/transactions/" + "ab" * 32)
    assert answered.status_code == 200 and answered.json()["status"] == "unknown"


def test_a_refused_payment_is_a_problem_with_the_chaincode_status_and_is_not_committed(
    served: Served,
) -> None:
    client, phone = served.client, served.world.phones["M-0001"]
    refused, _ = transact(client, phone, pay("M-0001", 10_000, "PAY-BIG"))
    assert refused.status_code == 409 and refused.headers["content-type"] == "application/problem+json"
    problem = refused.json()
    assert problem["code"] == "conflict" and problem["chaincode_status"] == 409
    assert problem["title"] == "원장이 거부했습니다: 충돌"  # Korean when the caller names no language


def test_problem_titles_follow_accept_language(served: Served) -> None:
    english = served.client.get("/v1/report", headers={"Accept-Language": "en-GB,ko;q=0.5"})
    korean = served.client.get("/v1/report", headers={"Accept-Language": "ko-KR,en;q=0.8"})
    assert english.status_code == korean.status_code == 401
    assert english.json()["title"] == "A valid terminal key is needed"
    assert korean.json()["title"] == "유효한 단말기 키가 필요합니다"
    assert korean.headers["content-language"] == "ko"
