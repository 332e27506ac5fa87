"""Debian's Chromium, headless, driven by Selenium through chromedriver (scripts/install-test-deps.sh).

The pages under test (the wallet page, the network's operations view) are checked as a browser renders them.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest


def require_binary(binary: str) -> str:
    """The program's path; skips without it (fails under CI=true)."""
    found = shutil.which(binary)
    if found is None:
        message = f"{binary} is missing (scripts/install-test-deps.sh installs it)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return found


@contextlib.contextmanager
def chromium_driver(*arguments: str, window_size: str = "800,1600") -> Iterator[Any]:
    """A headless Chromium WebDriver; `arguments` are more Chromium switches (e.g. --lang=ko-KR)."""
    require_binary("chromium")
    driver_path = require_binary("chromedriver")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or ""
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     f"--window-size={window_size}", *arguments):  # fmt: skip
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    try:
        yield driver
    finally:
        driver.quit()
