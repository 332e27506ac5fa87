"""`network.sh status --html [FILE]`: the operations view, one self-contained page of `status`'s model.

The page of `seocho report --html` (seocho.charts: its style, its inline SVG bars, its Korean/English
catalogue): nodes per organisation, up or down, with their block heights and the consensus leader; the
committed chaincode definition and which organisations approved it; every certificate's expiry; the
alerts Prometheus has pending or firing (or that monitoring does not run). No script, no asset from
elsewhere: it opens offline and prints. Every row carries `data-` attributes naming what it shows.
"""

from __future__ import annotations

import os
from html import escape
from pathlib import Path

from seocho.charts import COLOURS, STYLE, bar_chart, page_language
from seocho.i18n import _, use_language

from .runtime import UP
from .status import NetworkStatus

EXPIRY_WARNING_DAYS = 30  # as the certificate alert's window (network/monitoring/alerts.yml)

PAGE_STYLE = STYLE + (
    "table.grid{border-collapse:collapse;margin:6px 0 14px}"
    ".grid td,.grid th{border:1px solid #ccc;padding:4px 10px;text-align:left}"
    ".grid th{background:#f3f3f3}.grid td.number{text-align:right}"
    ".state-up{color:#2e7d32;font-weight:bold}.state-down,.state-unhealthy{color:#c62828;font-weight:bold}"
    ".soon{background:#fff3e0}.firing{background:#ffebee}.note{color:#555}"
)


def _kind(kind: str) -> str:
    names = {"ca": _("CA"), "orderer": _("orderer"), "peer": _("peer"), "chaincode": _("chaincode server")}
    return names.get(kind, kind)


def _state(state: str) -> str:
    return {"up": _("up"), "down": _("down"), "unhealthy": _("unhealthy")}.get(state, state)


def _table(headings: list[str], rows: list[str], name: str) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headings)
    return f'<table class="grid" data-table="{name}"><tr>{head}</tr>{"".join(rows)}</table>'


def _cell(text: object, css: str = "") -> str:
    return f'<td class="{css}">{escape(str(text))}</td>' if css else f"<td>{escape(str(text))}</td>"


def _nodes(status: NetworkStatus) -> str:
    heights = status.peer_heights | status.orderer_heights
    leader_word = _("BFT leader") if status.orderer_type == "bft" else _("Raft leader")
    parts = []
    organisations = list(dict.fromkeys(status.organizations.get(n, "") for n in status.nodes))
    for organisation in organisations:
        rows = []
        for node_id, state in status.nodes.items():
            if status.organizations.get(node_id, "") != organisation:
                continue
            height = heights.get(node_id)
            shown = "" if node_id not in heights else ("?" if height is None else f"{height:,}")
            role = leader_word if node_id == status.raft_leader else ""
            known = "" if height is None else str(height)
            rows.append(
                f'<tr data-node="{escape(node_id)}" data-state="{escape(state)}" data-height="{known}">'
                + _cell(node_id) + _cell(_kind(status.kinds.get(node_id, "")))
                + _cell(_state(state), f"state-{state}") + _cell(shown, "number") + _cell(role) + "</tr>"
            )  # fmt: skip
        heading = organisation or _("other")
        table = _table([_("node"), _("kind"), _("state"), _("block height"), _("role")], rows, "nodes")
        parts.append(f'<h3 data-organisation="{escape(organisation)}">{escape(heading)}</h3>{table}')
    return "".join(parts)


def _heights_chart(status: NetworkStatus) -> str:
    heights = status.peer_heights | status.orderer_heights
    # Labels without the domain's tail (the chart's label column is narrow); a node whose height is
    # unknown (down) has no bar rather than a bar of 0: the table above says why.
    rows = [
        (".".join(node_id.split(".")[:2]), [height])
        for node_id, height in heights.items()
        if height is not None
    ]
    title = _("Block height of each peer and orderer")
    return bar_chart("heights", title, rows, [(_("block height"), COLOURS["pay"])])


def _leader(status: NetworkStatus) -> str:
    kind = "BFT" if status.orderer_type == "bft" else "Raft"
    if status.raft_leader is None:
        text = _("no {kind} leader: ordering cannot commit blocks").format(kind=kind)
        return f'<p class="state-down" data-leader="">{escape(text)}</p>'
    text = _("{kind} leader: {node}").format(kind=kind, node=status.raft_leader)
    return f'<p data-leader="{escape(status.raft_leader)}">{escape(text)}</p>'


def _chaincode(status: NetworkStatus) -> str:
    definition = status.chaincode
    if definition is None:
        text = _("none committed (run: scripts/network.sh deploy)")
        return f'<p class="note" data-chaincode="">{escape(text)}</p>'
    rows = [
        f'<tr data-field="{field}">{_cell(label)}{_cell(definition.get(field, ""))}</tr>'
        for field, label in (("name", _("name")), ("version", _("version")), ("sequence", _("sequence")))
    ]
    approvals = definition.get("approvals")
    approvals = approvals if isinstance(approvals, dict) else {}
    yes, no = _("yes"), _("no")
    for msp, ok in sorted(approvals.items()):
        label = _("approved by {msp}").format(msp=msp)
        rows.append(
            f'<tr data-approval="{escape(msp)}" data-approved="{str(bool(ok)).lower()}">'
            f"{_cell(label)}{_cell(yes if ok else no)}</tr>"
        )
    return _table([_("definition"), _("value")], rows, "chaincode")


def _certificates(status: NetworkStatus) -> str:
    if not status.certificates:
        text = _("no certificates found in the network home")
        return f'<p class="note">{escape(text)}</p>'
    rows = []
    for certificate in status.certificates:
        days = int(str(certificate["days_left"]))
        css = ' class="soon"' if days < EXPIRY_WARNING_DAYS else ""
        rows.append(
            f'<tr data-certificate="{escape(str(certificate["identity"]))}" '
            f'data-kind="{escape(str(certificate["kind"]))}"{css}>'
            + _cell(certificate["identity"]) + _cell(certificate["kind"])
            + _cell(str(certificate["not_after"]).replace("T", " ")) + _cell(days, "number") + "</tr>"
        )  # fmt: skip
    headings = [_("identity"), _("certificate"), _("expires (UTC)"), _("days left")]
    return _table(headings, rows, "certificates")


def _alerts(status: NetworkStatus) -> str:
    if status.alerts is None:
        text = _("monitoring not running (start it: scripts/network.sh monitoring up)")
        return f'<p class="note" data-alerts="not-running">{escape(text)}</p>'
    if not status.alerts:
        text = _("no alerts pending or firing")
        return f'<p data-alerts="none">{escape(text)}</p>'
    rows = []
    for alert in status.alerts:
        labels = alert.get("labels")
        labels = labels if isinstance(labels, dict) else {}
        where = labels.get("instance") or labels.get("channel") or labels.get("identity") or ""
        state = str(alert.get("state", ""))
        css = ' class="firing"' if state == "firing" else ""
        rows.append(
            f'<tr data-alert="{escape(str(alert.get("name", "")))}" data-alert-state="{escape(state)}"{css}>'
            + _cell(alert.get("name", "")) + _cell(state) + _cell(where) + "</tr>"
        )  # fmt: skip
    return _table([_("alert"), _("state"), _("where")], rows, "alerts")


def status_page(status: NetworkStatus) -> str:
    """The whole page for one `status.collect()`."""
    title = _("Seocho Coin — network status")
    up = sum(1 for state in status.nodes.values() if state == UP)
    heights = [h for h in status.peer_heights.values() if h is not None]
    firing = None if status.alerts is None else sum(1 for a in status.alerts if a.get("state") == "firing")
    summary = [
        (_("nodes up"), f"{up} / {len(status.nodes)}"),
        (_("channel height"), f"{max(heights):,}" if heights else "?"),
        (_("alerts firing"), "—" if firing is None else str(firing)),
    ]
    when = _("collected {when} ({runtime} runtime)").format(when=status.collected_at, runtime=status.runtime)
    body = [f"<h1>{escape(title)}</h1>", f'<p class="note">{escape(when)}</p>', '<table class="summary"><tr>']
    body += [f"<th>{escape(label)}</th>" for label, _value in summary]
    body.append("</tr><tr>")
    body += [f'<td class="figure">{escape(value)}</td>' for _label, value in summary]
    body.append("</tr></table>")
    sections = [
        ("nodes", _("Nodes"), _nodes(status)),
        ("heights", _("Block heights"), _heights_chart(status)),
        ("ordering", _("Ordering"), _leader(status)),
        ("chaincode", _("Chaincode definition"), _chaincode(status)),
        ("certificates", _("Certificate expiries"), _certificates(status)),
        ("alerts", _("Alerts"), _alerts(status)),
    ]
    for name, heading, content in sections:
        body.append(f'<section data-section="{name}"><h2>{escape(heading)}</h2>{content}</section>')
    return (
        f'<!DOCTYPE html><html lang="{page_language()}"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{PAGE_STYLE}</style></head><body>{''.join(body)}</body></html>\n"
    )


def write_page(status: NetworkStatus, path: str | Path, language: str | None = None) -> Path:
    """Writes the page (0600: it names every node and identity of the network); its path."""
    if language is not None:
        use_language(language)
    target = Path(path)
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
        os.fchmod(descriptor, 0o600)  # also when it replaces an older page
        stream.write(status_page(status))
    return target
