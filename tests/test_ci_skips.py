"""The CI hook (tests/ci_skips.py), run on a small suite of its own in a child pytest."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest

TESTS = Path(__file__).parent

SUITE = '''
import pytest

@pytest.fixture
def node():
    pytest.skip("node and npm not found on PATH")

def test_skipped_in_a_test():
    pytest.skip("fabric-ca-server is not built")

def test_skipped_in_a_fixture(node):
    pass

@pytest.mark.skipif(True, reason="the go toolchain is not installed")
def test_skipped_by_a_mark():
    pass

@pytest.mark.xfail(reason="a known defect", strict=True)
def test_expected_to_fail():
    assert False

def test_passes():
    pass
'''
COLLECTION_SKIP = 'import pytest\npytest.skip("no PostgreSQL", allow_module_level=True)\n'


def run_suite(tmp_path: Path, ci: str | None, module: str = SUITE) -> dict[str, str]:
    """Outcome per test of a child pytest run on `module` (read from its JUnit XML report)."""
    suite = tmp_path / "suite"
    suite.mkdir(exist_ok=True)
    (suite / "conftest.py").write_text(
        "from ci_skips import pytest_make_collect_report, pytest_runtest_makereport  # noqa: F401\n"
    )
    (suite / "test_probe.py").write_text(module)
    environment = {key: value for key, value in os.environ.items() if key != "CI"}
    environment["PYTHONPATH"] = str(TESTS)
    if ci is not None:
        environment["CI"] = ci
    report = tmp_path / "report.xml"
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={report}", str(suite)],
        capture_output=True, text=True, env=environment, cwd=suite, timeout=120, check=False,
    )  # fmt: skip
    outcomes: dict[str, str] = {}
    for case in ElementTree.parse(report).iter("testcase"):
        kinds = [child.tag for child in case if child.tag in {"failure", "error", "skipped"}]
        skipped = case.find("skipped")
        if skipped is not None and skipped.get("type") == "pytest.xfail":
            kinds = ["xfail"]
        outcomes[case.get("name") or "?"] = kinds[0] if kinds else "passed"
    return outcomes


def test_without_ci_the_skips_stay_skips(tmp_path: Path) -> None:
    outcomes = run_suite(tmp_path, ci=None)
    assert outcomes == {
        "test_skipped_in_a_test": "skipped",
        "test_skipped_in_a_fixture": "skipped",
        "test_skipped_by_a_mark": "skipped",
        "test_expected_to_fail": "xfail",
        "test_passes": "passed",
    }


@pytest.mark.parametrize("ci", ["true", "TRUE"])
def test_under_ci_every_skip_fails(tmp_path: Path, ci: str) -> None:
    outcomes = run_suite(tmp_path, ci=ci)
    # An expected failure is not a skip, and a passing test is untouched.
    assert outcomes == {
        "test_skipped_in_a_test": "failure",
        "test_skipped_in_a_fixture": "error",
        "test_skipped_by_a_mark": "error",
        "test_expected_to_fail": "xfail",
        "test_passes": "passed",
    }


def test_under_ci_the_failure_names_the_reason(tmp_path: Path) -> None:
    run_suite(tmp_path, ci="true")
    text = (tmp_path / "report.xml").read_text()
    assert "CI=true, so this skip is a failure: fabric-ca-server is not built" in text
    assert "the go toolchain is not installed" in text


def test_under_ci_a_skipped_module_fails_its_collection(tmp_path: Path) -> None:
    assert run_suite(tmp_path, ci=None, module=COLLECTION_SKIP) == {"test_probe": "skipped"}
    assert run_suite(tmp_path, ci="true", module=COLLECTION_SKIP) == {"test_probe": "error"}


def test_the_allow_list_names_a_path_and_a_reason() -> None:
    from ci_skips import allowed

    assert allowed("tests/cli/test_cli_defects.py::test_an_unreadable_ledger", "root reads every directory")
    assert not allowed("tests/cli/test_cli.py::test_x", "root reads every directory")
    assert not allowed("tests/cli/test_cli_defects.py::test_x", "the go toolchain is not installed")
