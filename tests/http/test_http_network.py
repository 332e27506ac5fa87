"""The service on the real network (the session's Fabric network, after the demo): a resident pays with
offline signing through the service, the transaction status answers, terminals earn for their institution,
and a new resident enrols through the service's relay to the district's Fabric CA (with the API, and on
the wallet page in Chromium, screenshots in $SEOCHO_TEST_ARTEFACTS/wallet-network)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import fabric_gateway as fg
import pytest
from certificate_requests import request_for
from cryptography.hazmat.primitives.asymmetric import ec
from fabric_ca import Attribute, CAClient, RegistrationRequest
from fabric_network_support import RunningNetwork
from fastapi.testclient import TestClient
from flows import balance, transact, transact_signed
from seocho.cast import client_id_of
from seocho.profile import load_profile
from seocho_http import ServiceConfig, create_app
from seocho_http.signatures import creator_of
from seocho_http.upstream import GatewayUpstream
from seocho_network.crypto import OrganizationCrypto
from test_http_residents import pay
from wallet_browser import WalletPage, chromium, serve_on_loopback
from world import evidence

from benchmarks.http.flows import Phone, digest_signer

pytestmark = pytest.mark.fabric
Flow = Callable[[TestClient, Phone, dict[str, Any]], tuple[Any, dict[str, Any]]]


@pytest.fixture(scope="module")
def service(
    after_demo: RunningNetwork, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[TestClient, str]]:
    profile = load_profile(after_demo.profile())
    app = create_app(
        GatewayUpstream(profile, "district-auditor"), ServiceConfig(state_dir=tmp_path_factory.mktemp("http"))
    )
    key = app.state.service.store.add_terminal(
        "welfare-kiosk", "seocho-welfare", "staff-welfare", ["earn", "statement"]
    )
    with TestClient(app, base_url="http://127.0.0.1") as client:
        yield client, key


def phone_of(after_demo: RunningNetwork, member_id: str) -> Phone:
    """A resident's device holding the key of the profile's member identity (the service never sees it)."""
    ref = load_profile(after_demo.profile()).identity(f"member-{member_id}")
    identity, signer = fg.load_msp_directory(ref.msp_id, ref.msp_dir)
    assert signer is not None
    return Phone(member_id, ref.msp_id, identity.certificate_pem.decode(), digest_signer(signer))


def test_ready_on_the_network(service: tuple[TestClient, str]) -> None:
    assert service[0].get("/readyz").status_code == 200


FLOWS = pytest.mark.parametrize("flow", [transact, transact_signed], ids=["three-requests", "two-requests"])


@FLOWS
def test_a_resident_pays_through_the_service_on_the_network(
    service: tuple[TestClient, str], after_demo: RunningNetwork, flow: Flow
) -> None:
    client, _ = service
    phone = phone_of(after_demo, "S-0003")
    before = balance(client, phone)
    submitted, submission = flow(
        client, phone, pay("S-0003", 1, f"HTTP-NET-PAY-{flow.__name__}", "seocho-welfare")
    )
    assert submitted.status_code == 200, submitted.text
    outcome = submitted.json()
    assert outcome["status"] == "committed" and outcome["validation_code"] == "VALID"
    assert client.get(f"/v1/transactions/{outcome['transaction_id']}").json() == outcome
    replayed = client.post(submission["url"], json=submission["json"])
    assert replayed.json() == outcome
    assert balance(client, phone) == before - 1


@FLOWS
def test_a_resident_cannot_pay_from_another_members_balance_on_the_network(
    service: tuple[TestClient, str], after_demo: RunningNetwork, flow: Flow
) -> None:
    client, _ = service
    stealing = pay("S-0001", 1, f"HTTP-NET-STEAL-{flow.__name__}", "seocho-welfare")
    refused, _ = flow(client, phone_of(after_demo, "S-0003"), stealing)
    assert refused.status_code == 403 and refused.json()["chaincode_status"] == 403


def test_a_terminal_earns_for_its_institution_on_the_network(
    service: tuple[TestClient, str], after_demo: RunningNetwork
) -> None:
    client, key = service
    headers = {"Authorization": f"Bearer {key}"}
    body = {"member_id": "S-0003", "activity": "health_session", "quantity": 1, "evidence_hash": evidence(),
            "request_id": "HTTP-NET-VOL-1"}  # fmt: skip
    first = client.post("/v1/institutions/seocho-welfare/earnings", json=body, headers=headers)
    again = client.post("/v1/institutions/seocho-welfare/earnings", json=body, headers=headers)
    assert first.status_code == again.status_code == 201, first.text
    assert first.json() == again.json()
    other = client.post("/v1/institutions/yangjae1-cc/earnings", json=body, headers=headers)
    assert other.status_code == 403


def test_an_unknown_transaction_is_unknown_on_the_network(service: tuple[TestClient, str]) -> None:
    assert service[0].get("/v1/transactions/" + "cd" * 32).json()["status"] == "unknown"


def register_at_district_ca(after_demo: RunningNetwork, member_id: str) -> str:
    """The registrar's step (`seocho ca register --secret-out`): one enrolment, the member's role."""
    org, layout = after_demo.district, after_demo.network.layout
    registrar = OrganizationCrypto(layout, org).registrar()
    request = RegistrationRequest(
        member_id, "client", attributes=[Attribute("seocho.role", "member")], max_enrollments=1
    )
    with CAClient(org.ca.url, layout.ca_server_root(org.ca), timeout=15) as ca:
        return ca.register(registrar, request)


def test_a_new_resident_enrols_through_the_relay_to_the_district_ca_on_the_network(
    service: tuple[TestClient, str], after_demo: RunningNetwork
) -> None:
    client, _ = service
    msp_id = after_demo.district.msp_id
    secret = register_at_district_ca(after_demo, "S-0701")
    key = ec.generate_private_key(ec.SECP256R1())
    body = {"msp_id": msp_id, "enrollment_id": "S-0701", "secret": secret, "csr": request_for("S-0701", key)}
    enrolled = client.post("/v1/enrolments", json=body)  # the profile names no CA: its ca-access.yaml does
    assert enrolled.status_code == 201, enrolled.text
    again = client.post("/v1/enrolments", json=body)
    assert again.status_code == 401 and again.json()["code"] == "bad_secret"
    certificate = enrolled.json()["certificate"]
    with after_demo.coin("district-registrar") as registrar:
        registrar.register_member("S-0701", ["senior"], client_id_of(creator_of(msp_id, certificate)))
    phone = Phone("S-0701", msp_id, certificate, digest_signer(fg.new_private_key_signer(key)))
    assert balance(client, phone) == 0


@pytest.fixture
def browser() -> Iterator[Any]:
    yield from chromium()


def test_the_wallet_page_enrols_through_the_relay_pays_and_donates_on_the_network(
    after_demo: RunningNetwork, browser: Any, tmp_path: Path
) -> None:
    profile = load_profile(after_demo.profile())
    app = create_app(GatewayUpstream(profile, "district-auditor"), ServiceConfig(state_dir=tmp_path / "s"))
    secret = register_at_district_ca(after_demo, "S-0702")
    artefacts = Path(os.environ.get("SEOCHO_TEST_ARTEFACTS", tmp_path)) / "wallet-network"
    with serve_on_loopback(app) as url:
        page = WalletPage(browser, url, artefacts)
        certificate = page.enrol("S-0702", secret)  # the browser's key, certified by the district's CA
        msp_id = after_demo.district.msp_id
        with after_demo.coin("district-registrar") as registrar:
            registrar.register_member("S-0702", ["senior"], client_id_of(creator_of(msp_id, certificate)))
        with after_demo.coin("staff-welfare") as staff:
            attested = staff.earn("S-0702", "health_session", 3, evidence(), "HTTP-NET-WALLET-EARN")
        with after_demo.coin("district-auditor") as auditor:
            earned = auditor.get_balance("S-0702")["coins"]
            assert earned == attested["coins"] >= 2  # a new member: the earning is the whole balance
            assert page.balance() == str(earned)
            page.pay("seocho-welfare", 3000, 1, "gym")
            page.donate("chest-seoul", 1)
            assert page.balance() == str(earned - 2)
            assert page.history() == ["earn", "pay", "donate"]
            assert auditor.get_balance("S-0702")["coins"] == earned - 2
        assert page.key_is_kept_in_the_browser()
