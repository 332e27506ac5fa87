"""Attacks found in review: each test failed before its fix.

- A partner organisation's CA can copy the subject and issuer names of a resident's certificate; the
  copy has the same `cid` id, so a binding must also record the MSP.
- The staff attributes can be minted by any organisation's CA; every institution names its staff
  MSP when it is registered, so a "manager" from elsewhere can never allocate its quota nor settle
  its coins (before, an institution stayed open to every MSP until an admin pinned it).
- Timestamps that overflow on conversion to UTC are bad input (400), not an internal error (500).
"""

from __future__ import annotations

import datetime as dt

import pytest
from coin_network import DISTRICT, EVIDENCE, PARTNERS, CoinNetwork
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from embedded_ledger import Identity


def forge_copy(net: CoinNetwork, victim: str, msp_id: str) -> Identity:
    """An identity of `msp_id` whose certificate repeats the victim's subject and issuer names.

    It is issued by a CA of `msp_id` that took the victim's issuer name, so the channel accepts it
    as a member of `msp_id`, as a peer would."""
    original = net.people[victim].certificate
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_certificate = (
        x509.CertificateBuilder()
        .subject_name(original.issuer)
        .issuer_name(original.issuer)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    net.ledger.trust_msp_root(msp_id, ca_certificate.public_bytes(Encoding.PEM))
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = (
        x509.CertificateBuilder()
        .subject_name(original.subject)
        .issuer_name(original.issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(ca_key, hashes.SHA256())
    )
    pem = certificate.public_bytes(Encoding.PEM).decode()
    forged = Identity(msp_id, f"forged-{victim}", pem, key)
    net.people[forged.name] = forged
    return forged


def test_a_copied_certificate_from_another_msp_cannot_act_as_the_member(net: CoinNetwork) -> None:
    net.submit("cc_staff", "earn", "M-001", "course_session", 5, EVIDENCE, "e1")
    forged = forge_copy(net, "m1", PARTNERS)
    assert net.client_id(forged.name) == net.client_id("m1")  # the attack's premise
    assert net.status(forged.name, "pay", "M-001", "cc-01", 1000, 5, "gym", "steal") == 403
    assert net.status(forged.name, "donate", "M-001", "charity-01", 5, "steal") == 403
    assert net.status(forged.name, "get_balance", "M-001") == 403
    assert net.status(forged.name, "get_member_history", "M-001", 10, "") == 403
    assert net.query("m1", "get_balance", "M-001")["coins"] == 5


def test_a_binding_may_name_another_msp_explicitly(net: CoinNetwork) -> None:
    net.enroll("partner_resident", PARTNERS, role="member")
    cid = net.client_id("partner_resident")
    net.submit("registrar", "register_member", "M-100", ["senior"], f"{PARTNERS}:{cid}")
    assert net.query("partner_resident", "get_balance", "M-100")["coins"] == 0
    # A bare id means the district MSP, so the same id under PartnersMSP is not the member.
    net.submit("registrar", "register_member", "M-101", ["senior"], cid)
    assert net.status("partner_resident", "get_balance", "M-101") == 403
    # The PartnersMSP identity belongs to M-100 while M-100 is active (one identity, one member).
    assert net.status("registrar", "rebind_member", "M-101", f"{PARTNERS}:{cid}") == 409
    net.submit("registrar", "deactivate_member", "M-100")
    net.submit("registrar", "rebind_member", "M-101", f"{PARTNERS}:{cid}")
    assert net.status("partner_resident", "get_balance", "M-101") == 200


def test_a_client_ref_with_a_bad_msp_part_is_rejected(net: CoinNetwork) -> None:
    assert net.status("registrar", "register_member", "M-102", ["senior"], "bad msp:QUJD") == 400
    assert net.status("registrar", "register_member", "M-102", ["senior"], ":QUJD") == 400


def test_a_foreign_manager_can_do_nothing_from_the_start(net: CoinNetwork) -> None:
    """Staff MSPs are pinned at registration: no window in which any CA can mint a manager."""
    net.enroll("impostor", PARTNERS, role="staff", institution="cc-01", manager="true")
    impostor = net.client_id("impostor")
    assert net.query("admin", "get_institution", "cc-01")["staff_msp"] == DISTRICT
    assert net.status("impostor", "allocate_allowance", "cc-01", impostor, "2024", 500) == 403
    assert net.status("impostor", "request_settlement", "cc-01", "S-x", "") == 403
    assert net.status("impostor", "get_institution_statement", "cc-01") == 403
    assert net.status("impostor", "get_allowance", "cc-01", impostor, "2024") == 403
    assert net.status("impostor", "create_payment_request", "K-x", 1000, 1, "gym", "2030-01-01T00:00Z") == 403
    net.submit("admin", "allocate_allowance", "cc-01", impostor, "2024", 10)
    assert net.status("impostor", "earn", "M-001", "course_session", 1, EVIDENCE, "x1") == 403
    # The institution's own staff are unaffected.
    net.submit("cc_staff", "earn", "M-001", "course_session", 1, EVIDENCE, "ok1")


def test_changing_the_staff_msp_moves_who_counts_as_staff(net: CoinNetwork) -> None:
    net.enroll("partner_staff", PARTNERS, role="staff", institution="cc-01")
    net.submit("admin", "allocate_allowance", "cc-01", net.client_id("partner_staff"), "2024", 10)
    assert net.status("partner_staff", "earn", "M-001", "course_session", 1, EVIDENCE, "x1") == 403
    assert net.status("cc_manager", "set_institution_staff_msp", "cc-01", PARTNERS) == 403  # admin only
    net.submit("admin", "set_institution_staff_msp", "cc-01", PARTNERS)
    assert net.status("partner_staff", "earn", "M-001", "course_session", 1, EVIDENCE, "x1") == 200
    assert net.status("cc_staff", "earn", "M-001", "course_session", 1, EVIDENCE, "x2") == 403


@pytest.mark.parametrize(
    ("who", "fn", "args"),
    [
        ("admin", "set_policy", [{"effective_from": "0001-01-01T00:00:00+09:00"}]),
        ("admin", "set_policy", [{"effective_from": "9999-12-31T23:59:59-05:00"}]),
        ("admin", "set_policy", [{"effective_from": "0999-12-31T23:59:59+00:00"}]),
        ("admin", "open_earning_to_all", ["0001-01-01T00:00:00+01:00"]),
        ("cc_staff", "create_payment_request", ["K-9", 1000, 1, "gym", "9999-12-31T23:59:59-05:00"]),
    ],
)
def test_out_of_range_timestamps_are_bad_requests(
    net: CoinNetwork, who: str, fn: str, args: list[object]
) -> None:
    simulated = net.simulate(who, fn, *args)
    assert simulated.response.status == 400, simulated.response.message
    assert simulated.rwset.is_read_only


def test_a_direct_payment_cannot_hijack_a_kiosk_request_id(net: CoinNetwork) -> None:
    net.submit("cc_staff", "earn", "M-001", "course_session", 5, EVIDENCE, "e1")
    net.submit("cc_staff", "earn", "M-002", "course_session", 5, EVIDENCE, "e2")
    net.submit("cc_staff", "create_payment_request", "K-1", 1000, 3, "gym", "2030-01-01T00:00:00Z")
    # Another member pays 1 coin directly under the kiosk's id: refused, the request stays payable.
    assert net.status("m2", "pay", "M-002", "cc-01", 1000, 1, "gym", "K-1") == 409
    net.submit("m1", "pay_request", "cc-01", "K-1", "M-001")
    assert net.query("m1", "get_balance", "M-001")["coins"] == 2
    assert net.query("cc_staff", "get_payment_request", "cc-01", "K-1")["status"] == "paid"
    assert net.status("m2", "pay_request", "cc-01", "K-1", "M-002") == 409
