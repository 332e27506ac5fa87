"""The Fabric CA client: enroll, register, reenroll and revoke identities over the CA's REST API."""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import ssl
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlencode

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from .auth_token import create_auth_token
from .certificates import build_csr, generate_private_key
from .enrollment import Enrollment
from .errors import CAError, CAErrorDetail
from .models import (
    AttributeRequest,
    CAInfo,
    IssuedCertificate,
    RegistrationRequest,
    RevocationResult,
    RevokedCertificate,
)
from .transport import CATransport

logger = logging.getLogger(__name__)

#: What enroll and reenroll accept as attribute requests: a request, or a name meaning a required one.
AttributeRequestLike = AttributeRequest | str


class CAClient:
    """A client of one Fabric CA (REST API v1).

    Use it as a context manager or call :meth:`close` when done::

        with CAClient("https://ca.example.org:7054", Path("tls-ca.pem")) as ca:
            admin = ca.enroll("admin", "adminpw")
            secret = ca.register(admin, RegistrationRequest("user1", attributes=[Attribute("app.role", "x")]))
            user = ca.enroll("user1", secret)

    Args:
        url: The server's URL, ``https://host:port`` (``http`` only for a CA without TLS).
        tls_root_cert: The PEM certificate(s) that sign the server's TLS certificate, as bytes, PEM text
            or a file path. Required for ``https``. The server's hostname is verified against it.
        ca_name: Which CA of a multi-CA server to talk to; None for the server's default CA.
        timeout: Seconds to wait for the server on each request.
    """

    def __init__(
        self,
        url: str,
        tls_root_cert: bytes | str | os.PathLike[str] | None = None,
        ca_name: str | None = None,
        timeout: float = 30.0,
    ) -> None:
        context = _tls_context(tls_root_cert) if tls_root_cert is not None else None
        self._transport = CATransport(url, context, timeout)
        self._ca_name = ca_name
        self._closed = False

    def __enter__(self) -> CAClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Marks the client closed; later requests raise RuntimeError.

        Each request uses its own connection, so there is nothing else to release.
        """
        self._closed = True

    @property
    def ca_name(self) -> str | None:
        """The CA name sent with every request, or None for the server's default CA."""
        return self._ca_name

    def ca_info(self) -> CAInfo:
        """Asks the server who it is; needs no credentials (useful as a readiness probe)."""
        query = urlencode({"ca": self._ca_name}) if self._ca_name else ""
        result = self._send("GET", self._transport.request_uri("cainfo", query))
        return CAInfo(
            ca_name=str(result.get("CAName", "")),
            ca_chain_pem=base64.b64decode(result.get("CAChain", "")),
            version=str(result.get("Version", "")),
        )

    def enroll(
        self,
        enrollment_id: str,
        secret: str,
        attr_reqs: Iterable[AttributeRequestLike] = (),
        csr_hosts: Iterable[str] = (),
        key: ec.EllipticCurvePrivateKey | None = None,
        profile: str = "",
    ) -> Enrollment:
        """Enrolls an identity with its secret and returns the issued certificate with its key.

        Args:
            enrollment_id: The registered identity's name.
            secret: Its enrollment secret.
            attr_reqs: Attributes to put in the certificate. Empty means the server's default: every
                attribute registered with ``ecert=True``.
            csr_hosts: Host names or IP addresses for the certificate's subject alternative names.
            key: The key to certify; a new P-256 key when None.
            profile: The CA signing profile, for example ``"tls"``; empty for the default.

        Raises:
            CAError: The server refused, for example HTTP 401 for a wrong secret or a revoked identity.
        """
        private_key = key or generate_private_key()
        body = self._signing_body(enrollment_id, private_key, attr_reqs, csr_hosts, profile)
        credentials = base64.b64encode(f"{enrollment_id}:{secret}".encode()).decode("ascii")
        result = self._send("POST", self._transport.request_uri("enroll"), body, f"Basic {credentials}")
        return _enrollment_from(result, private_key)

    def enroll_csr(
        self,
        enrollment_id: str,
        secret: str,
        csr_pem: bytes | str,
        attr_reqs: Iterable[AttributeRequestLike] = (),
        profile: str = "",
    ) -> IssuedCertificate:
        """Enrolls an identity for a certificate request made elsewhere (the key never reaches this
        process: a browser or a hardware token made the request and keeps the key).

        The server refuses a request whose common name is not ``enrollment_id``. Raises as :meth:`enroll`;
        an answer whose certificate does not certify the request's key is a :class:`CAError` too, and
        a ``csr_pem`` that is not a PEM certificate request a ValueError (before anything is sent).
        """
        pem = csr_pem.decode("ascii") if isinstance(csr_pem, bytes) else csr_pem
        requested_key = x509.load_pem_x509_csr(pem.encode("ascii")).public_key()
        body = self._request_body(pem, attr_reqs, (), profile)
        credentials = base64.b64encode(f"{enrollment_id}:{secret}".encode()).decode("ascii")
        result = self._send("POST", self._transport.request_uri("enroll"), body, f"Basic {credentials}")
        issued = _issued_from(result)
        if x509.load_pem_x509_certificate(issued.certificate_pem).public_key() != requested_key:
            raise CAError(0, [CAErrorDetail(0, "the CA certified another key than the request's")])
        return issued

    def reenroll(
        self,
        enrollment: Enrollment,
        attr_reqs: Iterable[AttributeRequestLike] = (),
        csr_hosts: Iterable[str] = (),
        key: ec.EllipticCurvePrivateKey | None = None,
        profile: str = "",
    ) -> Enrollment:
        """Gets a new certificate for an enrolled identity, authenticated by its current one.

        A new key is generated unless ``key`` is given (pass ``enrollment.private_key`` to keep it).
        ``profile`` names the CA's signing profile (``"tls"`` renews a TLS certificate).
        """
        private_key = key or generate_private_key()
        body = self._signing_body(enrollment.enrollment_id, private_key, attr_reqs, csr_hosts, profile)
        result = self._send_signed(enrollment, "reenroll", body)
        return _enrollment_from(result, private_key)

    def register(self, registrar: Enrollment, request: RegistrationRequest) -> str:
        """Registers a new identity and returns its enrollment secret.

        The registrar needs ``hf.Registrar.Roles`` covering the type and, for attributes,
        ``hf.Registrar.Attributes`` covering their names.
        """
        body = _json_bytes(request.to_json(self._ca_name))
        result = self._send_signed(registrar, "register", body)
        return str(result["secret"])

    def revoke(
        self,
        registrar: Enrollment,
        name: str | None = None,
        serial: str | None = None,
        aki: str | None = None,
        reason: str = "",
        gencrl: bool = False,
    ) -> RevocationResult:
        """Revokes an identity (``name``: all its certificates, and it can no longer enroll) or one
        certificate (``serial`` and ``aki``, hex as :attr:`Enrollment.serial_hex` and
        :attr:`Enrollment.authority_key_id_hex` give them).

        Args:
            registrar: An identity with ``hf.Revoker``, or the certificate's owner.
            reason: An RFC 5280 reason name such as ``"keycompromise"``; empty for unspecified.
            gencrl: Also return the CA's updated revocation list.
        """
        if name is None and (serial is None or aki is None):
            raise ValueError("revoke needs a name, or both serial and aki")
        request: dict[str, Any] = {"reason": reason, "gencrl": gencrl}
        if name is not None:
            request["id"] = name
        if serial is not None and aki is not None:
            request.update(serial=serial, aki=aki)
        if self._ca_name:
            request["caname"] = self._ca_name
        result = self._send_signed(registrar, "revoke", _json_bytes(request))
        revoked = tuple(
            RevokedCertificate(str(entry.get("Serial", "")), str(entry.get("AKI", "")))
            for entry in (result.get("RevokedCerts") or [])
        )
        crl = result.get("CRL")
        return RevocationResult(revoked, base64.b64decode(crl) if crl else None)

    def _signing_body(
        self,
        enrollment_id: str,
        private_key: ec.EllipticCurvePrivateKey,
        attr_reqs: Iterable[AttributeRequestLike],
        csr_hosts: Iterable[str],
        profile: str,
    ) -> bytes:
        hosts = list(csr_hosts)
        csr_pem = build_csr(enrollment_id, private_key, hosts).decode("ascii")
        return self._request_body(csr_pem, attr_reqs, hosts, profile)

    def _request_body(
        self,
        csr_pem: str,
        attr_reqs: Iterable[AttributeRequestLike],
        hosts: list[str] | tuple[str, ...],
        profile: str,
    ) -> bytes:
        requests = [AttributeRequest(r) if isinstance(r, str) else r for r in attr_reqs]
        body: dict[str, Any] = {
            "certificate_request": csr_pem,
            "profile": profile,
            "caname": self._ca_name or "",
        }
        if hosts:
            body["hosts"] = list(hosts)
        # An empty list would ask for no attributes at all; leaving it out asks for the ecert defaults.
        if requests:
            body["attr_reqs"] = [request.to_json() for request in requests]
        return _json_bytes(body)

    def _send_signed(self, identity: Enrollment, endpoint: str, body: bytes) -> Any:
        uri = self._transport.request_uri(endpoint)
        token = create_auth_token(identity.certificate_pem, identity.private_key, "POST", uri, body)
        return self._send("POST", uri, body, token)

    def _send(
        self, method: str, uri: str, body: bytes | None = None, authorization: str | None = None
    ) -> Any:
        if self._closed:
            raise RuntimeError("this CAClient is closed")
        result = self._transport.send(method, uri, body, authorization)
        if not isinstance(result, dict):
            raise CAError(200, [CAErrorDetail(0, f"unexpected result type {type(result).__name__}")])
        return result


def _tls_context(tls_root_cert: bytes | str | os.PathLike[str]) -> ssl.SSLContext:
    if isinstance(tls_root_cert, bytes):
        pem = tls_root_cert.decode("ascii")
    elif isinstance(tls_root_cert, str) and tls_root_cert.lstrip().startswith("-----BEGIN"):
        pem = tls_root_cert
    else:
        pem = Path(tls_root_cert).read_text(encoding="ascii")
    return ssl.create_default_context(cadata=pem)


def _json_bytes(document: dict[str, Any]) -> bytes:
    return json.dumps(document, separators=(",", ":")).encode("utf-8")


def _issued_from(result: dict[str, Any]) -> IssuedCertificate:
    try:
        certificate_pem = base64.b64decode(result["Cert"], validate=True)
        server_info = result.get("ServerInfo") or {}
        ca_chain_pem = base64.b64decode(server_info.get("CAChain", ""), validate=True)
        # Parse now so a malformed answer fails here, not later in a peer.
        x509.load_pem_x509_certificate(certificate_pem)
    except (KeyError, TypeError, ValueError, binascii.Error):
        raise CAError(0, [CAErrorDetail(0, "the CA answered success without a usable certificate")]) from None
    return IssuedCertificate(certificate_pem, ca_chain_pem)


def _enrollment_from(result: dict[str, Any], private_key: ec.EllipticCurvePrivateKey) -> Enrollment:
    issued = _issued_from(result)
    try:
        enrollment = Enrollment(issued.certificate_pem, private_key, issued.ca_chain_pem)
    except ValueError:
        raise CAError(0, [CAErrorDetail(0, "the CA answered success without a usable certificate")]) from None
    logger.debug("enrolled %s (serial %s)", enrollment.enrollment_id, enrollment.serial_hex)
    return enrollment
