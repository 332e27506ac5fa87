"""The wallet page in Debian's Chromium (Selenium, chromedriver) for the embedded and the network tests: the
service on a real loopback socket, the browser, and the page's steps with a screenshot after each."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import uvicorn
from browser_support import chromium_driver


@contextlib.contextmanager
def serve_on_loopback(app: Any) -> Iterator[str]:
    """Serves `app` with uvicorn on 127.0.0.1 (the kernel picks the port as it binds) until closed."""
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
    try:
        yield f"http://127.0.0.1:{port}"
    finally:  # the server stops whether the test body passed or not
        server.should_exit = True
        thread.join(timeout=30)
    assert not failures, failures


def chromium() -> Iterator[Any]:
    """The wallet's browser: headless, in Korean (the page's first language)."""
    with chromium_driver("--lang=ko-KR") as driver:
        yield driver


class WalletPage:
    """The resident's steps on the page; each `click` clears the status first, so `status_is` waits for
    this step's answer and not the last one's."""

    def __init__(self, driver: Any, url: str, artefacts: Path) -> None:
        from selenium.webdriver.support.ui import WebDriverWait

        self.driver = driver
        self.artefacts = artefacts
        artefacts.mkdir(parents=True, exist_ok=True)
        self.wait = WebDriverWait(driver, 90)
        self._step = iter(range(1, 100))
        driver.get(url + "/wallet/")

    def _by_id(self, element_id: str) -> Any:
        from selenium.webdriver.common.by import By

        return self.driver.find_element(By.ID, element_id)

    def text(self, element_id: str) -> str:
        return str(self._by_id(element_id).text)

    def fill(self, element_id: str, value: str) -> None:
        field = self._by_id(element_id)
        field.clear()
        field.send_keys(value)

    def click(self, element_id: str) -> None:
        self.driver.execute_script('document.getElementById("status").textContent = ""')
        self._by_id(element_id).click()

    def status_is(self, text: str) -> None:
        self.wait.until(lambda d: text in self.text("status") or "오류" in self.text("status"))
        assert text in self.text("status"), self.text("status")

    def shot(self, name: str) -> None:
        self.driver.save_screenshot(str(self.artefacts / f"{next(self._step):02d}-{name}.png"))

    def certificate(self) -> str:
        return str(self._by_id("certificate").get_attribute("textContent"))

    def history_kinds(self) -> list[str]:
        from selenium.webdriver.common.by import By

        rows = self.driver.find_elements(By.CSS_SELECTOR, "#history tr")
        return [row.find_elements(By.TAG_NAME, "td")[1].text for row in rows]

    def enrol(self, member_id: str, secret: str) -> str:
        """Enrols with the one-time secret; the certificate the page now keeps."""
        assert self.driver.title == "서초코인 지갑"
        self.shot("page")
        self.fill("member-id", member_id)
        self.fill("secret", secret)
        self.click("enrol")
        self.status_is("등록되었습니다")
        self.shot("enrolled")
        return self.certificate()

    def balance(self) -> str:
        self.click("balance-button")
        self.status_is("잔액을 불러왔습니다")
        self.shot("balance")
        return self.text("balance")

    def pay(self, institution: str, price_krw: int, coins: int, service: str) -> None:
        for element_id, value in (("pay-institution", institution), ("pay-price", str(price_krw)),
                                  ("pay-coins", str(coins)), ("pay-service", service)):  # fmt: skip
            self.fill(element_id, value)
        self.click("pay")
        self.status_is("완료되었습니다")
        self.shot("paid")

    def donate(self, charity: str, coins: int) -> None:
        self.fill("donate-charity", charity)
        self.fill("donate-coins", str(coins))
        self.click("donate")
        self.status_is("완료되었습니다")
        self.shot("donated")

    def history(self) -> list[str]:
        self.click("history-button")
        self.status_is("내역을 불러왔습니다")
        self.shot("history")
        return self.history_kinds()

    def key_is_kept_in_the_browser(self) -> bool:
        exported = self.driver.execute_async_script(
            """const done = arguments[0];
            kept().then((w) => crypto.subtle.exportKey("pkcs8", w.keys.privateKey))
                  .then(() => done("exported"), (e) => done(e.name));"""
        )
        return bool(exported == "InvalidAccessError")
