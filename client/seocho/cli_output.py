"""How `seocho` prints results as text: short summaries and tables for people, `--json` for scripts.

Dates are shown in Korean time (the district's), amounts with thousands separators. Field names of
documents printed as they come (`key: value`) are the chaincode's, the same words `--json` uses.
"""

from __future__ import annotations

import base64
import json
import unicodedata
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

import click

from seocho.i18n import _

KST = timezone(timedelta(hours=9), "KST")
MOVEMENTS = ("earned", "spent", "donated", "redeemed", "expired", "outstanding")
# by_institution and by_month count movements by the chaincode's verbs.
VERBS = ("earn", "pay", "donate", "redeem", "expire")
BOOKMARK_PREFIX = "b64:"


def movement_label(key: str) -> str:
    labels = {
        "earned": _("earned"), "spent": _("spent"), "donated": _("donated"), "redeemed": _("redeemed"),
        "expired": _("expired"), "outstanding": _("outstanding"),
        "earn": _("earned"), "pay": _("spent"), "donate": _("donated"), "redeem": _("redeemed"),
        "expire": _("expired"),
    }  # fmt: skip
    return labels.get(key, key)


def display_width(text: str) -> int:
    """Columns `text` takes on a terminal: by Unicode's East Asian Width (the standard library's table),
    Hangul and other wide or fullwidth characters take two, combining marks (jamo that join) none."""
    return sum(
        0 if unicodedata.combining(c) or unicodedata.category(c) == "Mn"
        else 2 if unicodedata.east_asian_width(c) in ("W", "F") else 1
        for c in text
    )  # fmt: skip


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, int):
        return f"{value:,}"
    return "" if value is None else str(value)


def table(
    headings: Sequence[str], rows: Sequence[Sequence[Any]], numeric: Collection[int] | None = None
) -> list[str]:
    """Aligned columns; the `numeric` ones (default: all but the first) are right-aligned."""
    right = set(range(1, len(headings))) if numeric is None else set(numeric)
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max([display_width(h)] + [display_width(r[i]) for r in cells]) for i, h in enumerate(headings)]

    def line(values: Sequence[str]) -> str:
        parts = []
        for i, value in enumerate(values):
            pad = " " * (widths[i] - display_width(value))
            parts.append(pad + value if i in right else value + pad)
        return "  " + "  ".join(parts).rstrip()

    return [line(list(headings)), *[line(r) for r in cells]]


def korean_time(timestamp: str) -> str:
    try:
        moment = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except ValueError:
        return timestamp
    return moment.astimezone(KST).strftime("%Y-%m-%d %H:%M")


def format_report(report: dict[str, Any]) -> str:
    """The district report: totals in coins and won, then by activity, institution and month."""
    lines = [
        _("Seocho Coin — district report (1 coin = {value:,} KRW)").format(
            value=report.get("coin_value_krw", 200)
        ),
        *table(
            [_("members"), _("participants"), _("institutions")],
            [[report["members"], report["participants"], report.get("institutions", "")]],
            numeric=(0, 1, 2),
        ),
        "",
        *table(
            ["", _("coins"), _("KRW")],
            [[movement_label(k), report["coins"][k], report["krw"][k]] for k in MOVEMENTS],
        ),
    ]
    by_activity = report.get("by_activity") or {}
    if by_activity:
        lines += ["", _("By activity")]
        lines += table(
            [_("activity"), _("times"), _("coins"), _("KRW")],
            [[name, v["count"], v["coins"], v["krw"]] for name, v in sorted(by_activity.items())],
        )
    for key, title, first in (
        ("by_institution", _("By institution (coins)"), _("institution")),
        ("by_month", _("By month (coins)"), _("month")),
    ):
        breakdown = report.get(key) or {}
        if breakdown:
            lines += ["", title]
            lines += table(
                [first, *[movement_label(v) for v in VERBS]],
                [[name, *[row.get(v, 0) for v in VERBS]] for name, row in sorted(breakdown.items())],
            )
    return "\n".join(lines)


def format_history(page: dict[str, Any]) -> str:
    movements = page.get("movements") or []
    if not movements:
        return _("no coin movements for {member_id}").format(member_id=page.get("member_id", ""))
    lines = table(
        [_("time (KST)"), _("movement"), _("coins"), _("KRW"), _("institution"), _("for")],
        [
            [
                korean_time(m.get("timestamp", "")), movement_label(_past(m.get("kind", ""))),
                m.get("coins", 0), m.get("krw", 0), m.get("institution_id", ""),
                m.get("activity") or m.get("service_code") or "",
            ]
            for m in movements
        ],
        numeric=(2, 3),
    )  # fmt: skip
    bookmark = page.get("bookmark") or ""
    if bookmark and len(movements) >= 1:
        token = BOOKMARK_PREFIX + base64.urlsafe_b64encode(bookmark.encode()).decode()
        lines += ["", _("next page: add --bookmark {token}").format(token=token)]
    return "\n".join(lines)


def _past(kind: str) -> str:
    return {"earn": "earned", "pay": "spent", "donate": "donated", "redeem": "redeemed",
            "expire": "expired"}.get(kind, kind)  # fmt: skip


def parse_bookmark(value: str) -> str:
    """The chaincode's bookmark from what `history` printed (its bookmarks hold NUL characters)."""
    if value.startswith(BOOKMARK_PREFIX):
        try:
            return base64.urlsafe_b64decode(value[len(BOOKMARK_PREFIX) :].encode()).decode()
        except ValueError:
            raise click.BadParameter(_("not a bookmark printed by seocho history")) from None
    return value


def format_init(result: dict[str, Any]) -> str:
    policy = result.get("policy") or {}
    activities = policy.get("activities") or {}
    volunteering = activities.get("volunteer_hour", {}).get("coins_per_unit")
    eligible = sorted({c for cs in (policy.get("eligibility") or {}).values() for c in cs})
    lines = [
        _("The ledger is ready: policy version {version} in force from {since} (KST).").format(
            version=policy.get("version", 1), since=korean_time(policy.get("effective_from", ""))
        ),
        _(
            "1 coin = {value:,} KRW; {count} activities earn coins (volunteering: {rate} coins an hour)."
        ).format(value=policy.get("coin_value_krw", 0), count=len(activities), rate=volunteering),
        _("Who may earn: {categories}. District MSP: {msp}.").format(
            categories=", ".join(eligible) or _("every member"), msp=result.get("district_msp", "")
        ),
        _("The whole policy: seocho policy show (or --json init)."),
    ]
    return "\n".join(lines)


def format_document(result: Any) -> str:
    """Any other result: `key: value` lines, nested documents indented, lists of documents as lines."""
    if isinstance(result, dict):
        return "\n".join(_document_lines(result, ""))
    if isinstance(result, list):
        return "\n".join(
            json.dumps(item, ensure_ascii=False, sort_keys=True)
            if isinstance(item, dict | list)
            else str(item)
            for item in result
        )
    return "" if result is None else str(result)


def _document_lines(document: dict[str, Any], indent: str) -> list[str]:
    lines = []
    for key, value in document.items():
        if isinstance(value, dict) and value:
            lines.append(f"{indent}{key}:")
            lines += _document_lines(value, indent + "  ")
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            lines.append(f"{indent}{key}:")
            for item in value:
                lines.append(f"{indent}  - " + ", ".join(f"{k}={_cell(v)}" for k, v in item.items()))
        elif isinstance(value, list):
            lines.append(f"{indent}{key}: {', '.join(_cell(v) for v in value)}")
        else:
            lines.append(f"{indent}{key}: {_cell(value)}")
    return lines
