"""Residents' enrolment from the browser: the registrar hands out a one-time secret, the resident's
browser makes the key (never leaving it) and a certificate request, and the service has it signed.

On the embedded ledger the ledger's local CA of the district signs it (the embedded counterpart of the
district's Fabric CA) once the one-time secret, kept hashed and consumed on first use, matches. The
certificate's CN is the member's pseudonymous id, and it carries `seocho.role=member`.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
import threading
import time

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from embedded_ledger import EmbeddedLedger
from seocho.identity_rules import MEMBER_ID_PATTERN

from seocho_http.problems import Problem

SECRET_SECONDS = 7 * 24 * 3600


class OneTimeSecrets:
    """Registrar-issued secrets, stored as SHA-256, each good for one enrolment within a week."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db
        self._lock = threading.Lock()
        db.execute(
            "CREATE TABLE IF NOT EXISTS enrolment_secrets (enrollment_id TEXT PRIMARY KEY, "
            "secret_sha256 TEXT NOT NULL, expires REAL NOT NULL)"
        )

    def issue(self, enrollment_id: str) -> str:
        if not MEMBER_ID_PATTERN.fullmatch(enrollment_id):
            raise ValueError("a member enrols under a pseudonymous member id such as S-0042")
        secret = secrets.token_urlsafe(18)
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO enrolment_secrets VALUES (?, ?, ?)",
                (enrollment_id, hashlib.sha256(secret.encode()).hexdigest(), time.time() + SECRET_SECONDS),
            )
        return secret

    def consume(self, enrollment_id: str, secret: str) -> bool:
        digest = hashlib.sha256(secret.encode()).hexdigest()
        with self._lock:
            row = self._db.execute(
                "SELECT secret_sha256, expires FROM enrolment_secrets WHERE enrollment_id = ?",
                (enrollment_id,),
            ).fetchone()
            if row is None or row[1] < time.time() or not hmac.compare_digest(row[0], digest):
                return False
            self._db.execute("DELETE FROM enrolment_secrets WHERE enrollment_id = ?", (enrollment_id,))
        return True


def checked_request(enrollment_id: str, csr_pem: str) -> ec.EllipticCurvePublicKey:
    """The P-256 key of a well-formed request for `enrollment_id` signed by that key; else a Problem."""
    try:
        csr = x509.load_pem_x509_csr(csr_pem.encode())
    except ValueError:
        raise Problem("bad_request", "the certificate request is not a PEM PKCS#10 request") from None
    public_key = csr.public_key()
    if not isinstance(public_key, ec.EllipticCurvePublicKey) or public_key.curve.name != "secp256r1":
        raise Problem("bad_request", "the key must be ECDSA P-256")
    if not csr.is_signature_valid:
        raise Problem("bad_signature", "the certificate request is not signed by its key")
    names = csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if [n.value for n in names] != [enrollment_id]:
        raise Problem("bad_request", "the request's common name must be the member id")
    return public_key


def member_certificate(ledger: EmbeddedLedger, msp_id: str, enrollment_id: str, csr_pem: str) -> str:
    """The district CA's certificate for the key in `csr_pem`, once the request proves that key."""
    public_key = checked_request(enrollment_id, csr_pem)
    attributes = {"hf.EnrollmentID": enrollment_id, "hf.Type": "client", "hf.Affiliation": "",
                  "seocho.role": "member"}  # fmt: skip
    certificate = ledger.identities.certificate_authority(msp_id).issue(
        enrollment_id, public_key, "client", attributes
    )
    return certificate.public_bytes(serialization.Encoding.PEM).decode()
