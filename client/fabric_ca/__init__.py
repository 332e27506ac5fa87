"""A generic Hyperledger Fabric CA client.

Enrolls, registers, reenrolls and revokes identities through a Fabric CA server's REST API (v1) and
reads and writes Fabric MSP directories. It knows nothing about any particular application.

Example::

    from fabric_ca import Attribute, CAClient, RegistrationRequest

    with CAClient("https://127.0.0.1:7054", "ca-cert.pem") as ca:
        admin = ca.enroll("admin", "adminpw")
        secret = ca.register(admin, RegistrationRequest("app1", attributes=[Attribute("app.role", "reader")]))
        app = ca.enroll("app1", secret)
        app.write_msp("msp")
"""

from .auth_token import create_auth_token
from .certificates import ATTRIBUTES_OID, certificate_attributes
from .client import AttributeRequestLike, CAClient
from .enrollment import Enrollment, load_msp
from .errors import CAConnectionError, CAError, CAErrorDetail
from .models import (
    Attribute,
    AttributeRequest,
    CAInfo,
    IssuedCertificate,
    RegistrationRequest,
    RevocationResult,
    RevokedCertificate,
)

__all__ = [
    "ATTRIBUTES_OID",
    "Attribute",
    "AttributeRequest",
    "AttributeRequestLike",
    "CAClient",
    "CAConnectionError",
    "CAError",
    "CAErrorDetail",
    "CAInfo",
    "Enrollment",
    "IssuedCertificate",
    "RegistrationRequest",
    "RevocationResult",
    "RevokedCertificate",
    "certificate_attributes",
    "create_auth_token",
    "load_msp",
]
