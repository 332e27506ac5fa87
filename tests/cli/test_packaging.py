"""Installing is quiet and complete: no deprecated metadata, catalogues compiled, progress while pip runs."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from seocho.i18n import LOCALE_DIR

ROOT = Path(__file__).resolve().parents[2]


def test_the_license_is_an_spdx_string_that_the_required_setuptools_reads() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["license"] == "Apache-2.0"  # a table is deprecated (setuptools warns 3 times)
    setuptools = next(r for r in project["build-system"]["requires"] if r.startswith("setuptools"))
    match = re.fullmatch(r"setuptools>=(\d+)(?:\.\d+)*", setuptools)
    assert match is not None and int(match.group(1)) >= 77  # the first to accept an SPDX license string


def test_every_catalogue_is_compiled_by_the_install() -> None:
    catalogues = sorted(LOCALE_DIR.glob("*/LC_MESSAGES/seocho.po"))
    assert catalogues, "the Korean catalogue ships with the package"
    for po in catalogues:
        mo = po.with_suffix(".mo")
        assert mo.is_file() and mo.stat().st_mtime >= po.stat().st_mtime, f"{mo}: rerun scripts/bootstrap.sh"


def test_bootstrap_keeps_pip_output_in_a_log_and_reinstalls_when_a_catalogue_changes() -> None:
    script = (ROOT / "scripts" / "bootstrap.sh").read_text(encoding="utf-8")
    assert "--quiet" not in script  # pip silent for 20 s: replaced by progress lines
    assert "run_with_progress" in script and "pip-install.log" in script
    assert "LC_MESSAGES/*.po" in script  # the stamp covers the catalogues compiled at install
