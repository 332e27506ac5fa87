"""Helpers: the service on an embedded ledger, in-process (httpx through ASGI), with terminals issued."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from fastapi.testclient import TestClient
from seocho_http import ServiceConfig, create_app
from seocho_http.upstream import EmbeddedUpstream
from world import World


@dataclass
class Served:
    client: TestClient
    world: World
    keys: dict[str, str]

    def terminal(self, name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[name]}"}


def state_of(served: Served) -> dict[str, object]:
    """The coin's world state on the ledger: what a refused request must leave as it was."""
    return {k: v.value for k, v in served.world.ledger.world_state("seocho").items()}


def serve(world: World, state: Path, **config: object) -> Iterator[Served]:
    upstream = EmbeddedUpstream(world.ledger)
    app = create_app(upstream, ServiceConfig(state_dir=state, **config))  # type: ignore[arg-type]
    store = app.state.service.store
    keys = {
        "wc-kiosk": store.add_terminal("wc-kiosk", "wc-01", "wc-staff", ["earn", "kiosk", "statement"]),
        "shop-till": store.add_terminal("shop-till", "shop-01", "shop-staff", ["earn", "kiosk"]),
        "wc-viewer": store.add_terminal("wc-viewer", "wc-01", "wc-staff", ["statement"]),
        "officials": store.add_terminal("officials", "district", "auditor", ["report"]),
    }
    with TestClient(app, base_url="http://127.0.0.1") as client:
        yield Served(client, world, keys)
