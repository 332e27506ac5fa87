"""`seocho report --html`: one self-contained page of charts, rendered by headless Chromium."""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest
from cli_helpers import run


@pytest.fixture(scope="module")
def demo_ledger(tmp_path_factory: pytest.TempPathFactory) -> Path:
    ledger = tmp_path_factory.mktemp("demo") / "ledger"
    code, _, err = run("demo", "--keep", str(ledger), ledger=ledger)
    assert code == 0, err
    return ledger


def chromium(*args: str, tmp_path: Path) -> subprocess.CompletedProcess[bytes]:
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        pytest.skip("chromium is not installed (scripts/install-test-deps.sh installs it)")
    command = [binary, "--headless", "--disable-gpu", f"--user-data-dir={tmp_path / 'profile'}", *args]
    if os.geteuid() == 0:
        command.insert(1, "--no-sandbox")  # Chromium refuses to sandbox as root
    return subprocess.run(command, capture_output=True, timeout=120, check=True)


def distinct_pixel_bytes(png: bytes) -> int:
    """How many different byte values the image data holds (a blank page has very few)."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    position, data = 8, b""
    while position < len(png):
        (length,) = struct.unpack(">I", png[position : position + 4])
        kind = png[position + 4 : position + 8]
        if kind == b"IDAT":
            data += png[position + 8 : position + 8 + length]
        position += 12 + length
    return len(set(zlib.decompress(data)))


@pytest.mark.parametrize("lang", ["ko", "en"])
def test_the_page_renders_its_charts_offline(demo_ledger: Path, tmp_path: Path, lang: str) -> None:
    page = tmp_path / "report.html"
    code, _, err = run(
        "--lang", lang, "report", "--html", str(page), ledger=demo_ledger, identity="district-auditor"
    )
    assert code == 0, err
    html = page.read_text(encoding="utf-8")
    assert "http://" not in html.replace("http://www.w3.org/2000/svg", "") and "https://" not in html
    assert "<script" not in html  # charts are inline SVG: nothing to load, nothing to run
    heading = "월별 적립 및 사용 코인" if lang == "ko" else "Coins earned and spent by month"
    assert heading in html and f'lang="{lang}"' in html

    dom = chromium("--dump-dom", page.as_uri(), tmp_path=tmp_path).stdout.decode()
    charts = re.findall(r'<svg class="chart" data-chart="([a-z-]+)"', dom)
    assert charts == ["by-month", "by-activity", "by-institution", "members"]
    bars = re.findall(r'<rect class="bar" data-series="[^"]*" data-value="(\d+)"', dom)
    assert len(bars) > 10 and sum(int(v) for v in bars) > 0

    shot = tmp_path / "report.png"
    chromium(f"--screenshot={shot}", "--window-size=900,1600", page.as_uri(), tmp_path=tmp_path)
    assert distinct_pixel_bytes(shot.read_bytes()) > 20  # coloured bars and text, not a blank page
