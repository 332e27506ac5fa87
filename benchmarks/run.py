"""Run the benchmarks and print their ratios: `python -m benchmarks.run [--quick] [--json] [--only NAME]`.

Each subject measures its variants in interleaved rounds and reports ratios against a baseline from
the same run (see `benchmarks/README.md` for what each ratio means). `--quick` keeps the whole run
in about 20 s; `--json` prints one JSON document instead of the table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable from the repository root
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import bench_ledger, bench_shim
from benchmarks.timing import Report

SUBJECTS: dict[str, Callable[[bool], Report]] = {
    "shim": bench_shim.run,
    "ledger": bench_ledger.run,
}


def _format(report: Report) -> str:
    lines = [f"== {report.subject} =="]
    width = max(len(rate.name) for rate in report.rates)
    for rate in report.rates:
        lines.append(f"  {rate.name:<{width}}  {rate.median:>12,.1f} {rate.unit} (median)")
    lines.append("  ratios (median of per-round ratios, [min .. max]):")
    width = max(len(ratio.name) for ratio in report.ratios)
    for ratio in report.ratios:
        low, high = ratio.spread
        lines.append(
            f"  {ratio.name:<{width}}  {ratio.median:8.3f}  [{low:.3f} .. {high:.3f}]  {ratio.meaning}"
        )
    lines += [f"  note: {note}" for note in report.notes]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer, shorter rounds (about 20 s)")
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of a table")
    parser.add_argument(
        "--only", choices=sorted(SUBJECTS), action="append", help="run only this subject (repeatable)"
    )
    options = parser.parse_args(argv)
    chosen = options.only or list(SUBJECTS)
    started = time.perf_counter()
    reports: list[Report] = []
    for subject in chosen:
        if not options.json:
            print(f"running {subject} ...", file=sys.stderr, flush=True)
        report = SUBJECTS[subject](options.quick)
        reports.append(report)
        if not options.json:
            print(_format(report), flush=True)
    elapsed = time.perf_counter() - started
    machine = {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "quick": options.quick,
        "seconds": round(elapsed, 1),
    }
    if options.json:
        document = {"machine": machine, "subjects": [report.to_json() for report in reports]}
        print(json.dumps(document, indent=2))
    else:
        print(f"\n{machine['cpus']} CPUs, Python {machine['python']}, {elapsed:.1f} s in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
