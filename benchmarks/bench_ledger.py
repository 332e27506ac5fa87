"""The embedded ledger: block size, the coin's transactions, and how the district report scales.

Baseline: a trivial chaincode writing one fresh key, submitted one transaction per block (endorse,
validate, write the block durably — SQLite `synchronous=FULL`, so one fsync per block). Ratios
(candidate tx/s / baseline tx/s, measured in interleaved rounds on the same ledger):

- `put_block50_vs_block1`: the same transactions endorsed 50 at a time and committed as one block.
- `earn_vs_put`, `pay_vs_put`: Seocho Coin `earn` / `pay`, one per block, through the real contract
  routing, identity parsing and rules.
- `earn_block50_vs_put`: `earn` in blocks of 50 (one per staff/member lane, so none conflict).
- `report_5k_vs_1k`: time of one `get_report` over 5,000 movements / over 1,000 (5 = linear).
"""

from __future__ import annotations

import functools
import itertools
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from embedded_ledger import EmbeddedLedger
from fabric_shim.chaincode import Response, error, success
from fabric_shim.stub import ChaincodeStub

from benchmarks.coin_world import CoinWorld
from benchmarks.timing import Rate, Ratio, Report, Sample, interleaved, paired_ratios

BLOCK_SIZE = 50
LANES = BLOCK_SIZE  # one staff/member pair per transaction of a full block
PUT_CHAINCODE = "bench-put"
REPORT_SIZES = (1_000, 5_000)


class PutOneKeyChaincode:
    """`put <key> <value>`: the least a transaction can do — one blind write."""

    def init(self, stub: ChaincodeStub) -> Response:
        return success()

    def invoke(self, stub: ChaincodeStub) -> Response:
        function, params = stub.get_function_and_parameters()
        if function != "put" or len(params) != 2:
            return error("usage: put <key> <value>", 400)
        stub.put_state(params[0], params[1].encode())
        return success()


def _timed(operations: int, body: Callable[[], None]) -> Sample:
    start = time.perf_counter()
    body()
    return Sample(operations, time.perf_counter() - start)


def _throughput(directory: Path, transactions: int, rounds: int, report: Report) -> None:
    ledger = EmbeddedLedger.open(directory)
    try:
        ledger.install(PUT_CHAINCODE, PutOneKeyChaincode())
        world = CoinWorld.build(ledger, LANES)
        world.fund(coins_per_member=10_000)
        writer = ledger.identities.enroll("bench-writer", "BenchMSP")
        keys = (f"key-{n}" for n in itertools.count())

        def put_one_per_block() -> None:
            for _ in range(transactions):
                ledger.submit(writer, PUT_CHAINCODE, "put", [next(keys), "v"])

        def put_in_blocks() -> None:
            for first in range(0, transactions, BLOCK_SIZE):
                size = min(BLOCK_SIZE, transactions - first)
                block = [ledger.endorse(writer, PUT_CHAINCODE, "put", [next(keys), "v"]) for _ in range(size)]
                ledger.commit(block)

        def earn_one_per_block() -> None:
            for n in range(transactions):
                world.commit([world.endorse_earn(n % LANES)])

        def pay_one_per_block() -> None:
            for n in range(transactions):
                world.commit([world.endorse_pay(n % LANES)])

        def earn_in_blocks() -> None:
            for first in range(0, transactions, BLOCK_SIZE):
                size = min(BLOCK_SIZE, transactions - first)
                world.commit([world.endorse_earn(lane) for lane in range(size)])

        variants: dict[str, Callable[[], None]] = {
            "put, 1 tx/block": put_one_per_block,
            f"put, {BLOCK_SIZE} tx/block": put_in_blocks,
            "earn, 1 tx/block": earn_one_per_block,
            "pay, 1 tx/block": pay_one_per_block,
            f"earn, {BLOCK_SIZE} tx/block": earn_in_blocks,
        }
        for body in variants.values():  # warm-up: imports, caches, SQLite pages
            _timed(transactions, body)
        samples = interleaved(
            [(name, functools.partial(_timed, transactions, body)) for name, body in variants.items()], rounds
        )
    finally:
        ledger.close()

    report.rates += [Rate(name, "tx/s", tuple(s)) for name, s in samples.items()]
    baseline = "put, 1 tx/block"
    comparisons = [
        (
            "put_block50_vs_block1",
            f"put, {BLOCK_SIZE} tx/block",
            f"put tx/s in blocks of {BLOCK_SIZE} / 1 a block",
        ),
        ("earn_vs_put", "earn, 1 tx/block", "coin earn tx/s / put tx/s, both 1 a block"),
        ("pay_vs_put", "pay, 1 tx/block", "coin pay tx/s / put tx/s, both 1 a block"),
        (
            "earn_block50_vs_put",
            f"earn, {BLOCK_SIZE} tx/block",
            f"earn tx/s in blocks of {BLOCK_SIZE} / put 1 a block",
        ),
    ]
    for name, candidate, meaning in comparisons:
        values = paired_ratios(samples, candidate, baseline)
        report.ratios.append(Ratio(name, candidate, baseline, values, meaning))
    report.notes.append(
        f"throughput: {transactions} transactions per variant per round, {rounds} rounds, on-disk ledger"
    )


def _report_scaling(directory: Path, queries: int, rounds: int, report: Report) -> None:
    worlds: dict[int, CoinWorld] = {}
    try:
        for size in REPORT_SIZES:
            world = CoinWorld.build(EmbeddedLedger.open(directory / f"report-{size}"), LANES)
            world.record_movements(size)  # 4 blocks of earns, then 1 of pays, and again
            worlds[size] = world

        def workload(world: CoinWorld) -> Callable[[], Sample]:
            def query_repeatedly() -> None:
                for _ in range(queries):
                    world.report()

            return lambda: _timed(queries, query_repeatedly)

        for world in worlds.values():
            workload(world)()  # warm-up
        small, large = REPORT_SIZES
        names = {size: f"get_report, {size} movements" for size in REPORT_SIZES}
        samples = interleaved([(names[size], workload(worlds[size])) for size in REPORT_SIZES], rounds)
        for size in REPORT_SIZES:
            counted = worlds[size].report()["coins"]
            assert isinstance(counted, dict)
            if counted["earned"] + counted["spent"] != size:
                raise RuntimeError(f"the report ledger holds {counted}, expected {size} movements")
    finally:
        for world in worlds.values():
            world.ledger.close()

    report.rates += [Rate(name, "queries/s", tuple(s)) for name, s in samples.items()]
    report.ratios.append(
        Ratio(
            f"report_{large // 1000}k_vs_{small // 1000}k",
            names[large],
            names[small],
            paired_ratios(samples, names[large], names[small], inverse=True),
            f"seconds per get_report at {large} movements / at {small} ({large // small} = linear)",
        )
    )
    report.notes.append(
        f"report: {queries} queries per size per round, {rounds} rounds; {LANES} members, 1 institution; "
        "movements are 80% earn, 20% pay"
    )


def run(quick: bool) -> Report:
    transactions, rounds = (200, 5) if quick else (1_000, 9)
    queries, report_rounds = (5, 5) if quick else (20, 9)
    report = Report("ledger")
    with tempfile.TemporaryDirectory(prefix="seocho-bench-") as scratch:
        _throughput(Path(scratch) / "throughput", transactions, rounds, report)
        _report_scaling(Path(scratch), queries, report_rounds, report)
    return report
