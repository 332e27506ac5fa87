"""Folding delta rows (statistics and tallies) and monthly rollups into totals, for reports and compaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from seocho_coin.events import KINDS
from seocho_coin.records import StatRow, Tally

COUNTS = ("members", "active_members", "participants", "institutions")


def _zero() -> dict[str, int]:
    return dict.fromkeys(KINDS, 0)


@dataclass
class Totals:
    """Coins and KRW by movement kind, by activity (earnings), by institution and by month."""

    rows: int = 0
    coins: dict[str, int] = field(default_factory=_zero)
    krw: dict[str, int] = field(default_factory=_zero)
    by_activity: dict[str, dict[str, int]] = field(default_factory=dict)
    by_institution: dict[str, dict[str, int]] = field(default_factory=dict)
    by_month: dict[str, dict[str, int]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTS, 0))
    categories: dict[str, int] = field(default_factory=dict)
    members_by_month: dict[str, dict[str, int]] = field(default_factory=dict)
    """New members and new participants per month (a chart's "members over time")."""

    def add_tally(self, month: str, tally: Tally) -> None:
        self.rows += 1
        for name in COUNTS:
            self.counts[name] += getattr(tally, name)
        for name, count in tally.categories.items():
            self.categories[name] = self.categories.get(name, 0) + count
        if tally.members or tally.participants:
            monthly = self.members_by_month.setdefault(month, {"members": 0, "participants": 0})
            monthly["members"] += tally.members
            monthly["participants"] += tally.participants

    def add(self, month: str, row: StatRow) -> None:
        self.rows += 1
        self.coins[row.kind] = self.coins.get(row.kind, 0) + row.coins
        self.krw[row.kind] = self.krw.get(row.kind, 0) + row.krw
        if row.activity:
            entry = self.by_activity.setdefault(row.activity, {"coins": 0, "krw": 0, "count": 0})
            entry["coins"] += row.coins
            entry["krw"] += row.krw
            entry["count"] += 1
        if row.institution_id:
            inst = self.by_institution.setdefault(row.institution_id, _zero())
            inst[row.kind] = inst.get(row.kind, 0) + row.coins
        monthly = self.by_month.setdefault(month, _zero())
        monthly[row.kind] = monthly.get(row.kind, 0) + row.coins

    def merge(self, other: dict[str, Any]) -> None:
        """Add a stored rollup (the `to_dict` of another Totals; rollups from before tallies lack counts)."""
        self.rows += other["rows"]
        for name, count in other.get("counts", {}).items():
            self.counts[name] = self.counts.get(name, 0) + count
        for name, count in other.get("categories", {}).items():
            self.categories[name] = self.categories.get(name, 0) + count
        for month, entry in other.get("members_by_month", {}).items():
            mine = self.members_by_month.setdefault(month, {"members": 0, "participants": 0})
            for name, count in entry.items():
                mine[name] = mine.get(name, 0) + count
        for target, source in ((self.coins, other["coins"]), (self.krw, other["krw"])):
            for kind, value in source.items():
                target[kind] = target.get(kind, 0) + value
        for code, entry in other["by_activity"].items():
            mine = self.by_activity.setdefault(code, {"coins": 0, "krw": 0, "count": 0})
            for name, value in entry.items():
                mine[name] = mine.get(name, 0) + value
        for table_name in ("by_institution", "by_month"):
            table: dict[str, dict[str, int]] = getattr(self, table_name)
            for name, kinds in other[table_name].items():
                mine = table.setdefault(name, _zero())
                for kind, value in kinds.items():
                    mine[kind] = mine.get(kind, 0) + value

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "coins": self.coins,
            "krw": self.krw,
            "by_activity": self.by_activity,
            "by_institution": self.by_institution,
            "by_month": self.by_month,
            "counts": self.counts,
            "categories": {name: n for name, n in sorted(self.categories.items()) if n != 0},
            "members_by_month": self.members_by_month,
        }
