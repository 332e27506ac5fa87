"""The resident wallet page in Debian's Chromium (Selenium, chromedriver), on the embedded ledger: the key is
made in the browser, enrolment with the registrar's one-time secret, then balance, pay, donate, history,
each signed in the browser. A screenshot of every step is kept ($SEOCHO_TEST_ARTEFACTS, else tmp). The
same walk on the network, enrolling through the relay to the district's Fabric CA, is in
test_http_network.py."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from seocho.backend import EmbeddedBackend
from seocho.cast import client_id_of
from seocho.coin import Coin
from seocho_http import ServiceConfig, create_app
from seocho_http.signatures import creator_of
from seocho_http.upstream import EmbeddedUpstream
from wallet_browser import WalletPage, chromium, serve_on_loopback
from world import DISTRICT, World, evidence


@pytest.fixture
def wallet_url(world: World, tmp_path: Path) -> Iterator[tuple[str, Any]]:
    app = create_app(EmbeddedUpstream(world.ledger), ServiceConfig(state_dir=tmp_path / "state"))
    with serve_on_loopback(app) as url:
        yield url, app


@pytest.fixture
def browser() -> Iterator[Any]:
    yield from chromium()


def artefacts_dir(tmp_path: Path, name: str) -> Path:
    return Path(os.environ.get("SEOCHO_TEST_ARTEFACTS", tmp_path)) / name


def test_a_resident_enrols_pays_donates_and_reads_the_history_in_the_browser(
    wallet_url: tuple[str, Any], browser: Any, world: World, tmp_path: Path
) -> None:
    url, app = wallet_url
    page = WalletPage(browser, url, artefacts_dir(tmp_path, "wallet"))
    secret = app.state.service.store.enrolment_secrets.issue("S-0050")
    certificate = page.enrol("S-0050", secret)
    registrar = Coin(EmbeddedBackend(world.ledger, world.ledger.identities.get("registrar")))
    registrar.register_member("S-0050", ["senior"], client_id_of(creator_of(DISTRICT, certificate)))
    Coin(EmbeddedBackend(world.ledger, world.ledger.identities.get("wc-staff"))).earn(
        "S-0050", "volunteer_hour", 4, evidence(), "VOL-WALLET"
    )
    assert page.balance() == "12"
    page.pay("wc-01", 3000, 5, "gym")
    page.donate("chest-01", 2)
    assert page.balance() == "5"
    assert page.history() == ["earn", "pay", "donate"]
    balance = Coin(EmbeddedBackend(world.ledger, world.ledger.identities.get("auditor"))).get_balance(
        "S-0050"
    )
    assert balance["coins"] == 5
    assert page.key_is_kept_in_the_browser()  # the private key cannot leave the browser
