"""On a network, the wallet's enrolment goes to the district's Fabric CA: the service relays the resident's
certificate request (made in the browser, whose key never leaves it) with the registrar's secret.

The one-time secret is then the CA's own registration secret (`seocho ca register --secret-out`, one
enrolment per registration): the CA checks it, so the service keeps none. TLS to the CA is verified
against the CA's TLS root. Nothing of the secret or the request is logged; a CA that does not answer (or
whose certificate is not trusted) is a 503 the caller can retry, since nothing was consumed.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

from fabric_ca import CAClient, CAConnectionError, CAError
from seocho.network_setup import CAAccess
from seocho.profile import CAEndpoint, Profile

from seocho_http.problems import Problem

logger = logging.getLogger(__name__)
CA_TIMEOUT_SECONDS = 15.0
# Fabric CA answers 401 for a wrong secret, an unknown id and a used-up registration alike (no oracle).
_REFUSED_SECRET = (
    "the district's CA refused the member id and secret: a wrong secret, or the registration was used "
    "already (one enrolment each: ask the registrar for a new one)"
)


def enrolment_cas(profile: Profile) -> dict[str, CAEndpoint]:
    """The identity CAs members enrol at, by MSP id: the profile's `ca`, else the network home's
    `orgs/*/ca-access.yaml` beside the profile (what `scripts/network.sh up` writes)."""
    if profile.ca is not None:
        return {profile.ca.msp_id: profile.ca}
    found: dict[str, CAEndpoint] = {}
    for path in sorted(profile.path.parent.glob("orgs/*/ca-access.yaml")):
        access = CAAccess.read(path)
        found[access.msp_id] = CAEndpoint(access.msp_id, access.url, access.tls_root)
    return found


class InsecureCAError(ValueError):
    """A CA to relay to whose URL is not https: the registration secrets would cross in the clear."""

    def __init__(self, msp_id: str) -> None:
        super().__init__(f"the CA of {msp_id} must be https (it receives secrets)")
        self.msp_id = msp_id


class FabricCARelay:
    """Relays residents' certificate requests to their organisation's Fabric CA."""

    def __init__(self, cas: Mapping[str, CAEndpoint], timeout: float = CA_TIMEOUT_SECONDS) -> None:
        for endpoint in cas.values():
            if urlsplit(endpoint.url).scheme != "https":
                raise InsecureCAError(endpoint.msp_id)
        self._cas = dict(cas)
        self._timeout = timeout

    @property
    def msp_ids(self) -> tuple[str, ...]:
        return tuple(sorted(self._cas))

    def enrol(self, msp_id: str, enrollment_id: str, secret: str, csr_pem: str) -> str:
        """The CA's certificate (PEM) for the request's key; a Problem when it refuses or is away."""
        endpoint = self._cas.get(msp_id)
        if endpoint is None:
            if not self._cas:
                raise Problem("ca_unavailable", "this service has no identity CA to enrol with")
            raise Problem("bad_request", "this service enrols members of " + ", ".join(self.msp_ids))
        try:
            with CAClient(endpoint.url, _root(endpoint.tls_root_cert), endpoint.ca_name, self._timeout) as ca:
                issued = ca.enroll_csr(enrollment_id, secret, csr_pem)
        except CAError as exc:
            if exc.status == 401:
                raise Problem("bad_secret", _REFUSED_SECRET) from None
            if 400 <= exc.status < 500:
                refusal = "; ".join(exc.messages)[:300]
                raise Problem("bad_request", "the district's CA refused: " + refusal) from None
            logger.warning("enrolment relay: the CA of %s failed (HTTP %d)", msp_id, exc.status)
            raise Problem("ca_unavailable", "the district's CA failed; try again later") from None
        except ssl.SSLError as exc:
            logger.warning("enrolment relay: TLS to the CA of %s failed (%s)", msp_id, type(exc).__name__)
            raise Problem("ca_unavailable", "the district's CA is not the one this service trusts") from None
        except (CAConnectionError, OSError) as exc:
            logger.warning("enrolment relay: the CA of %s does not answer (%s)", msp_id, type(exc).__name__)
            raise Problem("ca_unavailable", "the district's CA does not answer; try again later") from None
        return issued.certificate_pem.decode("ascii")


def _root(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        logger.warning("enrolment relay: cannot read the CA's TLS root %s", path)
        raise Problem("ca_unavailable", "the service cannot read the CA's TLS root") from None
