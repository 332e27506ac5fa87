"""Helpers of the CLI tests: the CLI in-process and as a real process, enrolling, client ids."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner
from seocho.cli import cli

SEOCHO = Path(sys.executable).with_name("seocho")  # the installed console script


def run(
    *args: str,
    ledger: Path | None = None,
    identity: str | None = None,
    env: dict[str, str | None] | None = None,
) -> tuple[int, str, str]:
    prefix = [] if ledger is None else ["--ledger", str(ledger)]
    if identity:
        prefix += ["--as", identity]
    result = CliRunner().invoke(cli, [*prefix, *args], catch_exceptions=False, env=env)
    return result.exit_code, result.stdout, result.stderr


def run_process(*args: str, stdout: int | None = None, env: dict[str, str] | None = None) -> tuple[int, str]:
    """`seocho ARGS` as its own process; returns the exit code and stderr."""
    done = subprocess.run(
        [str(SEOCHO), *args], stdout=stdout, stderr=subprocess.PIPE, env=env, timeout=60, check=False
    )
    return done.returncode, done.stderr.decode()


STAFF_ATTRS = ["seocho.role=staff", "seocho.institution=wc-01", "seocho.manager=true"]


def enroll(ledger: Path, name: str, msp: str, *attrs: str) -> None:
    args = ["identity", "enroll", name, "--msp", msp]
    for attr in attrs:
        args += ["--attr", attr]
    code, _, err = run(*args, ledger=ledger)
    assert code == 0, err


def client_id(ledger: Path, name: str) -> str:
    code, out, _ = run("identity", "client-id", name, ledger=ledger)
    assert code == 0
    return out.strip()
