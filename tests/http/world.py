"""A small coin world on an embedded ledger for the HTTP tests, and a resident who signs like a phone.

Residents' keys are made here and never given to the service: their certificates come from the embedded
ledger's local CA (what the wallet page's enrolment does), and `Phone.sign` is the resident's device.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from embedded_ledger import EmbeddedLedger
from fabric_gateway.proposal import build_proposal
from fabric_gateway.signing import sign_low_s
from seocho.backend import EmbeddedBackend, open_embedded_ledger
from seocho.cast import client_id_of
from seocho.coin import Coin
from seocho.operations import transaction
from seocho_http.signatures import creator_of

DISTRICT, PARTNERS = "SeochoDistrictMSP", "PartnersMSP"
YEAR = str(datetime.now(UTC).year)


@dataclass
class Phone:
    """A resident's device: it holds the key and signs the bytes the service hands out."""

    member_id: str
    msp_id: str
    certificate_pem: str
    key: ec.EllipticCurvePrivateKey

    def sign(self, to_sign_b64: str) -> str:
        return base64.b64encode(sign_low_s(self.key, base64.b64decode(to_sign_b64))).decode()

    @property
    def client_id(self) -> str:
        return client_id_of(creator_of(self.msp_id, self.certificate_pem))

    def proposal(self, operation: dict[str, Any]) -> dict[str, Any]:
        return {"msp_id": self.msp_id, "certificate": self.certificate_pem, "operation": operation}

    def built_proposal(self, channel: str, chaincode: str, operation: dict[str, Any]) -> bytes:
        """The proposal an app builds itself (the SDK's builder; the arguments from the declaration)."""
        values = {k: v for k, v in operation.items() if k != "name"}
        arguments = transaction(str(operation["name"])).arguments(values)
        creator = creator_of(self.msp_id, self.certificate_pem)
        built, _tx_id = build_proposal(creator, channel, chaincode, str(operation["name"]), arguments)
        return built.SerializeToString()

    def signed_proposal(self, proposal: bytes) -> dict[str, str]:
        """The body of `POST /v1/signed-proposals`: the proposal and this phone's signature of it."""
        encoded = base64.b64encode(proposal).decode()
        return {"proposal": encoded, "signature": self.sign(encoded)}


def new_phone(ledger: EmbeddedLedger, member_id: str) -> Phone:
    key = ec.generate_private_key(ec.SECP256R1())
    attributes = {"hf.EnrollmentID": member_id, "hf.Type": "client", "hf.Affiliation": "",
                  "seocho.role": "member"}  # fmt: skip
    certificate = ledger.identities.certificate_authority(DISTRICT).issue(
        member_id, key.public_key(), "client", attributes
    )
    return Phone(member_id, DISTRICT, certificate.public_bytes(serialization.Encoding.PEM).decode(), key)


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
