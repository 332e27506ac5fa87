"""The coin over HTTP: `seocho serve`, an ASGI service for the resident app, kiosks and shop terminals.

Residents sign on their own device (the service hands out the bytes to sign and checks each signature
before passing it on); institutions' terminals authenticate with API keys the district issues, each bound
to one staff identity the service holds and to scopes.
"""

from seocho_http.app import create_app
from seocho_http.config import ServiceConfig

__all__ = ["ServiceConfig", "create_app"]
