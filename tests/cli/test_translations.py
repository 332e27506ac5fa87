"""Korean and English: every message has both, with the same placeholders; the language follows the locale."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest
from catalogue import every_message, korean_catalogue
from cli_helpers import run

CLICKS_OWN = "click's own message"
KOREAN_LOCALE = {"LANGUAGE": None, "LC_ALL": None, "LC_MESSAGES": None, "LANG": "ko_KR.UTF-8"}
HANGUL = re.compile(r"[\uac00-\ud7a3]")


def placeholders(text: str) -> list[str]:
    """The named fields of a str.format template, with their conversions and format specs."""
    return sorted(
        f"{name}!{conversion or ''}:{spec or ''}"
        for _literal, name, spec, conversion in string.Formatter().parse(text)
        if name is not None
    )


def test_every_message_in_the_source_has_a_korean_translation_with_the_same_placeholders() -> None:
    catalogue = korean_catalogue()
    messages = every_message()
    assert len(messages) > 200  # the extraction found the CLI's messages and help texts
    missing, mismatched = [], []
    for msgid in messages:
        entry = catalogue.get(msgid)
        if entry is None or not entry.string or entry.fuzzy:
            missing.append(msgid)
        elif placeholders(msgid) != placeholders(str(entry.string)) or not HANGUL.search(str(entry.string)):
            mismatched.append(msgid)
    assert missing == [], "untranslated (python tests/cli/catalogue.py lists them as .po entries)"
    assert mismatched == []


def test_the_catalogue_holds_nothing_the_source_no_longer_says() -> None:
    messages = every_message()
    stale = [
        entry.id
        for entry in korean_catalogue()
        if entry.id and CLICKS_OWN not in entry.auto_comments
        and entry.id not in messages
    ]  # fmt: skip
    assert stale == []


def test_click_messages_keep_their_placeholders() -> None:
    for entry in korean_catalogue():
        if CLICKS_OWN in entry.auto_comments:
            ids = entry.id if isinstance(entry.id, tuple) else (entry.id,)
            fields = set().union(*(set(placeholders(i)) for i in ids))
            strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
            for text in strings:
                assert set(placeholders(str(text))) <= fields and HANGUL.search(str(text)), entry.id


def test_a_korean_locale_speaks_korean_and_lang_en_overrides_it(tmp_path: Path) -> None:
    missing = tmp_path / "nothing"
    code, _, err = run("balance", "M-1", ledger=missing, identity="admin", env=KOREAN_LOCALE)
    assert code == 8 and err.startswith(
        f"오류: {missing}에 원장이 없습니다(seocho identity enroll로 관리자를"
    )
    code, _, err = run("--lang", "en", "balance", "M-1", ledger=missing, identity="admin", env=KOREAN_LOCALE)
    assert code == 8 and err.startswith(f"error: no ledger at {missing}")
    code, _, err = run("--lang", "ko", "balance", "M-1", ledger=missing, identity="admin")
    assert code == 8 and err.startswith("오류: ")


def test_usage_errors_and_help_are_korean_too() -> None:
    code, _, err = run("earn", "M-1", env=KOREAN_LOCALE)
    assert (
        code == 2
        and err.startswith("오류: 인자가 빠졌습니다 'ACTIVITY'. (")
        and err.endswith(" --help 참고)\n")
    )
    code, out, _ = run("--lang", "ko", "earn", "--help")
    assert code == 0 and out.startswith("사용법: ")
    assert "선행을 확인합니다" in out and "이 도움말을 보여 주고 끝냅니다." in out and "Show this" not in out
    code, out, _ = run("--lang", "ko", "--help")
    assert "명령:" in out and "서초구의 2023년 이야기" in out


@pytest.mark.parametrize("language", ["ko", "en"])
def test_the_demo_tells_its_story_and_report_in_the_chosen_language(language: str) -> None:
    code, out, err = run("--lang", language, "demo")
    assert code == 0, err
    story = [line for line in out.splitlines() if re.match(r"(\d{4}-\d\d-\d\d|  ✗) ", line)]
    assert len(story) > 10
    assert all(HANGUL.search(line) for line in story) == (language == "ko")
    assert any(HANGUL.search(line) for line in story) == (language == "ko")
    headings = (
        "서초코인 — 구 전체 보고서 (1코인 = 200원)",
        "활동별",
        "기관별 (코인)",
        "월별 (코인)",
        "유통 잔액",
    )
    assert all(heading in out for heading in headings) == (language == "ko")
    if language == "ko":
        assert "감사 담당이 모든 코인이 빠짐없이 맞는지 확인합니다: 모두 맞습니다" in out
