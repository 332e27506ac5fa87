"""The failures a new user met (issue 10): each bad path answers with one line and the README's exit code."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from cli_helpers import STAFF_ATTRS, client_id, enroll, run, run_process


def one_line_error(err: str) -> bool:
    return err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err


# ---- ledgers that are missing or cannot be opened ------------------------------------------------


def test_a_query_on_a_missing_ledger_says_so_and_creates_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "typo" / "ledger"
    code, _, err = run("balance", "M-1", ledger=missing, identity="admin")
    assert code == 8 and one_line_error(err)
    assert f"no ledger at {missing} (seocho init creates one" in err
    assert not missing.exists() and not missing.parent.exists()
    for args in (("identity", "list"), ("identity", "client-id", "admin"), ("events",)):
        code, _, err = run(*args, ledger=missing)
        assert code == 8 and "no ledger at" in err, args
    assert not missing.parent.exists()


def test_seocho_home_at_a_kept_demo_folder_is_no_ledger_not_a_new_one(tmp_path: Path) -> None:
    kept = tmp_path / "kept"
    assert run("demo", "--json", "--keep", str(kept))[0] == 0
    before = sorted(p.name for p in kept.iterdir())
    code, _, err = run("--as", "admin", "balance", "S-0001", env={"SEOCHO_HOME": str(kept)})
    assert code == 8 and f"no ledger at {kept / 'ledger'}" in err
    assert sorted(p.name for p in kept.iterdir()) == before


@contextmanager
def read_only(path: Path) -> Iterator[None]:
    """The directory `path` read-only: by its mode, or for root (who ignores modes) immutable (chattr +i)."""
    if os.geteuid() != 0:
        path.chmod(0o500)
        try:
            yield
        finally:
            path.chmod(0o700)
        return
    if shutil.which("chattr") is None:
        pytest.skip("root ignores file modes and chattr is missing")
    if subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode != 0:
        pytest.skip("this filesystem cannot make a directory immutable")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)


def test_a_read_only_ledger_is_exit_8_with_path_and_reason(ledger: Path) -> None:
    with read_only(ledger):
        code, _, err = run("balance", "M-1", ledger=ledger, identity="admin")
    assert code == 8 and one_line_error(err)
    assert f"cannot open the ledger at {ledger}: " in err
    assert "unexpected" not in err and "OperationalError" not in err


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every directory")
def test_an_unreadable_ledger_is_exit_8_not_a_usage_error(ledger: Path) -> None:
    ledger.chmod(0)
    try:
        code, _, err = run("balance", "M-1", ledger=ledger, identity="admin")
    finally:
        ledger.chmod(0o700)
    assert code == 8 and one_line_error(err) and str(ledger) in err and "Usage" not in err


@pytest.mark.parametrize("damage", ["not a database", "a directory"])
def test_a_damaged_ledger_is_exit_8_with_path_and_reason(ledger: Path, damage: str) -> None:
    database = ledger / "ledger.sqlite"
    for leftover in ledger.glob("ledger.sqlite*"):
        leftover.unlink()
    if damage == "a directory":
        database.mkdir()
    else:
        database.write_bytes(b"this is not SQLite" * 100)
    code, _, err = run("balance", "M-1", ledger=ledger, identity="admin")
    assert code == 8 and one_line_error(err)
    reason = err.split(f"cannot open the ledger at {ledger}: ", 1)[1].strip()
    assert reason and "unexpected" not in reason


# ---- usage errors, negative numbers, broken pipes --------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ("earn", "M-1", "volunteer_hour", "2", "--request-id", "R"),  # missing --evidence
        ("earn", "M-1"),  # missing arguments
        ("balance", "M-1", "--colour"),  # no such option
        ("balanse", "M-1"),  # no such command
        ("balance", "M-1", "--as", "admin"),  # --as after the command
        ("history", "M-1", "--page-size", "0"),
    ],
)
def test_usage_errors_are_one_line_with_exit_2(ledger: Path, args: tuple[str, ...]) -> None:
    code, out, err = run(*args, ledger=ledger, identity="admin")
    assert code == 2 and one_line_error(err), err
    assert "Usage:" not in err and "--help" in err and out == ""


def test_a_missing_identity_is_a_one_line_usage_error(ledger: Path) -> None:
    code, _, err = run("balance", "M-1", ledger=ledger)
    assert code == 2 and one_line_error(err) and "--as NAME" in err


@pytest.mark.parametrize("quantity", ["-3", "0"])
def test_a_quantity_below_one_is_a_bad_request_not_an_unknown_option(ledger: Path, quantity: str) -> None:
    code, _, err = run(
        "earn", "M-1", "volunteer_hour", quantity, "--evidence", "ab" * 32, "--request-id", "R",
        ledger=ledger, identity="staff",
    )  # fmt: skip
    assert code == 3 and one_line_error(err)
    assert f"QUANTITY must be a whole number of at least 1, got {quantity}" in err
    assert "No such option" not in err


def test_negative_coins_in_an_option_are_a_bad_request(ledger: Path) -> None:
    code, _, err = run(
        "pay", "M-1", "wc-01", "--price", "1000", "--coins", "-5", "--service", "gym", "--request-id", "P",
        ledger=ledger, identity="M-1",
    )  # fmt: skip
    assert code == 3 and "coins must be a whole number of at least 1, got -5" in err


def test_a_closed_pipe_ends_the_command_silently(ledger: Path) -> None:
    reader, writer = os.pipe()
    os.close(reader)  # like `| head -1` that has already exited
    try:
        code, err = run_process(
            "--ledger",
            str(ledger),
            "--as",
            "admin",
            "report",
            stdout=writer,
            env={**os.environ, "LANGUAGE": "en"},
        )
    finally:
        os.close(writer)
    assert (code, err) == (0, "")


# ---- refusals with the right code ---------------------------------------------------------------


def test_an_unknown_role_is_refused_at_enrolment_with_the_known_roles(tmp_path: Path) -> None:
    path = tmp_path / "ledger"
    king = ("identity", "enroll", "king", "--msp", "SeochoDistrictMSP", "--attr", "seocho.role=king")
    code, _, err = run(*king, ledger=path)
    assert code == 3 and one_line_error(err)
    assert "admin, registrar, auditor, staff, member" in err and "'king'" in err
    assert not path.exists()  # refused before anything was written


@pytest.mark.parametrize(
    "attrs",
    [
        (),  # no role at all
        ("seocho.role=staff",),  # staff of no institution
        ("seocho.role=member", "seocho.manager=true"),
        ("seocho.role=staff", "seocho.institution=wc-01", "seocho.manager=yes"),
        ("seocho.role=admin", "seocho.instituton=wc-01"),  # a typo
    ],
)
def test_attributes_the_chaincode_would_not_honour_are_refused(
    tmp_path: Path, attrs: tuple[str, ...]
) -> None:
    args = ["identity", "enroll", "X-0001", "--msp", "SeochoDistrictMSP"]
    for attr in attrs:
        args += ["--attr", attr]
    code, _, err = run(*args, ledger=tmp_path / "ledger")
    assert code == 3 and one_line_error(err), err


def test_donating_to_an_institution_that_takes_no_donations_is_a_bad_request(ledger: Path) -> None:
    year = "2026"
    staff_id = client_id(ledger, "staff")
    run("institution", "allowance", "wc-01", staff_id, year, "100", ledger=ledger, identity="admin")
    run("member", "register", "M-1", client_id(ledger, "M-1"), "--category", "senior",
        ledger=ledger, identity="registrar")  # fmt: skip
    code, _, err = run("donate", "M-1", "wc-01", "1", "--request-id", "D1", ledger=ledger, identity="M-1")
    assert code == 3, err


# ---- pseudonymous members --------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["김철수", "alice", "kim-cheolsu", "M-0001-kim"])
def test_a_member_identity_named_like_a_person_is_refused(tmp_path: Path, name: str) -> None:
    member = ("identity", "enroll", name, "--msp", "SeochoDistrictMSP", "--attr", "seocho.role=member")
    code, _, err = run(*member, ledger=tmp_path / "ledger")
    assert code == 3 and one_line_error(err) and "pseudonymous" in err


def test_pseudonymous_member_identities_are_enrolled(tmp_path: Path) -> None:
    for name in ("S-0001", "M-1", "member-R-0002"):
        enroll(tmp_path / "ledger", name, "SeochoDistrictMSP", "seocho.role=member")


def test_a_member_cannot_be_registered_on_a_personally_named_certificate(ledger: Path) -> None:
    enroll(ledger, "김철수", "PartnersMSP", *STAFF_ATTRS)  # staff may carry their names
    code, _, err = run("member", "register", "M-0002", client_id(ledger, "김철수"), "--category", "senior",
                       ledger=ledger, identity="registrar")  # fmt: skip
    assert code == 3 and one_line_error(err) and "'김철수'" in err
    code, _, err = run("member", "register", "kim", client_id(ledger, "M-1"), "--category", "senior",
                       ledger=ledger, identity="registrar")  # fmt: skip
    assert code == 3 and "member id 'kim' is not pseudonymous" in err
    code, _, err = run("member", "register", "M-1", client_id(ledger, "M-1"), "--category", "senior",
                       ledger=ledger, identity="registrar")  # fmt: skip
    assert code == 0, err
    code, _, err = run(
        "member", "rebind", "M-1", client_id(ledger, "김철수"), ledger=ledger, identity="registrar"
    )
    assert code == 3 and "'김철수'" in err


@pytest.mark.parametrize(
    ("name", "role", "says"),
    [("김철수", "member", "pseudonymous"), ("S-0042", "king", "admin, registrar, auditor, staff, member")],
)
def test_the_fabric_ca_registration_checks_coin_identities_before_asking_the_ca(
    tmp_path: Path, name: str, role: str, says: str
) -> None:
    code, _, err = run(
        "ca", "register", name, "--url", "https://127.0.0.1:1", "--tls-root", str(tmp_path / "none.pem"),
        "--registrar-msp-dir", str(tmp_path / "none"), "--attr", f"seocho.role={role}",
    )  # fmt: skip
    assert code == 3 and one_line_error(err) and says in err  # refused before reading files or dialling


def test_a_group_without_a_command_shows_its_help_not_a_one_line_error() -> None:
    for args in ((), ("ca",), ("identity",)):
        code, _, err = run(*args)
        assert code == 2 and err.startswith("Usage: ") and "Commands:" in err and err.count("\n") > 5, args


def test_the_errors_docstring_lists_every_exit_code() -> None:
    import re as regex

    import seocho.errors as errors

    def subclasses(cls: type) -> list[type]:
        return [cls, *(s for sub in cls.__subclasses__() for s in subclasses(sub))]

    codes = {cls.exit_code for cls in subclasses(errors.SeochoError)}
    listed = {int(n) for n in regex.findall(r"(\d) [a-z]", errors.__doc__ or "")}
    assert codes <= listed, f"exit codes not described in seocho/errors.py: {sorted(codes - listed)}"
