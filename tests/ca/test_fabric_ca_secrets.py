"""MSP material never shows its private key when printed or logged."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fabric_ca import CAClient, CAError
from fabric_ca.msp import MspFiles


def test_msp_files_repr_hides_the_private_key() -> None:
    key_pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    files = MspFiles(b"certificate", key_pem, b"chain")

    for text in (repr(files), str(files)):
        assert "PRIVATE KEY" not in text
        assert key_pem.decode().splitlines()[1] not in text
    assert files == MspFiles(b"certificate", key_pem, b"chain")


class _Recorder(http.server.BaseHTTPRequestHandler):
    """Answers every request with `answer(handler)` and remembers the Authorization headers it saw."""

    seen: list[tuple[str, str | None]]
    answer: Callable[[http.server.BaseHTTPRequestHandler], None]

    def do_GET(self) -> None:
        self._record_and_answer()

    def do_POST(self) -> None:
        self._record_and_answer()

    def _record_and_answer(self) -> None:
        self.seen.append((self.command, self.headers.get("Authorization")))
        type(self).answer(self)

    def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
        pass


@contextmanager
def _serve(answer: Callable[[http.server.BaseHTTPRequestHandler], None]) -> Iterator[tuple[str, list]]:
    seen: list[tuple[str, str | None]] = []
    handler = type("Handler", (_Recorder,), {"seen": seen, "answer": staticmethod(answer)})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


def test_enroll_does_not_follow_a_redirect_with_the_secret() -> None:
    def ok(handler: http.server.BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.end_headers()
        handler.wfile.write(b'{"success": true, "result": {}}')

    with _serve(ok) as (elsewhere, elsewhere_seen):

        def redirect(handler: http.server.BaseHTTPRequestHandler) -> None:
            handler.send_response(302)
            handler.send_header("Location", f"{elsewhere}/api/v1/enroll")
            handler.send_header("Content-Length", "0")
            handler.end_headers()

        with (
            _serve(redirect) as (ca_url, ca_seen),
            CAClient(ca_url) as ca,
            pytest.raises(CAError) as raised,
        ):
            ca.enroll("user1", "the-enrollment-secret")

    assert raised.value.status == 302
    assert len(ca_seen) == 1 and ca_seen[0][1] is not None  # the CA itself got the credentials
    assert elsewhere_seen == []  # nobody else did
