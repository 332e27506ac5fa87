"""`seocho report --html`: the district report as one self-contained page of inline SVG bar charts.

No script, no stylesheet or font from elsewhere: the page opens offline, in any browser, and prints.
Charts: coins earned, spent and donated by month; coins by activity; coins earned and received by
institution; members and participants over time (cumulative, by month of registration and of first
earning). Labels follow the CLI's language (`--lang`). Only pseudonymous ids and amounts appear.
"""

from __future__ import annotations

from html import escape
from itertools import accumulate
from typing import Any

from seocho.i18n import _

WIDTH, BAR_AREA, ROW = 760, 560, 26
COLOURS = {
    "earn": "#2e7d32",
    "pay": "#1565c0",
    "donate": "#ef6c00",
    "members": "#6a1b9a",
    "participants": "#00897b",
}


def _legend(series: list[tuple[str, str]], y: int) -> str:
    parts = []
    for n, (label, colour) in enumerate(series):
        x = 10 + n * 170
        parts.append(f'<rect x="{x}" y="{y}" width="12" height="12" fill="{colour}"/>')
        parts.append(f'<text x="{x + 18}" y="{y + 11}" class="legend">{escape(label)}</text>')
    return "".join(parts)


def bar_chart(name: str, title: str, rows: list[tuple[str, list[int]]], series: list[tuple[str, str]]) -> str:
    """Horizontal grouped bars: one group per row label, one bar per series, scaled to the largest."""
    largest = max([v for _label, values in rows for v in values] + [1])
    group = ROW * len(series) + 10
    height = 40 + group * max(len(rows), 1) + 30
    parts = [
        f'<svg class="chart" data-chart="{name}" role="img" aria-label="{escape(title)}" '
        f'width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
        _legend(series, 8),
    ]
    if not rows:
        empty = escape(_("nothing recorded yet"))
        parts.append(f'<text x="10" y="60" class="empty">{empty}</text>')
    for n, (label, values) in enumerate(rows):
        top = 34 + n * group
        parts.append(f'<text x="10" y="{top + group // 2}" class="label">{escape(label)}</text>')
        for k, (value, (series_label, colour)) in enumerate(zip(values, series, strict=True)):
            width = round(BAR_AREA * value / largest) if value else 0
            y = top + k * ROW
            parts.append(
                f'<rect class="bar" data-series="{escape(series_label)}" data-value="{value}" x="170" '
                f'y="{y}" width="{max(width, 1)}" height="{ROW - 6}" fill="{colour}"/>'
            )
            parts.append(f'<text x="{174 + width}" y="{y + ROW - 10}" class="value">{value:,}</text>')
    parts.append("</svg>")
    return "".join(parts)


def report_page(report: dict[str, Any]) -> str:
    """The whole page for a district report (`get_report`'s document)."""
    earn, pay, donate = _("earned"), _("spent"), _("donated")
    by_month = report.get("by_month") or {}
    months = sorted(by_month)
    month_rows = [
        (m, [by_month[m].get("earn", 0), by_month[m].get("pay", 0), by_month[m].get("donate", 0)])
        for m in months
    ]
    activities = sorted((report.get("by_activity") or {}).items())
    activity_rows = [(code, [entry["coins"]]) for code, entry in activities]
    institutions = sorted((report.get("by_institution") or {}).items())
    institution_rows = [
        (code, [kinds.get("earn", 0), kinds.get("pay", 0) + kinds.get("donate", 0)])
        for code, kinds in institutions
    ]
    growth = report.get("members_by_month") or {}
    growth_months = sorted(growth)
    members = list(accumulate(growth[m].get("members", 0) for m in growth_months))
    participants = list(accumulate(growth[m].get("participants", 0) for m in growth_months))
    member_rows = [(m, [a, b]) for m, a, b in zip(growth_months, members, participants, strict=True)]
    coins = report.get("coins") or {}
    summary = [
        (_("members"), report.get("members", 0)),
        (_("participants"), report.get("participants", 0)),
        (_("institutions"), report.get("institutions", 0)),
        (_("earned"), coins.get("earned", 0)),
        (_("outstanding"), coins.get("outstanding", 0)),
    ]
    sections = [
        ("by-month", _("Coins earned and spent by month"), month_rows,
         [(earn, COLOURS["earn"]), (pay, COLOURS["pay"]), (donate, COLOURS["donate"])]),
        ("by-activity", _("Coins earned by activity"), activity_rows, [(earn, COLOURS["earn"])]),
        ("by-institution", _("Coins by institution: attested and received"), institution_rows,
         [(_("attested"), COLOURS["earn"]), (_("received"), COLOURS["pay"])]),
        ("members", _("Members over time"), member_rows,
         [(_("members"), COLOURS["members"]), (_("participants"), COLOURS["participants"])]),
    ]  # fmt: skip
    title = _("Seocho Coin — district report (1 coin = {value:,} KRW)").format(
        value=report.get("coin_value_krw", 200)
    )
    body = [f"<h1>{escape(title)}</h1>", '<table class="summary"><tr>']
    body += [f"<th>{escape(label)}</th>" for label, _value in summary]
    body.append("</tr><tr>")
    body += [f'<td class="figure">{value:,}</td>' for _label, value in summary]
    body.append("</tr></table>")
    for name, heading, rows, series in sections:
        body.append(f"<section><h2>{escape(heading)}</h2>{bar_chart(name, heading, rows, series)}</section>")
    return (
        f'<!DOCTYPE html><html lang="{page_language()}"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>{''.join(body)}</body></html>\n"
    )


def page_language() -> str:
    # The catalogue in use tells: the msgids are English.
    return "en" if _("members") == "members" else "ko"


STYLE = (
    "body{font-family:sans-serif;margin:24px;color:#222;background:#fff}"
    "h1{font-size:22px}h2{font-size:17px;margin-top:28px}"
    ".summary td,.summary th{padding:4px 14px;text-align:right}.figure{font-size:20px;font-weight:bold}"
    ".chart text{font-size:13px;fill:#222}.chart .value{fill:#555}.chart .empty{fill:#888}"
)
