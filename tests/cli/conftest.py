"""Fixtures of the CLI tests: a small ledger to work on (English is the root conftest's)."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import STAFF_ATTRS, enroll, run


@pytest.fixture
def ledger(tmp_path: Path) -> Path:
    """A ledger with an admin, a registrar, staff of wc-01 (volunteering, services) and member M-1."""
    path = tmp_path / "ledger"
    enroll(path, "admin", "SeochoDistrictMSP", "seocho.role=admin")
    enroll(path, "registrar", "SeochoDistrictMSP", "seocho.role=registrar")
    enroll(path, "staff", "PartnersMSP", *STAFF_ATTRS)
    enroll(path, "M-1", "SeochoDistrictMSP", "seocho.role=member")
    assert run("init", ledger=path, identity="admin")[0] == 0
    code, _, err = run(
        "institution", "register", "wc-01", "welfare_centre", "--activity", "volunteer_hour",
        "--sells-services", "--quota", "1000", "--staff-msp", "PartnersMSP", ledger=path, identity="admin",
    )  # fmt: skip
    assert code == 0, err
    return path
