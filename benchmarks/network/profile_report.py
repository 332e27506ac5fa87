"""Summarise py-spy's collapsed stacks (`--profile DIR`): where each profiled process spent its samples.

`python -m benchmarks.network.profile_report DIR [TOP]` prints, per file, the functions with the most
samples on top of the stack (self) and in the stack (total), idle threads left out.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

IDLE = ("wait (threading.py", "_wait_once", "sleep (", "select (", "_worker (concurrent", "next_event")


def summarise(path: Path, top: int) -> None:
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    samples = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        frames = [f for f in stack.split(";") if not f.startswith(("thread (", "process "))]
        if not frames or any(marker in frames[-1] for marker in IDLE):
            continue
        count = int(count_text)
        samples += count
        own[frames[-1]] += count
        for frame in set(frames):
            total[frame] += count
    print(f"== {path.name}: {samples} busy samples")
    for title, table in (("self", own), ("total", total)):
        print(f"  -- {title}")
        for frame, count in table.most_common(top):
            print(f"  {100 * count / max(samples, 1):5.1f}%  {frame[:150]}")


def main() -> None:
    directory = Path(sys.argv[1])
    top = int(sys.argv[2]) if len(sys.argv) > 2 else 25
    for path in sorted(directory.glob("*.txt")):
        summarise(path, top)


if __name__ == "__main__":
    main()
