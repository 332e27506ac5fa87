# ruff: noqa: F811  (the fixtures imported below are redefined as test parameters, as pytest wants)
"""`seocho index`: the reporting store fed by block events through the Gateway client (the double here).

The double serves the embedded ledger's blocks as a peer's Deliver service does, with each
transaction's submitted envelope, so the indexer reads the same blocks it reads from a real peer.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import fabric_gateway as fg
import psycopg
import pytest
from background import Background
from embedded_ledger import EmbeddedLedger
from gateway_double import RunningGateway, serve
from polling import wait_for
from postgres_server import postgres_server
from seocho.backend import GatewayBackend, connect_gateway
from seocho.coin import Coin
from seocho.index_report import store_report
from seocho.index_store import Movement, Store, open_store
from seocho.indexer import run_index
from seocho.profile import load_profile
from test_seocho_cli_over_gateway import client_id, coin_peer, profile, seocho  # noqa: F401  (fixtures)
from tls_pki import TlsMaterial

EVIDENCE = "cd" * 32


@pytest.fixture(scope="module")
def postgres() -> Iterator[str]:
    with postgres_server() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A new, empty store of each kind."""
    if request.param == "sqlite":
        return str(tmp_path / "index.sqlite")
    url: str = request.getfixturevalue("postgres")
    name = f"index_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name}")
    return url.rsplit("/", 1)[0] + "/" + name


def build(profile: Path, ledger: EmbeddedLedger, earnings: int = 2) -> None:
    year = str((datetime.now(UTC) + timedelta(hours=9)).year)
    steps = [
        ("admin", "init"),
        ("admin", "institution", "register", "wc-01", "welfare_centre", "--activity", "volunteer_hour",
         "--sells-services", "--quota", "1000", "--staff-msp", "PartnersMSP"),
        ("admin", "institution", "allowance", "wc-01", client_id(ledger, "staff"), year, "500"),
        ("registrar", "member", "register", "M-1", client_id(ledger, "M-1"), "--category", "senior"),
        ("registrar", "member", "register", "M-2", "QUJD", "--category", "resident"),
    ]  # fmt: skip
    steps += [
        ("staff", "earn", "M-1", "volunteer_hour", "1", "--evidence", EVIDENCE, "--request-id", f"VOL-{n}")
        for n in range(earnings)
    ]
    steps.append(("M-1", "pay", "M-1", "wc-01", "--price", "2000", "--coins", "2", "--service", "gym",
                  "--request-id", "PAY-1"))  # fmt: skip
    for who, *args in steps:
        code, _, err = seocho(profile, who, *args)
        assert code == 0, (args, err)


def index(profile: Path, db: Path | str, *args: str) -> dict[str, object]:
    code, out, err = seocho(profile, "admin", "index", "--db", str(db), "--idle", "0.5", *args)
    assert code == 0, err
    return dict(json.loads(out))


def test_index_report_and_reconcile(
    profile: Path, coin_peer: tuple[RunningGateway, EmbeddedLedger], db: str
) -> None:
    _, ledger = coin_peer
    build(profile, ledger)
    first = index(profile, db)
    assert first["next_block"] == ledger.height and first["movements"] == 3
    code, out, err = seocho(profile, "admin", "index", "--db", db, "report")
    assert code == 0, err
    report = json.loads(out)
    assert (report["members"], report["participants"], report["by_category"]) == (
        2,
        1,
        {"resident": 1, "senior": 1},
    )
    assert report["coins"]["earned"] == 6 and report["coins"]["spent"] == 2
    assert report["coins_by_category"]["senior"]["earn"] == 6
    # How long the report took is reported (speed itself is benchmarks.scale's business).
    assert isinstance(report["seconds"], float) and report["seconds"] >= 0
    code, out, err = seocho(profile, "admin", "index", "--db", str(db), "reconcile", "--idle", "0.5")
    assert code == 0 and json.loads(out)["ok"], (out, err)
    # Nothing new: a second run reads no block twice.
    assert index(profile, db)["movements"] == 0
    # A rebuild from block 0 gives the same store.
    assert index(profile, db, "--rebuild")["movements"] == 3
    with open_store(db) as store:
        assert store_report(store)["coins"] == report["coins"]


def test_reconcile_says_where_the_store_differs(
    profile: Path, coin_peer: tuple[RunningGateway, EmbeddedLedger], tmp_path: Path
) -> None:
    _, ledger = coin_peer
    build(profile, ledger)
    db = tmp_path / "index.sqlite"
    index(profile, db)
    with open_store(db) as store:  # an analyst's stray edit
        store._sql("UPDATE totals SET coins = coins + 1 WHERE kind = 'earn'")
        store._db.commit()
    code, out, _ = seocho(
        profile, "admin", "--lang", "en", "index", "--db", str(db), "reconcile", "--idle", "0.3"
    )
    result = json.loads(out)
    assert code == 1 and not result["ok"]
    figures = {d["figure"] for d in result["differences"]}
    assert {"coins.earned", "audit.outstanding"} <= figures


def test_a_crash_mid_block_neither_skips_nor_doubles(
    profile: Path,
    coin_peer: tuple[RunningGateway, EmbeddedLedger],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, ledger = coin_peer
    build(profile, ledger, earnings=3)
    db = tmp_path / "index.sqlite"
    original = Store._movement
    calls = {"n": 0}

    def crash_on_the_third(self: Store, block: int, movement: object) -> None:
        calls["n"] += 1
        original(self, block, movement)  # type: ignore[arg-type]
        if calls["n"] == 3:
            raise KeyboardInterrupt  # the process dies after writing the block's rows, before its checkpoint

    monkeypatch.setattr(Store, "_movement", crash_on_the_third)
    code, _, _ = seocho(profile, "admin", "index", "--db", str(db), "--idle", "0.5")
    assert code != 0
    monkeypatch.setattr(Store, "_movement", original)
    with open_store(db) as store:
        partial = store_report(store)
    assert partial["coins"]["earned"] == 6  # two earnings applied; the third block's rows rolled back
    index(profile, db)
    with open_store(db) as store:
        report = store_report(store)
        [(rows,)] = store.rows("SELECT COUNT(*) FROM movements")
    assert report["coins"]["earned"] == 9 and rows == 4 and report["next_block"] == ledger.height


def test_following_survives_a_peer_restart(
    profile: Path, coin_peer: tuple[RunningGateway, EmbeddedLedger], tmp_path: Path, tls: TlsMaterial
) -> None:
    running, ledger = coin_peer
    build(profile, ledger)
    stop = threading.Event()
    ca = tmp_path / "tls-ca.pem"
    ms = fg.load_msp_directory("SeochoDistrictMSP", tmp_path / "users" / "admin" / "msp")
    gateway = fg.connect(running.target, ms[0], ms[1], tls_root_certs=str(ca))

    def follow() -> int:  # SQLite connections belong to their thread: the follower opens its own
        with open_store(tmp_path / "index.sqlite") as store:
            stats, _ = run_index(
                gateway.get_network(ledger.channel_id), store, "seocho", idle_seconds=None, stop=stop
            )
        return stats.reconnects

    follower = Background(follow, name="follower")
    try:
        wait_for(lambda: store_next_block(tmp_path) == ledger.height, "the index at the ledger's height", 30)
        port = int(running.target.rsplit(":", 1)[1])
        running.stop()  # the peer goes away mid-stream (its stop ends the follower's stream)
        restarted = serve(ledger, tls, port=port)
        try:
            earn = ("earn", "M-1", "volunteer_hour", "1", "--evidence", EVIDENCE, "--request-id", "VOL-AFTER")
            code, _, err = seocho(profile, "staff", *earn)
            assert code == 0, err
            wait_for(
                lambda: store_next_block(tmp_path) == ledger.height, "the index at the ledger's height", 30
            )
        finally:
            stop.set()
            restarted.stop()
        reconnects = follower.join(timeout=30)
    finally:
        stop.set()
        gateway.close()
    assert reconnects >= 1
    with open_store(tmp_path / "index.sqlite") as check:
        assert store_report(check)["coins"]["earned"] == 9


def store_next_block(tmp_path: Path) -> int:
    # A reader, as an analyst's report is: read-only beside the follower that writes.
    with open_store(tmp_path / "index.sqlite", read_only=True) as store:
        return store.next_block()


def test_bad_uses_are_one_line_errors_that_change_nothing(profile: Path, tmp_path: Path) -> None:
    code, _, err = seocho(profile, "admin", "index", "--db", "/etc/passwd/index.sqlite", "report")
    assert code == 8 and err.startswith("error: ") and err.count("\n") == 1
    code, _, err = seocho(profile, "admin", "index", "--db", "postgresql://nobody@127.0.0.1:1/none", "report")
    assert code == 8 and "password" not in err and err.count("\n") == 1
    from click.testing import CliRunner
    from seocho.cli import cli

    result = CliRunner().invoke(cli, ["--as", "admin", "index", "--db", str(tmp_path / "i.sqlite")])
    assert result.exit_code == 2 and "--profile" in result.stderr
    assert not (tmp_path / "i.sqlite").exists() or store_next_block_of(tmp_path / "i.sqlite") == 0


def store_next_block_of(path: Path) -> int:
    with open_store(path) as store:
        return store.next_block()


def test_reports_never_fail_while_the_index_follows(
    profile: Path, coin_peer: tuple[RunningGateway, EmbeddedLedger], db: str, tmp_path: Path
) -> None:
    """An analyst's `seocho index report`, in a loop, while `seocho index --follow` (another process) writes
    each block as it arrives: every report answers, and the coins it counts only grow."""
    _, ledger = coin_peer
    build(profile, ledger)  # 6 coins earned, 2 spent
    follower = subprocess.Popen(
        [str(Path(sys.executable).parent / "seocho"), "--profile", str(profile), "--as", "admin",
         "index", "--db", db, "--follow"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip

    def movements() -> int:
        with (
            connect_gateway(load_profile(profile), "staff") as gateway,
            connect_gateway(load_profile(profile), "M-1") as member,
        ):
            staff = Coin(GatewayBackend(gateway.get_network(ledger.channel_id).get_contract("seocho")))
            payer = Coin(GatewayBackend(member.get_network(ledger.channel_id).get_contract("seocho")))
            for n in range(6):  # the daily cap is 8 hours; build() used 2
                staff.earn("M-1", "volunteer_hour", 1, EVIDENCE, f"VOL-LOOP-{n}")
                payer.pay("M-1", "wc-01", 200, 1, "gym", f"PAY-LOOP-{n}")
        return 6 * 3

    try:
        writer = Background(movements, name="writer")
        reports, earned_seen = 0, []
        while True:
            finished = writer.done
            code, out, err = seocho(profile, "admin", "index", "--db", db, "report")
            assert code == 0, err
            earned_seen.append(json.loads(out)["coins"]["earned"])
            reports += 1
            if finished and earned_seen[-1] == 6 + writer.join():
                break
            assert follower.poll() is None, follower.stderr.read()  # type: ignore[union-attr]
    finally:
        follower.terminate()
        follower.wait(timeout=30)
    assert earned_seen == sorted(earned_seen) and reports > 1
    assert "locked" not in (follower.stderr.read() if follower.stderr else "")


def test_a_read_only_reader_sees_whole_blocks_while_the_writer_commits(db: str) -> None:
    """Store level: a writer applying blocks of two movements each, a read-only reader in a loop. Every read
    succeeds, sees a whole number of blocks (never half a block), and never goes backwards."""
    blocks = 150

    def movement(block: int, n: int) -> Movement:
        return Movement(f"tx-{block}-{n}", "earn", 3, 600, "2026-12-07T00:00:00Z", "2026-12", "M-1",
                        "wc-01", "volunteer_hour", 1)  # fmt: skip

    def write() -> int:
        with open_store(db) as store:
            for block in range(blocks):
                store.apply_block(block, [movement(block, 0), movement(block, 1)], [])
            return store.next_block()

    with open_store(db):
        pass  # the writer's schema, so the reader below opens an existing store
    writer = Background(write, name="writer")
    seen: list[tuple[int, int]] = []
    with open_store(db, read_only=True) as reader:
        while not writer.done or not seen or seen[-1][0] < blocks:
            report = store_report(reader)
            seen.append((report["next_block"], report["coins"]["earned"]))
        with pytest.raises((sqlite3.Error, psycopg.Error)):
            reader.apply_block(blocks, [movement(blocks, 0)], [])
    assert writer.join() == blocks
    assert all(earned == 6 * next_block for next_block, earned in seen)  # whole blocks only
    assert seen == sorted(seen) and seen[-1] == (blocks, 6 * blocks)
