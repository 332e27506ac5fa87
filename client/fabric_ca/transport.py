"""JSON over HTTPS to a Fabric CA server, turning its response envelope into results or errors.

Every Fabric CA response is ``{"success": bool, "result": ..., "errors": [{"code", "message"}],
"messages": [...]}``. This module sends exact body bytes (the auth token signs them) and returns
``result`` or raises :class:`~fabric_ca.errors.CAError`.
"""

from __future__ import annotations

import json
import logging
import ssl
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from .errors import CAConnectionError, CAError, CAErrorDetail

logger = logging.getLogger(__name__)

API_PREFIX = "/api/v1/"


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    """Fabric CA never redirects; following one would resend the Authorization header (an enrollment
    secret or a signed token) to wherever the Location points, even over plain HTTP."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # urllib then raises HTTPError with the 3xx status


class CATransport:
    """Sends requests to one Fabric CA server.

    Args:
        url: The server's base URL, for example ``https://ca.example.org:7054``; a path prefix is kept.
        ssl_context: TLS settings for ``https`` URLs; None for plain ``http``.
        timeout: Seconds to wait for the server on each request.
    """

    def __init__(self, url: str, ssl_context: ssl.SSLContext | None, timeout: float) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"Fabric CA URL must be http(s)://host:port, got {url!r}")
        if parts.scheme == "https" and ssl_context is None:
            raise ValueError("an https Fabric CA URL needs TLS settings")
        self._scheme_and_host = urlunsplit((parts.scheme, parts.netloc, "", "", ""))
        self._path_prefix = parts.path.rstrip("/")
        self._ssl_context = ssl_context if parts.scheme == "https" else None
        self._timeout = timeout
        handlers: list[urllib.request.BaseHandler] = [_RefuseRedirects()]
        if self._ssl_context is not None:
            handlers.append(urllib.request.HTTPSHandler(context=self._ssl_context))
        self._opener = urllib.request.build_opener(*handlers)

    def request_uri(self, endpoint: str, query: str = "") -> str:
        """The path (and query) a request to ``endpoint`` is sent to; the auth token signs it."""
        uri = f"{self._path_prefix}{API_PREFIX}{endpoint}"
        return f"{uri}?{query}" if query else uri

    def send(
        self,
        method: str,
        request_uri: str,
        body: bytes | None = None,
        authorization: str | None = None,
    ) -> Any:
        """Sends one request and returns the ``result`` of a successful response.

        Raises:
            CAError: The server answered with an error status or ``success: false``.
            ssl.SSLError: TLS failed, for example because the server's certificate is not trusted.
            CAConnectionError: The server could not be reached.
        """
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        if authorization is not None:
            headers["Authorization"] = authorization
        request = urllib.request.Request(
            self._scheme_and_host + request_uri, data=body, headers=headers, method=method
        )
        try:
            with self._opener.open(request, timeout=self._timeout) as reply:
                status, payload = reply.status, reply.read()
        except urllib.error.HTTPError as error:
            status, payload = error.code, error.read()
        except urllib.error.URLError as error:
            if isinstance(error.reason, ssl.SSLError):
                raise error.reason from error
            raise CAConnectionError(
                f"cannot reach Fabric CA at {self._scheme_and_host}: {error.reason}"
            ) from error
        except (TimeoutError, ConnectionError) as error:
            raise CAConnectionError(f"Fabric CA at {self._scheme_and_host} failed: {error}") from error
        logger.debug("%s %s -> HTTP %d", method, request_uri, status)
        return _result_of(status, payload)


def _result_of(status: int, payload: bytes) -> Any:
    try:
        envelope = json.loads(payload) if payload else None
    except ValueError:
        envelope = None
    if not isinstance(envelope, dict):
        detail = f"response is not a Fabric CA JSON envelope: {payload[:200]!r}"
        raise CAError(status, [CAErrorDetail(0, detail)])
    errors = [_error_detail(entry) for entry in envelope.get("errors") or []]
    if status >= 400 or errors or not envelope.get("success", False):
        raise CAError(status, errors)
    return envelope.get("result")


def _error_detail(entry: Any) -> CAErrorDetail:
    if isinstance(entry, dict):
        return CAErrorDetail(int(entry.get("code", 0) or 0), str(entry.get("message", "")))
    return CAErrorDetail(0, str(entry))
