"""Under CI=true a skipped test is a failure, unless the skip is on the allow-list below.

A developer's machine may lack Node.js, Go, fabric-ca-server, PostgreSQL, Chromium or Docker, and the
suites that need them skip with the reason. CI installs all of them (`.ci/run` exports CI=true and the
scripts install what is missing), so there a skip can only mean an install went wrong or a check stopped
running: the hooks here turn it into a failure that names the reason. tests/conftest.py imports them, so
they apply to every suite, to skips in fixtures, in tests, from `skipif` marks and at collection.
"""

from __future__ import annotations

import os
from collections.abc import Generator
from dataclasses import dataclass

import pytest


@dataclass(frozen=True)
class AllowedSkip:
    """A skip that is right even in CI: tests under `path` whose skip reason contains `reason`."""

    path: str
    reason: str

    def matches(self, nodeid: str, reason: str) -> bool:
        return nodeid.startswith(self.path) and self.reason in reason


ALLOWED_IN_CI = (
    # The gateway tests run over the double and the real peer; the tests of the double's own fault knobs
    # (dropped streams, injected delays) have no counterpart on a real peer, whose variant skips.
    AllowedSkip("tests/gateway/", "needs the gateway double"),
    # CI runs as root, and root reads every directory whatever its mode: the test of an unreadable ledger
    # cannot be set up, and a read-only one only where the filesystem supports `chattr +i`.
    AllowedSkip("tests/cli/test_cli_defects.py", "root reads every directory"),
    AllowedSkip("tests/cli/test_cli_defects.py", "this filesystem cannot make a directory immutable"),
    # The BFT tests run in scripts/test.sh's Fabric 3.1.5 BFT session; a Raft session's network has none.
    AllowedSkip("tests/network/test_bft.py", "ordered by Raft, not BFT"),
    AllowedSkip("tests/faults/test_bft_faults.py", "ordered by Raft, not BFT"),
)


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def skip_reason(report: pytest.TestReport | pytest.CollectReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


def allowed(nodeid: str, reason: str) -> bool:
    return any(entry.matches(nodeid, reason) for entry in ALLOWED_IN_CI)


def fail_the_skip(report: pytest.TestReport | pytest.CollectReport) -> None:
    if not (in_ci() and report.skipped) or hasattr(report, "wasxfail"):
        return
    reason = skip_reason(report)
    if allowed(report.nodeid, reason):
        return
    report.outcome = "failed"
    report.longrepr = (
        f"CI=true, so this skip is a failure: {reason}\n"
        "(install what it needs, or add a commented entry to ALLOWED_IN_CI in tests/ci_skips.py)"
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None]:
    outcome = yield
    fail_the_skip(outcome.get_result())


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Generator[None]:
    outcome = yield
    fail_the_skip(outcome.get_result())
