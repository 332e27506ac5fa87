"""Measuring throughput as ratios against a baseline measured in the same run.

A shared machine drifts (other processes, CPU frequency, disk cache), so variants are measured in
interleaved rounds — baseline and candidates take turns, in a rotating order — and a ratio is the
median of the per-round ratios, which cancels whatever drift hits both sides of a round.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Sample:
    """`operations` done in `seconds` of measured time (setup excluded)."""

    operations: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.operations / self.seconds


Workload = Callable[[], Sample]
"""Runs one round of a variant and times only its hot loop."""


@dataclass(frozen=True)
class Rate:
    """Throughput of one variant over all rounds."""

    name: str
    unit: str
    samples: tuple[Sample, ...]

    @property
    def median(self) -> float:
        return statistics.median(s.rate for s in self.samples)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "unit": self.unit,
            "median": self.median,
            "rates": [s.rate for s in self.samples],
            "operations_per_round": [s.operations for s in self.samples],
        }


@dataclass(frozen=True)
class Ratio:
    """The median over rounds of a per-round ratio of two variants; `meaning` says which way round."""

    name: str
    candidate: str
    baseline: str
    values: tuple[float, ...]
    meaning: str

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def spread(self) -> tuple[float, float]:
        return min(self.values), max(self.values)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "candidate": self.candidate,
            "baseline": self.baseline,
            "median": self.median,
            "values": list(self.values),
            "meaning": self.meaning,
        }


@dataclass
class Report:
    """What one benchmark module measured."""

    subject: str
    rates: list[Rate] = field(default_factory=list)
    ratios: list[Ratio] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "rates": [r.to_json() for r in self.rates],
            "ratios": [r.to_json() for r in self.ratios],
            "notes": self.notes,
        }


def interleaved(workloads: Sequence[tuple[str, Workload]], rounds: int) -> dict[str, list[Sample]]:
    """Run every workload once per round; the starting workload rotates so none always goes first."""
    samples: dict[str, list[Sample]] = {name: [] for name, _ in workloads}
    for round_number in range(rounds):
        shift = round_number % len(workloads)
        for name, workload in [*workloads[shift:], *workloads[:shift]]:
            samples[name].append(workload())
    return samples


def paired_ratios(
    samples: dict[str, list[Sample]], candidate: str, baseline: str, *, inverse: bool = False
) -> tuple[float, ...]:
    """Per-round candidate/baseline rate ratios (baseline/candidate when `inverse`)."""
    pairs = zip(samples[candidate], samples[baseline], strict=True)
    if inverse:
        return tuple(b.rate / c.rate for c, b in pairs)
    return tuple(c.rate / b.rate for c, b in pairs)
