"""Request and result values exchanged with a Fabric CA server."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class IssuedCertificate:
    """A certificate the CA issued for a request whose key the caller holds elsewhere (see
    :meth:`~fabric_ca.CAClient.enroll_csr`).

    Attributes:
        certificate_pem: The enrollment certificate, PEM.
        ca_chain_pem: The issuing CA's certificate chain, PEM.
    """

    certificate_pem: bytes = field(repr=False)
    ca_chain_pem: bytes = field(repr=False)


@dataclass(frozen=True)
class Attribute:
    """An attribute to give an identity when registering it.

    Attributes:
        name: Attribute name, for example ``"app.role"``. Names starting with ``hf.`` are Fabric CA's own.
        value: Attribute value; Fabric CA stores every value as a string.
        ecert: Whether the value goes into the identity's enrollment certificates by default
            (extension OID 1.2.3.4.5.6.7.8.1) when it enrolls without asking for attributes.
    """

    name: str
    value: str
    ecert: bool = True

    def to_json(self) -> dict[str, Any]:
        """The attribute as the register endpoint expects it."""
        return {"name": self.name, "value": self.value, "ecert": self.ecert}


@dataclass(frozen=True)
class AttributeRequest:
    """An attribute to put into the certificate being issued by an enroll or reenroll.

    Attributes:
        name: The registered attribute's name.
        optional: When False the server refuses to issue a certificate if the identity lacks it.
    """

    name: str
    optional: bool = False

    def to_json(self) -> dict[str, Any]:
        """The request as the enroll endpoints expect it."""
        return {"name": self.name, "optional": self.optional}


@dataclass(frozen=True)
class RegistrationRequest:
    """A new identity for a registrar to register.

    Attributes:
        name: The enrollment ID; it becomes the common name of the identity's certificates.
        type: The identity type (``client``, ``peer``, ``orderer``, ``admin``...); Fabric CA puts it in
            the certificate's OU, which Fabric's NodeOUs classification reads.
        affiliation: Dotted affiliation such as ``org1.department1``; empty means the registrar's own.
        attributes: Attributes to register with the identity.
        max_enrollments: How many times the secret may be used to enroll; None leaves the CA's default.
        secret: The enrollment secret; None lets the server generate one (returned by ``register``).
    """

    name: str
    type: str = "client"
    affiliation: str = ""
    attributes: tuple[Attribute, ...] | list[Attribute] = ()
    max_enrollments: int | None = None
    secret: str | None = field(default=None, repr=False)

    def to_json(self, ca_name: str | None) -> dict[str, Any]:
        """The request body of the register endpoint."""
        body: dict[str, Any] = {
            "id": self.name,
            "type": self.type,
            "affiliation": self.affiliation,
            "attrs": [attribute.to_json() for attribute in self.attributes],
        }
        if self.max_enrollments is not None:
            body["max_enrollments"] = self.max_enrollments
        if self.secret is not None:
            body["secret"] = self.secret
        if ca_name:
            body["caname"] = ca_name
        return body


@dataclass(frozen=True)
class RevokedCertificate:
    """A certificate the server reported as revoked.

    Attributes:
        serial: Serial number, lower-case hex without leading zeros.
        aki: Authority key identifier of the issuer, lower-case hex.
    """

    serial: str
    aki: str


@dataclass(frozen=True)
class RevocationResult:
    """What a revoke request revoked.

    Attributes:
        revoked: Every certificate revoked by the request.
        crl_pem: The CA's new certificate revocation list when one was asked for, else None.
    """

    revoked: tuple[RevokedCertificate, ...]
    crl_pem: bytes | None = None


@dataclass(frozen=True)
class CAInfo:
    """What a Fabric CA server says about itself.

    Attributes:
        ca_name: The CA's name (empty for a server's default CA unless configured).
        ca_chain_pem: The CA's certificate chain, PEM.
        version: The server's version string.
    """

    ca_name: str
    ca_chain_pem: bytes
    version: str
