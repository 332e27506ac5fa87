"""The token Fabric CA expects in the Authorization header of requests made by an enrolled identity.

The token is ``base64(certificate PEM) + "." + base64(signature)``, where the signature covers
``method + "." + base64(request URI) + "." + base64(body) + "." + base64(certificate PEM)``. The
request URI is the path plus query exactly as sent, so the token is bound to one endpoint and body.
"""

from __future__ import annotations

import base64

from cryptography.hazmat.primitives.asymmetric import ec
from fabric_gateway.signing import sign_low_s


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def token_payload(method: str, request_uri: str, body: bytes, certificate_pem: bytes) -> bytes:
    """The bytes an identity signs to authorise one request."""
    return ".".join(
        (method.upper(), _b64(request_uri.encode("utf-8")), _b64(body), _b64(certificate_pem))
    ).encode("ascii")


def create_auth_token(
    certificate_pem: bytes,
    private_key: ec.EllipticCurvePrivateKey,
    method: str,
    request_uri: str,
    body: bytes,
) -> str:
    """Builds the Authorization header value for a request signed by an enrolled identity.

    Args:
        certificate_pem: The identity's enrollment certificate, PEM, byte for byte as it will be sent.
        private_key: The certificate's private key.
        method: The HTTP method, for example ``"POST"``.
        request_uri: The path and query of the request, for example ``"/api/v1/register"``.
        body: The exact request body bytes.
    """
    signature = sign_low_s(private_key, token_payload(method, request_uri, body, certificate_pem))
    return f"{_b64(certificate_pem)}.{_b64(signature)}"
