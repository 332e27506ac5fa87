"""What people read: a short `init`, tables for `report` and `history`, help that names real commands."""

from __future__ import annotations

import json
import re
from pathlib import Path

import click
import pytest
from cli_helpers import enroll, run
from hypothesis import given
from hypothesis import strategies as st
from seocho.cli import cli


@pytest.fixture(scope="module")
def demo_ledger(tmp_path_factory: pytest.TempPathFactory) -> Path:
    kept = tmp_path_factory.mktemp("demo") / "ledger"
    assert run("--lang", "en", "demo", "--json", "--keep", str(kept))[0] == 0
    return kept


def test_init_prints_a_short_summary_and_json_only_when_asked(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger"
    enroll(ledger, "admin", "SeochoDistrictMSP", "seocho.role=admin")
    code, out, err = run("init", ledger=ledger, identity="admin")
    assert code == 0, err
    assert len(out) < 400 and len(out.splitlines()) <= 5 and "{" not in out
    assert "1 coin = 200 KRW" in out and "3 coins an hour" in out and "senior" in out
    other = tmp_path / "other"
    enroll(other, "admin", "SeochoDistrictMSP", "seocho.role=admin")
    code, out, _ = run("--json", "init", ledger=other, identity="admin")
    assert code == 0 and json.loads(out)["policy"]["coin_value_krw"] == 200


def test_report_is_a_readable_table(demo_ledger: Path) -> None:
    code, out, err = run("report", ledger=demo_ledger, identity="district-auditor")
    assert code == 0, err
    assert "{" not in out and '"' not in out
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines() if line.strip()}
    report = json.loads(run("--json", "report", ledger=demo_ledger, identity="district-auditor")[1])
    assert rows["earned"] == [f"{report['coins']['earned']:,}", f"{report['krw']['earned']:,}"]
    assert rows["volunteer_hour"][1] == str(report["by_activity"]["volunteer_hour"]["coins"])
    assert "By institution (coins)" in out and "By month (coins)" in out
    for month, counts in report["by_month"].items():
        assert rows[month][0] == str(counts["earn"])


def test_history_is_a_table_with_a_usable_next_page(demo_ledger: Path) -> None:
    code, out, err = run(
        "history", "S-0001", "--page-size", "2", ledger=demo_ledger, identity="district-auditor"
    )
    assert code == 0, err
    assert "{" not in out and "time (KST)" in out.splitlines()[0]
    first_rows = [line for line in out.splitlines()[1:] if re.match(r"\s+\d{4}-\d\d-\d\d \d\d:\d\d", line)]
    assert len(first_rows) == 2 and "volunteer_hour" in first_rows[0]
    token = re.search(r"--bookmark (\S+)", out)
    assert token is not None
    code, out, _ = run("history", "S-0001", "--page-size", "2", "--bookmark", token.group(1),
                       ledger=demo_ledger, identity="district-auditor")  # fmt: skip
    assert code == 0 and "volunteer_hour" not in out.splitlines()[1]  # the next page, not the first again
    everything = json.loads(
        run(
            "--json",
            "history",
            "S-0001",
            "--page-size",
            "100",
            ledger=demo_ledger,
            identity="district-auditor",
        )[1]
    )
    assert everything["movements"][2]["activity"] in out


def _commands(group: click.Group, path: tuple[str, ...] = ()) -> dict[tuple[str, ...], click.Command]:
    found: dict[tuple[str, ...], click.Command] = {path: group}
    for name, command in group.commands.items():
        found[(*path, name)] = command
        if isinstance(command, click.Group):
            found.update(_commands(command, (*path, name)))
    return found


def test_every_command_a_help_text_names_exists() -> None:
    commands = _commands(cli)
    named = set()
    for command in commands.values():
        texts = [command.help or ""] + [getattr(p, "help", None) or "" for p in command.params]
        for text in texts:
            for mention in re.findall(r"`(?:seocho )?([a-z][a-z -]*?)`", text):
                named.add(tuple(mention.split()))
    assert named, "the help texts name commands in backquotes"
    assert {words for words in named if words not in commands} == set()


def test_client_id_help_names_the_commands_that_use_it() -> None:
    code, out, _ = run("identity", "client-id", "--help")
    assert code == 0 and "register-member" not in out
    assert "member register" in out and "institution allowance" in out


# ---- tables with Korean text: padded by display width (Hangul takes two terminal columns) ----------


def test_display_width_counts_hangul_as_two_columns() -> None:
    from seocho.cli_output import display_width

    assert display_width("기관") == 4 and display_width("coins") == 5 and display_width("적립 3") == 6
    assert display_width("ｃｏｉｎ") == 8  # fullwidth Latin
    assert display_width("e\u0301") == 1  # a combining accent takes no column


def _column_ends(line: str) -> list[int]:
    """The display column where each run of text (cells are two spaces apart) ends."""
    from seocho.cli_output import display_width

    ends, column = [], 0
    for index, char in enumerate(line):
        column += display_width(char)
        if char != " " and line[index + 1 : index + 2] in (" ", ""):
            ends.append(column)
    return ends


_WORD = st.text(alphabet="가나다서초코인복지관abcXYZ", min_size=1, max_size=6)


@given(
    headings=st.lists(_WORD, min_size=2, max_size=4),
    counts=st.lists(st.lists(st.integers(0, 10**9), min_size=4, max_size=4), min_size=1, max_size=5),
    names=st.lists(_WORD, min_size=5, max_size=5),
)
def test_table_columns_line_up_on_a_terminal(
    headings: list[str], counts: list[list[int]], names: list[str]
) -> None:
    """A first column of names (Korean or not), numbers right-aligned under their headings: on a terminal
    every number ends at the same column as its heading."""
    from seocho.cli_output import table

    rows = [[names[n], *row[: len(headings) - 1]] for n, row in enumerate(counts)]
    lines = table(headings, rows)
    heading_ends = _column_ends(lines[0])
    for line in lines[1:]:
        assert _column_ends(line)[1:] == heading_ends[1:], "\n".join(lines)
