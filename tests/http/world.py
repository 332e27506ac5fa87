"""A small coin world on an embedded ledger for the HTTP tests, and a resident who signs like a phone.

Residents' keys are made here and never given to the service: their certificates come from the embedded
ledger's local CA (what the wallet page's enrolment does), and a `Phone` (benchmarks.http.flows, the
benchmarks' phone too) is the resident's device.
"""

from __future__ import annotations

import functools
import hashlib
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from embedded_ledger import EmbeddedLedger
from fabric_gateway.signing import sign_low_s
from seocho.backend import EmbeddedBackend, open_embedded_ledger
from seocho.cast import client_id_of
from seocho.coin import Coin

from benchmarks.http.flows import Phone

DISTRICT, PARTNERS = "SeochoDistrictMSP", "PartnersMSP"
YEAR = str(datetime.now(UTC).year)


def new_phone(ledger: EmbeddedLedger, member_id: str) -> Phone:
    key = ec.generate_private_key(ec.SECP256R1())
    attributes = {"hf.EnrollmentID": member_id, "hf.Type": "client", "hf.Affiliation": "",
                  "seocho.role": "member"}  # fmt: skip
    certificate = ledger.identities.certificate_authority(DISTRICT).issue(
        member_id, key.public_key(), "client", attributes
    )
    pem = certificate.public_bytes(serialization.Encoding.PEM).decode()
    return Phone(member_id, DISTRICT, pem, functools.partial(sign_low_s, key))


def evidence() -> str:
    return hashlib.sha256(b"sheet" + os.urandom(16)).hexdigest()


@dataclass
class World:
    ledger: EmbeddedLedger
    path: Path
    phones: dict[str, Phone]
    admin: Coin


def build_world(path: Path) -> World:
    """Two institutions with staff (welfare centre wc-01, shop shop-01), a charity, two members; M-0001
    earned 10 coins at wc-01."""
    ledger = open_embedded_ledger(path)
    ids = ledger.identities

    def coin(name: str, msp: str, **attrs: str) -> Coin:
        identity = ids.enroll(name, msp, {f"seocho.{k}": v for k, v in attrs.items()})
        return Coin(EmbeddedBackend(ledger, identity))

    admin = coin("admin", DISTRICT, role="admin")
    registrar = coin("registrar", DISTRICT, role="registrar")
    coin("auditor", DISTRICT, role="auditor")
    admin.init_ledger(DISTRICT)
    for name, inst, kind, activities, sells, donations, quota in (
        ("wc-staff", "wc-01", "welfare_centre", ["volunteer_hour"], True, False, 30_000),
        ("shop-staff", "shop-01", "welfare_centre", ["volunteer_hour"], True, False, 30_000),
        ("chest-staff", "chest-01", "charity", [], False, True, 0),
    ):
        staff = ids.enroll(name, PARTNERS, {"seocho.role": "staff", "seocho.institution": inst,
                                            "seocho.manager": "true"})  # fmt: skip
        admin.register_institution(inst, kind, activities, sells_services=sells, takes_donations=donations,
                                   annual_quota=quota, staff_msp=PARTNERS)  # fmt: skip
        if quota:
            admin.allocate_allowance(inst, client_id_of(staff.serialized()), YEAR, 2_000)
    phones = {m: new_phone(ledger, m) for m in ("M-0001", "M-0002")}
    for phone in phones.values():
        registrar.register_member(phone.member_id, ["senior"], phone.client_id)
    wc = Coin(EmbeddedBackend(ledger, ids.get("wc-staff")))
    wc.earn("M-0001", "volunteer_hour", 3, evidence(), "SEED-1")
    wc.earn("M-0002", "volunteer_hour", 3, evidence(), "SEED-2")
    return World(ledger, path, phones, admin)
