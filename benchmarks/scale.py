"""The district at full size: `python -m benchmarks.scale [--quick] [--large N] [--json]`.

Two on-disk embedded ledgers built in the same run (`scale_world`): 1,000 members and 400,000 (with
`--quick`: 100,000, and the ratios are named after that size). Both hold the same activity — 334
seniors earning twice, one member with 30 movements, 20 payments — compacted as an operator would
(`compact_stats`), so what differs is the number of members. Then, in interleaved rounds (small and
large take turns, starting side rotating), the latency of a balance, of a history page (20
movements) and of the district report; each ratio is large / small time, median of the rounds
(goal: ≤ 1.5). Also printed: the time to build each ledger and the indexer's throughput, the store
side of `seocho index` (decoding coin events and writing them to SQLite exactly once, a block a
transaction; the Deliver stream itself is not in it).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from seocho.index_store import MemberChange, Movement, open_store
from seocho.indexer import local_month

from benchmarks.scale_world import ScaleWorld, member_id

SMALL = 1_000
EARNERS = range(0, SMALL, 3)  # the same 334 seniors in both ledgers
HISTORY_MEMBER = 3  # a senior who also earns 28 more times: 30 movements


def build(path: Path, members: int, say: Callable[[str], None]) -> tuple[ScaleWorld, float]:
    started = time.perf_counter()
    world = ScaleWorld.create(path)
    world.register(
        members, payers=60, progress=lambda n: say(f"  {n:,} members") if n % 50_000 == 0 else None
    )
    world.earn(EARNERS)
    for _ in range(28):
        world.earn(range(HISTORY_MEMBER, HISTORY_MEMBER + 1), sessions=1)
    world.pay()
    world.compact()
    return world, time.perf_counter() - started


def timed(query: Callable[[ScaleWorld, int], object], world: ScaleWorld, repeat: int) -> float:
    """Seconds per call of `query(world, i)` for i in 0..repeat-1."""
    started = time.perf_counter()
    for i in range(repeat):
        query(world, i)
    return (time.perf_counter() - started) / repeat


def measure(small: ScaleWorld, large: ScaleWorld, rounds: int) -> dict[str, list[float]]:
    """Per-round large/small latency ratios of each query."""
    sample = [member_id(n) for n in range(0, 1_000, 3)]
    queries: dict[str, tuple[Callable[[ScaleWorld, int], object], int]] = {
        "balance": (lambda w, i: w.query("get_balance", sample[i % len(sample)]), 200),
        "history": (lambda w, i: w.query("get_member_history", member_id(HISTORY_MEMBER), "20", ""), 100),
        "report": (lambda w, i: w.query("get_report"), 30),
    }
    ratios: dict[str, list[float]] = {name: [] for name in queries}
    seconds: dict[str, dict[str, list[float]]] = {name: {"small": [], "large": []} for name in queries}
    for round_number in range(rounds):
        for name, (query, repeat) in queries.items():
            order = [("small", small), ("large", large)]
            if round_number % 2:
                order.reverse()
            took = {}
            for side, world in order:
                took[side] = timed(query, world, repeat)
                seconds[name][side].append(took[side])
            ratios[name].append(took["large"] / took["small"])
    for name in queries:
        ratios[f"{name}_ms"] = [statistics.median(seconds[name]["small"]) * 1e3,
                                statistics.median(seconds[name]["large"]) * 1e3]  # fmt: skip
    return ratios


def indexer_throughput(world: ScaleWorld, directory: Path) -> tuple[int, float, int, float]:
    """Movements and member changes through the store, from the ledger's own events, a block per DB
    transaction: (movements, their seconds, members, their seconds), timed by the blocks holding them."""
    blocks: dict[int, tuple[list[Movement], list[MemberChange]]] = {}
    for event in world.ledger.chaincode_events("seocho"):
        payload = json.loads(event.payload)
        movements, members = blocks.setdefault(event.block_num, ([], []))
        month = local_month(payload["timestamp"])
        if event.name == "member":
            for m in payload["members"]:
                members.append(MemberChange(payload["change"], m["member_id"], tuple(m["categories"]),
                                            m["active"], month))  # fmt: skip
        else:
            movements.append(Movement(event.tx_id, event.name, payload["coins"], payload["krw"],
                                      payload["timestamp"], month, payload["member_id"],
                                      payload["institution_id"], payload["activity"],
                                      payload["policy_version"]))  # fmt: skip
    counts = [0, 0]
    seconds = [0.0, 0.0]
    with open_store(directory / "index.sqlite") as store:
        for number in range(max(blocks) + 1):
            movements, members = blocks.get(number, ([], []))
            started = time.perf_counter()
            store.apply_block(number, movements, members)
            took = time.perf_counter() - started
            counts[0] += len(movements)
            counts[1] += len(members)
            seconds[0 if movements else 1] += took
    return counts[0], seconds[0], counts[1], seconds[1]


def paged_audit(world: ScaleWorld) -> tuple[dict[str, object], list[float]]:
    """The audit a bounded page per evaluation, as the SDK runs it: its document and each page's seconds."""
    cursor = ""
    seconds = []
    while True:
        started = time.perf_counter()
        page = world.query("audit_supply_page", cursor)
        seconds.append(time.perf_counter() - started)
        if page["done"]:
            audit = page["audit"]
            assert isinstance(audit, dict)
            return audit, seconds
        cursor = str(page["cursor"])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scale", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="100,000 members instead of 400,000; fewer rounds"
    )
    parser.add_argument("--large", type=int, default=None, help="members of the large ledger")
    parser.add_argument("--json", action="store_true", help="one JSON document instead of the text")
    args = parser.parse_args(argv)
    large_size = args.large or (100_000 if args.quick else 400_000)
    rounds = 5 if args.quick else 9
    say: Callable[[str], None] = (lambda _text: None) if args.json else print
    label = f"{large_size // 1000}k"
    with tempfile.TemporaryDirectory(prefix="seocho-scale-") as tmp:
        say(f"== scale: {SMALL:,} vs {large_size:,} members ({platform.python_version()}) ==")
        small, small_seconds = build(Path(tmp) / "small", SMALL, say)
        say(f"  built {SMALL:,} members in {small_seconds:.1f} s")
        large, large_seconds = build(Path(tmp) / "large", large_size, say)
        rate = large_size / large_seconds
        say(f"  built {large_size:,} members in {large_seconds:.1f} s ({rate:,.0f} members/s)")
        report = large.query("get_report")
        audit_started = time.perf_counter()
        audit = large.query("audit_supply")
        audit_seconds = time.perf_counter() - audit_started
        assert report["members"] == large_size and audit["ok"], (report["members"], audit)
        paged, page_seconds = paged_audit(large)
        assert paged == audit, (paged, audit)
        ratios = measure(small, large, rounds)
        moved, index_seconds, registered, member_seconds = indexer_throughput(large, Path(tmp))
        small.ledger.close()
        large.ledger.close()
    result = {
        "members": [SMALL, large_size],
        "build_seconds": [round(small_seconds, 1), round(large_seconds, 1)],
        "audit_seconds_large": round(audit_seconds, 2),
        "audit_pages_large": len(page_seconds),
        "audit_longest_page_seconds_large": round(max(page_seconds), 2),
        "audit_paged_seconds_large": round(sum(page_seconds), 2),
        "indexer_movements_per_second": round(moved / index_seconds),
        "indexer_members_per_second": round(registered / member_seconds),
    }
    for name in ("balance", "history", "report"):
        values = ratios[name]
        small_ms, large_ms = ratios[f"{name}_ms"]
        result[f"{name}_{label}_vs_1k"] = round(statistics.median(values), 3)
        spread = f"[{min(values):.3f} .. {max(values):.3f}]"
        say(f"  {name}_{label}_vs_1k  {statistics.median(values):7.3f}  {spread}"
            f"  ({small_ms:.2f} ms vs {large_ms:.2f} ms; goal <= 1.5)")  # fmt: skip
    say(f"  audit_supply at {large_size:,} members: {audit_seconds:.2f} s in one evaluation (before paging)")
    say(f"  audit_supply_page at {large_size:,} members: {len(page_seconds)} evaluations,"
        f" the longest {max(page_seconds):.2f} s, {sum(page_seconds):.2f} s in all"
        " (goal: none over 2 s)")  # fmt: skip
    say(f"  indexer: {result['indexer_movements_per_second']:,} movements/s ({moved:,} movements to SQLite),"
        f" {result['indexer_members_per_second']:,} member registrations/s ({registered:,})")  # fmt: skip
    if args.json:
        print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
