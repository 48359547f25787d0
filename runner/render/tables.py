"""HTML tables for Jupyter: what `_repr_html_` of a plan, an apply report and a result set shows.

Small and self-contained (inline styles only, every value escaped): a notebook shows it as is,
and GitHub renders a saved notebook without our CSS. Long tables are cut at MAX_ROWS with a line
saying how many rows were left out, so displaying a 10,000-job plan does not freeze the browser.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import TYPE_CHECKING, Any

from runner.domain.vocabulary import SYMBOLS
from runner.render import output

if TYPE_CHECKING:
    from runner.app.pipeline import Planned
    from runner.app.resultset import ResultSet
    from runner.applying.execute import Report

MAX_ROWS = 200
_ACTION_COLOUR = {
    "create": "#11602a",
    "update": "#8a6100",
    "replace": "#8a6100",
    "delete": "#9b1c28",
    "move": "#0b6b7a",
}
_CELL = "padding:2px 8px;text-align:left;border-bottom:1px solid #e3e7ee"


def table(columns: Sequence[str], rows: Sequence[Sequence[str]], caption: str = "", total: int | None = None) -> str:
    """An HTML table of already-escaped cells, with a caption and a note for rows left out."""
    head = "".join(f'<th style="{_CELL}">{escape(c)}</th>' for c in columns)
    shown = rows[:MAX_ROWS]
    body = "".join("<tr>" + "".join(f'<td style="{_CELL}">{c}</td>' for c in row) + "</tr>" for row in shown)
    count = len(rows) if total is None else total
    more = f"<p><em>{count - len(shown)} more row(s) not shown.</em></p>" if count > len(shown) else ""
    title = f'<caption style="text-align:left;font-weight:600">{escape(caption)}</caption>' if caption else ""
    grid = f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody>"
    return f'<table style="border-collapse:collapse">{title}{grid}</table>{more}'


def _text(value: Any) -> str:
    return "-" if value is None else escape(str(value))


def results_html(results: ResultSet) -> str:
    """One line per address and generation: its parameters, shots and the most frequent outcomes."""
    variables = results.variables
    rows = [
        [
            f"<code>{escape(str(r['address']))}</code>",
            *(_text(r.get("values", {}).get(v)) for v in variables),
            _text(r["generation"]),
            _text(r["shots"]),
            " | ".join(escape(output.counts_text(c, 6)) for c in r["counts"]),
        ]
        for r in results
    ]
    caption = f"{len(rows)} result(s)" + (f"; parameters: {', '.join(variables)}" if variables else "")
    return table(["address", *variables, "generation", "shots", "counts"], rows, caption)


def planned_html(planned: Planned) -> str:
    """The pending changes of a plan with their reasons, and its summary line."""
    plan = planned.plan
    pending = plan.pending()
    rows = [
        [
            f'<span style="color:{_ACTION_COLOUR.get(c.action, "inherit")};font-weight:600">'
            f"{escape(SYMBOLS[c.action])} {escape(c.action)}</span>",
            f"<code>{escape(c.address)}</code>",
            escape(c.reason),
        ]
        for c in pending
    ]
    rows += [
        ['<span style="color:#9b1c28">! blocked</span>', f"<code>{escape(c.address)}</code>", escape(c.reason)]
        for c in plan.blocked()
    ]
    s = plan.summary()
    caption = (
        f"Plan: {s['create']} to create, {s['update']} to update, {s['replace']} to replace, "
        f"{s['delete']} to delete, {s['noop']} unchanged"
    )
    if not rows:
        return f"<p><strong>No changes.</strong> {s['noop']} resource(s) match the manifest.</p>"
    return table(["action", "address", "reason"], rows, caption)


def report_html(report: Report) -> str:
    """How an apply went: outcome, counts per action, and every failure."""
    counts = [[escape(str(k)), _text(v)] for k, v in sorted(report.summary.items()) if isinstance(v, int)]
    caption = f"Apply #{report.run_id}: {report.outcome}"
    parts = [table(["", "count"], counts, caption)]
    if report.failures:
        parts.append(table(["failure"], [[escape(f)] for f in report.failures], "Failures"))
    if report.blocked:
        parts.append(table(["blocked address"], [[f"<code>{escape(a)}</code>"] for a in report.blocked], "Blocked"))
    return "".join(parts)
