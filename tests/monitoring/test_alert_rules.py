"""The alerting rules (network/monitoring/alerts.yml) are checked by Prometheus' own promtool: the file
loads, every rule's cases in alerts_test.yml pass, and every rule has a case that fails when the rule
stops firing (so no rule is held only by cases in which nothing was expected)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

MONITORING = Path(__file__).resolve().parents[2] / "network" / "monitoring"
RULES = MONITORING / "alerts.yml"
CASES = MONITORING / "alerts_test.yml"


@pytest.fixture(scope="module")
def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        pytest.skip("promtool is not installed (Debian's prometheus package: scripts/install-test-deps.sh)")
    return found


def _run(promtool: str, *args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [promtool, *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )


def _rule_names() -> list[str]:
    document = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    return [rule["alert"] for group in document["groups"] for rule in group["rules"]]


def test_the_rule_file_loads(promtool: str) -> None:
    checked = _run(promtool, "check", "rules", RULES, cwd=MONITORING)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"{len(_rule_names())} rules found" in checked.stdout


def test_every_case_passes(promtool: str) -> None:
    tested = _run(promtool, "test", "rules", CASES, cwd=MONITORING)
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_every_rule_has_a_case_where_it_fires() -> None:
    cases = yaml.safe_load(CASES.read_text(encoding="utf-8"))
    firing = {
        check["alertname"]
        for case in cases["tests"]
        for check in case.get("alert_rule_test", [])
        if check.get("exp_alerts")
    }
    assert set(_rule_names()) <= firing, f"rules with no firing case: {set(_rule_names()) - firing}"


@pytest.mark.parametrize("alert", _rule_names())
def test_a_rule_that_never_fires_fails_its_cases(promtool: str, alert: str, tmp_path: Path) -> None:
    document = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    for group in document["groups"]:
        for rule in group["rules"]:
            if rule["alert"] == alert:
                rule["expr"] = "vector(1) < 0"
    (tmp_path / RULES.name).write_text(yaml.safe_dump(document), encoding="utf-8")
    shutil.copy(CASES, tmp_path / CASES.name)
    tested = _run(promtool, "test", "rules", CASES.name, cwd=tmp_path)
    assert tested.returncode != 0
    assert f"alertname: {alert}," in tested.stdout + tested.stderr
