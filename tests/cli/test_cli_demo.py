"""`seocho demo` tells its story on its own dates (2023 unless --date says otherwise), in plain words."""

from __future__ import annotations

import json
import re
from typing import Any

from cli_helpers import run

JARGON = ("supply invariant", "policy version", "transaction", "invariant", "tx_id")


def demo_report(*args: str) -> tuple[dict[str, Any], str]:
    code, out, err = run("demo", "--json", *args)
    assert code == 0, err
    return json.loads(out), err


def test_the_story_happens_in_2023_with_every_line_dated() -> None:
    report, story = demo_report()
    assert sorted(report["by_month"]) == ["2023-03", "2023-06"]
    dated = [line for line in story.splitlines() if not line.startswith("  ✗")]
    assert dated and all(re.match(r"2023-0[36]-\d\d  \S", line) for line in dated), dated
    assert dated[0].startswith("2023-03-06") and "ordinance" in story


def test_date_moves_the_story_and_nothing_but_its_months() -> None:
    default, _ = demo_report()
    moved, story = demo_report("--date", "2023-12-29")
    assert story.startswith("2023-12-29")
    assert sorted(moved["by_month"]) == ["2023-12", "2024-01", "2024-03", "2024-04"]
    for key in set(default) - {"by_month", "members_by_month"}:
        assert moved[key] == default[key], key
    assert sorted(moved["members_by_month"]) == ["2023-12", "2024-03"]


def test_a_date_before_the_2023_rules_is_refused() -> None:
    code, out, err = run("demo", "--date", "2022-12-31")
    assert code == 2 and "2023-01-01" in err and out == ""


def test_the_story_speaks_plainly() -> None:
    code, out, _ = run("demo")
    assert code == 0
    assert "every coin is accounted for: yes" in out
    for word in JARGON:
        assert word not in out.lower(), word
