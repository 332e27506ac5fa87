"""Several processes committing to one ledger directory (two `seocho` commands at once, say)."""

from __future__ import annotations

import itertools
import subprocess
import sys
import textwrap
from pathlib import Path

from embedded_ledger import EmbeddedLedger
from kv_test_chaincode import CHAINCODE, KeyValueChaincode

WRITER = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, sys.argv[3])
    from embedded_ledger import CommitError, EmbeddedLedger
    from kv_test_chaincode import CHAINCODE, KeyValueChaincode

    directory, rounds = sys.argv[1], int(sys.argv[2])
    with EmbeddedLedger.open(directory) as ledger:
        ledger.install(CHAINCODE, KeyValueChaincode())
        me = ledger.identities.get("writer")
        conflicts = 0
        for _ in range(rounds):
            while True:  # a read-modify-write of a shared key: resubmit on MVCC conflicts, as clients do
                try:
                    ledger.submit(me, CHAINCODE, "increment", ["counter"])
                    break
                except CommitError:
                    conflicts += 1
        print(conflicts)
    """
)


def test_processes_sharing_a_directory_lose_no_update_and_keep_one_chain(tmp_path: Path) -> None:
    directory = tmp_path / "ledger"
    with EmbeddedLedger.open(directory) as ledger:
        ledger.identities.enroll("writer", "Org1MSP")
    here = str(Path(__file__).parent)
    rounds, writers = 25, 3
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(directory), str(rounds), here],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(writers)
    ]
    for process in processes:
        _out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
    with EmbeddedLedger.open(directory) as ledger:
        ledger.install(CHAINCODE, KeyValueChaincode())
        me = ledger.identities.get("writer")
        assert ledger.evaluate(me, CHAINCODE, "get", ["counter"]).payload == str(rounds * writers).encode()
        blocks = [ledger.get_block(n) for n in range(ledger.height)]
    for previous, block in itertools.pairwise(blocks):
        assert block.previous_hash == previous.hash
    valid = sum(1 for block in blocks for tx in block.transactions if tx.is_valid)
    assert valid == rounds * writers
