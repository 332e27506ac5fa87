"""The `seocho` command line: the demo story, coin commands on a kept ledger, one-line errors, exit codes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cli_helpers import client_id, run

MOVEMENTS = ("earned", "spent", "donated", "redeemed", "expired", "outstanding")


def test_demo_json_is_one_consistent_report() -> None:
    code, out, err = run("demo", "--json")
    assert code == 0
    report = json.loads(out)
    assert report["members"] == 7
    assert report["participants"] == 7
    coins, krw = report["coins"], report["krw"]
    assert all(isinstance(coins[k], int) and isinstance(krw[k], int) for k in MOVEMENTS)
    assert coins["outstanding"] == coins["earned"] - coins["redeemed"] - coins["expired"]
    assert coins["earned"] > 0 and coins["spent"] > 0 and coins["donated"] > 0 and coins["redeemed"] > 0
    assert krw["earned"] == coins["earned"] * 200  # every earning happened at 200 KRW per coin
    assert "ordinance" in err  # the story goes to stderr when stdout carries JSON


def test_demo_text_tells_the_story_and_prints_the_report() -> None:
    code, out, _ = run("demo")
    assert code == 0
    assert "cannot earn yet" in out and "counted once" in out
    assert "district report" in out and "outstanding" in out


def test_demo_keeps_its_ledger_when_asked(tmp_path: Path) -> None:
    kept = tmp_path / "kept"
    assert run("demo", "--json", "--keep", str(kept))[0] == 0
    code, out, _ = run("--json", "balance", "S-0005", ledger=kept, identity="district-auditor")
    assert code == 0
    assert json.loads(out)["coins"] > 0
    code, _, err = run("demo", "--keep", str(kept))
    assert code == 1 and "not empty" in err


def test_a_member_earns_and_pays_through_the_cli(ledger: Path) -> None:
    staff_id = client_id(ledger, "staff")
    year = str((datetime.now(UTC) + timedelta(hours=9)).year)  # allowances are per Korean calendar year
    assert (
        run("institution", "allowance", "wc-01", staff_id, year, "100", ledger=ledger, identity="admin")[0]
        == 0
    )
    assert (
        run(
            "member",
            "register",
            "M-1",
            client_id(ledger, "M-1"),
            "--category",
            "senior",
            ledger=ledger,
            identity="registrar",
        )[0]
        == 0
    )
    code, _, err = run(
        "earn",
        "M-1",
        "volunteer_hour",
        "2",
        "--evidence",
        "ab" * 32,
        "--request-id",
        "R1",
        ledger=ledger,
        identity="staff",
    )
    assert code == 0, err
    code, out, _ = run(
        "--json",
        "pay",
        "M-1",
        "wc-01",
        "--price",
        "1000",
        "--coins",
        "5",
        "--service",
        "gym",
        "--request-id",
        "P1",
        ledger=ledger,
        identity="M-1",
    )
    assert code == 0, out
    code, out, _ = run("--json", "balance", "M-1", ledger=ledger, identity="M-1")
    assert json.loads(out)["coins"] == 1
    events = run("events", ledger=ledger)[1].splitlines()
    assert [json.loads(line)["name"] for line in events][-2:] == ["earn", "pay"]


@pytest.mark.parametrize(
    ("args", "who", "exit_code", "message"),
    [
        (
            ("institution", "register", "wc-02", "welfare_centre", "--staff-msp", "PartnersMSP"),
            "M-1",
            4,
            "error: ",
        ),
        (("balance", "NOPE"), "admin", 5, "error: "),
        (("init",), "admin", 6, "error: "),
        (("policy", "show", "99"), "admin", 5, "error: "),
        (
            ("earn", "M-9", "volunteer_hour", "1", "--evidence", "xyz", "--request-id", "R"),
            "staff",
            3,
            "error: ",
        ),
        (("balance", "M-1"), "ghost", 1, "error: no identity named 'ghost'"),
    ],
)
def test_errors_are_one_line_with_exit_codes(
    ledger: Path, args: tuple[str, ...], who: str, exit_code: int, message: str
) -> None:
    code, _out, err = run(*args, ledger=ledger, identity=who)
    assert code == exit_code, err
    assert err.startswith(message) and err.count("\n") == 1
    assert "Traceback" not in err


def test_usage_errors_exit_2(ledger: Path) -> None:
    assert (
        run(
            "earn",
            "M-1",
            "volunteer_hour",
            "three",
            "--evidence",
            "ab" * 32,
            "--request-id",
            "R",
            ledger=ledger,
            identity="staff",
        )[0]
        == 2
    )
    assert run("policy", "set", "[1]", ledger=ledger, identity="admin")[0] == 2
    assert run("balance", "M-1", ledger=ledger)[0] == 2  # no --as


def test_unexpected_failures_print_one_line_without_their_text(
    ledger: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import seocho.cli

    def broken(path: object) -> None:
        raise RuntimeError("state value that must not be printed")

    monkeypatch.setattr(seocho.cli, "open_embedded_ledger", broken)
    code, out, err = run("balance", "M-1", ledger=ledger, identity="admin")
    assert code == 1
    assert err == "error: unexpected RuntimeError; rerun with SEOCHO_DEBUG=1 for details\n"
    assert "state value" not in out + err


def test_a_ledger_path_that_cannot_be_a_directory_is_a_one_line_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    code, _, err = run(
        "identity", "enroll", "admin", "--msp", "SeochoDistrictMSP", "--attr", "seocho.role=admin",
        ledger=blocker / "ledger",
    )  # fmt: skip
    assert code == 8 and err.startswith("error: cannot open the ledger") and err.count("\n") == 1


def test_compact_stats_refuses_a_month_not_begun(ledger: Path) -> None:
    next_year = (datetime.now(UTC) + timedelta(hours=9)).year + 1
    code, _, err = run("compact-stats", f"{next_year}-01", ledger=ledger, identity="admin")
    assert code == 3 and err.startswith("error: ")
    assert run("compact-stats", "2020-01", ledger=ledger, identity="M-1")[0] == 4


def test_institution_reclaim_returns_unused_allowance(ledger: Path) -> None:
    staff_id = client_id(ledger, "staff")
    year = str((datetime.now(UTC) + timedelta(hours=9)).year)
    assert (
        run("institution", "allowance", "wc-01", staff_id, year, "100", ledger=ledger, identity="admin")[0]
        == 0
    )
    code, out, err = run(
        "--json", "institution", "reclaim", "wc-01", staff_id, year, "60", ledger=ledger, identity="staff"
    )
    assert code == 0, err
    result = json.loads(out)
    assert (result["allocated"], result["reclaimed"], result["unallocated"]) == (40, 60, 960)
    code, _, err = run(
        "institution", "reclaim", "wc-01", staff_id, year, "41", ledger=ledger, identity="admin"
    )
    assert code == 6 and err.startswith("error: ")  # more than unused: a conflict


def test_member_reactivate(ledger: Path) -> None:
    alice = client_id(ledger, "M-1")
    assert (
        run("member", "register", "M-1", alice, "--category", "senior", ledger=ledger, identity="registrar")[
            0
        ]
        == 0
    )
    assert run("member", "deactivate", "M-1", ledger=ledger, identity="registrar")[0] == 0
    assert run("member", "reactivate", "M-1", ledger=ledger, identity="admin")[0] == 4  # registrar only
    code, out, err = run("--json", "member", "reactivate", "M-1", ledger=ledger, identity="registrar")
    assert code == 0, err
    assert json.loads(out)["active"] is True
    assert run("--json", "balance", "M-1", ledger=ledger, identity="M-1")[0] == 0


def test_institution_reactivate(ledger: Path) -> None:
    assert run("institution", "deactivate", "wc-01", ledger=ledger, identity="admin")[0] == 0
    code, out, err = run("--json", "institution", "reactivate", "wc-01", ledger=ledger, identity="admin")
    assert code == 0, err
    assert json.loads(out)["active"] is True
    assert (
        run("institution", "reactivate", "wc-01", ledger=ledger, identity="admin")[0] == 6
    )  # already active
