"""Print the service's OpenAPI document (kept as client/seocho_http/openapi.json; a test holds it)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from embedded_ledger import EmbeddedLedger

from seocho_http.app import create_app
from seocho_http.config import ServiceConfig
from seocho_http.upstream import EmbeddedUpstream


def document() -> str:
    with tempfile.TemporaryDirectory() as state:
        app = create_app(EmbeddedUpstream(EmbeddedLedger.open(None)), ServiceConfig(state_dir=Path(state)))
        text = json.dumps(app.openapi(), indent=2, ensure_ascii=False, sort_keys=True)
        app.state.service.close()
    return text + "\n"


if __name__ == "__main__":
    print(document(), end="")
