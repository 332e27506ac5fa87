"""The embedded ledger under SIGKILL: a process killed in the middle of its commits leaves a ledger that
opens, passes the coin's supply audit, and holds every block it reported committed.

The child reports a block only after `submit` returned, i.e. after SQLite's commit; the one block being
written when the kill lands may or may not be durable, never half of it. So the reopened ledger holds the
reported blocks and at most one more, and every block it holds is whole.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from seocho.backend import EmbeddedBackend, open_embedded_ledger
from seocho.coin import Coin

CHILD = textwrap.dedent(
    """
    import hashlib, sys
    from seocho.backend import EmbeddedBackend, open_embedded_ledger
    from seocho.coin import Coin

    path = sys.argv[1]
    with open_embedded_ledger(path) as ledger:
        ids = ledger.identities
        district = "SeochoDistrictMSP"
        admin = Coin(EmbeddedBackend(ledger, ids.enroll("admin", district, {"seocho.role": "admin"})))
        registrar_identity = ids.enroll("registrar", district, {"seocho.role": "registrar"})
        registrar = Coin(EmbeddedBackend(ledger, registrar_identity))
        staff_attributes = {"seocho.role": "staff", "seocho.institution": "cc-01", "seocho.manager": "true"}
        staff_identity = ids.enroll("staff", "PartnersMSP", staff_attributes)
        staff = Coin(EmbeddedBackend(ledger, staff_identity))
        member_identity = ids.enroll("M-0001", "SeochoDistrictMSP", {"seocho.role": "member"})
        member = Coin(EmbeddedBackend(ledger, member_identity))
        from seocho.cast import client_id_of
        admin.init_ledger("SeochoDistrictMSP")
        admin.register_institution("cc-01", "community_centre", ["course_session"], sells_services=True,
                                   takes_donations=False, annual_quota=100000, staff_msp="PartnersMSP")
        import datetime
        this_year = str((datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=9)).year)
        admin.allocate_allowance("cc-01", client_id_of(staff_identity.serialized()), this_year, 100000)
        registrar.register_member("M-0001", ["senior"], client_id_of(member_identity.serialized()))
        print("ready", ledger.height, flush=True)
        n = 0
        while True:
            n += 1
            evidence = hashlib.sha256(f"sheet {n}".encode()).hexdigest()
            staff.earn("M-0001", "course_session", 1, evidence, f"E-{n}")
            print("committed", ledger.height - 1, flush=True)
            if n % 3 == 0:
                member.pay("M-0001", "cc-01", 1000, 1, "course", f"P-{n}")
                print("committed", ledger.height - 1, flush=True)
    """
)


@pytest.mark.parametrize("round_", range(3))
def test_a_ledger_killed_mid_commits_opens_whole_and_audits_ok(tmp_path: Path, round_: int) -> None:
    path = tmp_path / "ledger"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    reported = -1
    try:
        first = child.stdout.readline()
        assert first.startswith("ready"), first + (child.stderr.read() if child.stderr else "")
        # Let it commit for a while, then kill it at a moment it does not choose.
        deadline = time.monotonic() + 1.0 + random.Random(round_).random() * 2
        while time.monotonic() < deadline:
            line = child.stdout.readline()
            if line.startswith("committed"):
                reported = int(line.split()[1])
        os.kill(child.pid, signal.SIGKILL)
        # Lines already written before the kill still count as reported.
        for line in child.stdout:
            if line.startswith("committed"):
                reported = int(line.split()[1])
    finally:
        child.kill()
        child.wait()
    assert reported > 5, "the child committed too little before the kill to test anything"

    with open_embedded_ledger(path) as ledger:
        last = ledger.height - 1
        assert reported <= last <= reported + 1
        for number in range(1, ledger.height):
            block = ledger.get_block(number)
            assert block.transactions, f"block {number} is empty"
            assert all(ledger.transaction_status(tx.tx_id) is not None for tx in block.transactions)
        auditor = ledger.identities.enroll("auditor", "SeochoDistrictMSP", {"seocho.role": "auditor"})
        coin = Coin(EmbeddedBackend(ledger, auditor))
        assert coin.audit_supply()["ok"] is True
        # The ledger still takes commits after the crash.
        admin = Coin(EmbeddedBackend(ledger, ledger.identities.get("admin")))
        admin.get_policy(0)
