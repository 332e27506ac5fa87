"""The resident wallet page in Debian's Chromium (Selenium, chromedriver), on the embedded ledger: the key is
made in the browser, enrolment with the registrar's one-time secret, then balance, pay, donate, history,
each signed in the browser. A screenshot of every step is kept ($SEOCHO_TEST_ARTEFACTS, else tmp)."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from browser_support import chromium_driver
from seocho.backend import EmbeddedBackend
from seocho.cast import client_id_of
from seocho.coin import Coin
from seocho_http import ServiceConfig, create_app
from seocho_http.signatures import creator_of
from seocho_http.upstream import EmbeddedUpstream
from world import DISTRICT, World, evidence


@pytest.fixture
def wallet_url(world: World, tmp_path: Path) -> Iterator[tuple[str, object]]:
    app = create_app(EmbeddedUpstream(world.ledger), ServiceConfig(state_dir=tmp_path / "state"))
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, access_log=False, log_level="warning")
    )
    failures: list[BaseException] = []

    def run() -> None:
        try:
            server.run()
        except BaseException as exc:  # the test fails on it below
            failures.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    while not server.started:
        assert not failures and thread.is_alive(), failures
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}", app
    server.should_exit = True
    thread.join(timeout=30)
    assert not failures, failures


@pytest.fixture
def browser() -> Iterator[object]:
    with chromium_driver("--lang=ko-KR") as driver:
        yield driver


def test_a_resident_enrols_pays_donates_and_reads_the_history_in_the_browser(
    wallet_url: tuple[str, object], browser: object, world: World, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    url, app = wallet_url
    driver = browser
    artefacts = Path(os.environ.get("SEOCHO_TEST_ARTEFACTS", tmp_path)) / "wallet"
    artefacts.mkdir(parents=True, exist_ok=True)
    wait = WebDriverWait(driver, 60)  # type: ignore[arg-type]
    step = iter(range(1, 100))

    def status_is(text: str) -> None:
        def shown(d: object) -> str:
            return str(d.find_element(By.ID, "status").text)  # type: ignore[attr-defined]

        wait.until(lambda d: text in shown(d) or "오류" in shown(d))
        assert text in shown(driver), shown(driver)

    def shot(name: str) -> None:
        driver.save_screenshot(str(artefacts / f"{next(step):02d}-{name}.png"))  # type: ignore[attr-defined]

    def fill(element_id: str, value: str) -> None:
        field = driver.find_element(By.ID, element_id)  # type: ignore[attr-defined]
        field.clear()
        field.send_keys(value)

    secret = app.state.service.store.enrolment_secrets.issue("S-0050")  # type: ignore[attr-defined]
    driver.get(url + "/wallet/")  # type: ignore[attr-defined]
    assert driver.title == "서초코인 지갑"  # type: ignore[attr-defined]
    shot("page")
    fill("member-id", "S-0050")
    fill("secret", secret)
    driver.find_element(By.ID, "enrol").click()  # type: ignore[attr-defined]
    status_is("등록되었습니다")
    shot("enrolled")
    certificate = driver.find_element(By.ID, "certificate").get_attribute("textContent")  # type: ignore[attr-defined]
    registrar = Coin(EmbeddedBackend(world.ledger, world.ledger.identities.get("registrar")))
    registrar.register_member("S-0050", ["senior"], client_id_of(creator_of(DISTRICT, certificate)))
    Coin(EmbeddedBackend(world.ledger, world.ledger.identities.get("wc-staff"))).earn(
        "S-0050", "volunteer_hour", 4, evidence(), "VOL-WALLET"
    )
    driver.find_element(By.ID, "balance-button").click()  # type: ignore[attr-defined]
    status_is("잔액을 불러왔습니다")
    assert driver.find_element(By.ID, "balance").text == "12"  # type: ignore[attr-defined]
    shot("balance")
    fill("pay-institution", "wc-01")
    fill("pay-price", "3000")
    fill("pay-coins", "5")
    fill("pay-service", "gym")
    driver.find_element(By.ID, "pay").click()  # type: ignore[attr-defined]
    status_is("완료되었습니다")
    shot("paid")
    fill("donate-charity", "chest-01")
    fill("donate-coins", "2")
    driver.find_element(By.ID, "donate").click()  # type: ignore[attr-defined]
    status_is("완료되었습니다")
    shot("donated")
    driver.find_element(By.ID, "balance-button").click()  # type: ignore[attr-defined]
    wait.until(lambda d: d.find_element(By.ID, "balance").text == "5")
    driver.find_element(By.ID, "history-button").click()  # type: ignore[attr-defined]
    status_is("내역을 불러왔습니다")
    rows = driver.find_elements(By.CSS_SELECTOR, "#history tr")  # type: ignore[attr-defined]
    assert [r.find_elements(By.TAG_NAME, "td")[1].text for r in rows] == ["earn", "pay", "donate"]
    shot("history")
    balance = Coin(EmbeddedBackend(world.ledger, world.ledger.identities.get("auditor"))).get_balance(
        "S-0050"
    )
    assert balance["coins"] == 5
    exported = driver.execute_async_script(  # type: ignore[attr-defined]
        """const done = arguments[0];
        kept().then((w) => crypto.subtle.exportKey("pkcs8", w.keys.privateKey))
              .then(() => done("exported"), (e) => done(e.name));"""
    )
    assert exported == "InvalidAccessError"  # the private key cannot leave the browser
