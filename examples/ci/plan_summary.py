#!/usr/bin/env python3
"""Turn `runner plan --json` output into markdown, for a pull-request comment or a CI job summary.

    runner plan runner.yaml --json > plan-output.json
    python plan_summary.py plan-output.json >> "$GITHUB_STEP_SUMMARY"

Standard library only (Python 3.10+). Reads plan format "1" (docs/plan-format.md). A saved plan
file (`runner plan --out FILE`) is read too, but it has no `cost` section, so summarize the
`--json` output when you want costs and the budget in the summary.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

FORMAT_VERSION = "1"
ACTIONS = ("create", "update", "record", "replace", "delete", "move")
SYMBOLS = {"create": "+", "update": "~", "record": "=", "replace": "-/+", "delete": "-", "move": "->"}
NOUNS = {
    "create": "to create",
    "update": "to update",
    "record": "to record in the state only",
    "replace": "to replace",
    "delete": "to delete",
    "move": "to move (renamed, no provider call)",
}
Doc = Mapping[str, Any]


class SummaryError(Exception):
    """The input is not a plan document this script understands."""


# markdown helpers ----------------------------------------------------------------------------
def text(value: object) -> str:
    """Plain text for a table cell: one line, markdown and HTML characters escaped."""
    out = " ".join(str(value).split())
    for char in "\\`*_[]|":
        out = out.replace(char, "\\" + char)
    return out.replace("&", "&amp;").replace("<", "&lt;")


def code(value: object) -> str:
    """A code span for a table cell (addresses, ids, values)."""
    shown = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    shown = " ".join(shown.split()).replace("`", "'").replace("|", "\\|")
    return f"`{shown}`"


def table(header: Sequence[str], rows: Iterable[Sequence[str]], limit: int) -> list[str]:
    rows = list(rows)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows[:limit]]
    if len(rows) > limit:
        lines += ["", f"... and {len(rows) - limit} more not shown."]
    return lines


def money(amount: str) -> str:
    """An exact decimal string shown as people read money: two places, "<0.01" for tiny amounts."""
    try:
        value = Decimal(amount)
    except InvalidOperation:
        return text(amount)
    shown = value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return "<0.01" if shown == 0 and value > 0 else f"{shown:f}"


# sections ------------------------------------------------------------------------------------
def headline(doc: Doc) -> str:
    counts = doc.get("summary", {})
    parts = [f"{counts[a]} {NOUNS[a]}" for a in ACTIONS if counts.get(a)]
    drifted = len(doc.get("drift") or [])
    if not parts:
        parts = ["no changes" + (f" ({drifted} changed outside runner)" if drifted else "")]
    manifest = (doc.get("manifest") or {}).get("path")
    where = f" for {code(manifest)}" if manifest else ""
    return f"### runner plan{where}: {', '.join(parts)}"


def context(doc: Doc) -> str:
    manifest, state = doc.get("manifest") or {}, doc.get("state") or {}
    digest = str(manifest.get("digest") or "")[:12]
    if state.get("lineage"):
        lineage = code(state["lineage"][:8])
        against = f"state {code(state.get('path'))} (serial {state.get('serial')}, lineage {lineage})"
    else:
        against = f"a new state at {code(state.get('path'))}"
    made = f"Planned against {against}"
    made += f"; manifest digest {code(digest)}" if digest else ""
    return made + f"; runner {text(doc.get('runner_version'))}, plan format {text(doc.get('format_version'))}."


def counts_table(doc: Doc) -> list[str]:
    counts = doc.get("summary", {})
    header = [*ACTIONS, "unchanged"]
    return table(header, [[str(counts.get(a, 0)) for a in (*ACTIONS, "noop")]], 1)


def changes_sections(doc: Doc, limit: int) -> list[str]:
    lines: list[str] = []
    for action in ACTIONS:
        chosen = [c for c in doc.get("changes", []) if c.get("action") == action]
        if not chosen:
            continue
        rows = [[code(c["address"]), text(c["kind"]), text(c.get("target") or ""), text(c["reason"])] for c in chosen]
        lines += ["", f"<details open><summary><b>{SYMBOLS[action]} {action}</b> ({len(chosen)})</summary>", ""]
        lines += table(["address", "kind", "target", "reason"], rows, limit)
        lines += ["", "</details>"]
    return lines


def blocked_section(doc: Doc, limit: int) -> list[str]:
    blocked = [c for c in doc.get("changes", []) if (c.get("details") or {}).get("blocked")]
    if not blocked:
        return []
    rows = [[code(c["address"]), text(c["reason"])] for c in blocked]
    intro = "Reconciliation could not settle these; apply leaves them alone until someone looks:"
    return ["", "#### Blocked", "", intro, "", *table(["address", "reason"], rows, limit)]


def reconciliation_section(doc: Doc, limit: int) -> list[str]:
    found = doc.get("reconciliation") or []
    if not found:
        return []
    rows = [
        [
            code(f["address"]),
            str(f.get("generation", "")),
            text(f.get("outcome", "")),
            code(f["remote_id"]) if f.get("remote_id") else "",
            ", ".join(code(c) for c in f.get("candidates") or []),
            text(f.get("message", "")),
        ]
        for f in found
    ]
    intro = "Submissions an earlier apply started but never recorded, and what the providers know of them:"
    header = ["address", "generation", "outcome", "remote id", "candidates", "message"]
    return ["", "#### Reconciliation of interrupted submissions", "", intro, "", *table(header, rows, limit)]


def drift_section(doc: Doc, limit: int) -> list[str]:
    drift = doc.get("drift") or []
    if not drift:
        return []
    rows = [
        [code(d["address"]), text(d.get("what", "")), code(d.get("before")), code(d.get("after")), text(d["message"])]
        for d in drift
    ]
    intro = "Seen by the refresh before planning (not planned changes; apply records them first):"
    header = ["address", "what", "before", "after", "message"]
    return ["", "#### Changed outside runner (drift)", "", intro, "", *table(header, rows, limit)]


def cost_section(doc: Doc, limit: int) -> list[str]:
    if "cost" not in doc:
        return ["", "#### Cost", "", "No cost section in this document (a plan from an older runner)."]
    cost = doc["cost"] or {}
    estimates, budget = cost.get("estimates") or [], cost.get("budget")
    free = all(Decimal(str(t)) == 0 for t in (cost.get("totals") or {}).values()) and not cost.get("unknown")
    if budget is None and free:
        return []  # as the text plan: nothing to say when nothing costs anything and no budget is set
    lines = ["", "#### Cost", "", f"Estimated cost of the {len(estimates)} job(s) this plan submits:", ""]
    lines += table(["currency", "estimated", "budget", "status"], _cost_rows(cost), limit)
    if cost.get("unknown"):
        unknown = [code(e["address"]) for e in estimates if e.get("currency") is None]
        shown = ", ".join(unknown[:5]) + (", ..." if len(unknown) > 5 else "")
        lines += ["", f"Unknown cost: {cost['unknown']} job(s) ({shown})."]
    if budget is not None:
        refused = f"**refused**, apply will not run this plan: {text(budget.get('problem'))}."
        lines += ["", "Budget: " + ("within the budget." if budget.get("ok") else refused)]
    rows = [
        [code(e["address"]), text(e.get("currency") or "-"), _amount(e), text(e["basis"]), text(e["source"])]
        for e in estimates
    ]
    if rows:
        lines += ["", "<details><summary>Estimates per job</summary>", ""]
        lines += table(["address", "currency", "amount", "basis", "source"], rows, limit)
        lines += ["", "</details>"]
    return lines


def _amount(estimate: Mapping[str, Any]) -> str:
    return "unknown" if estimate.get("currency") is None else money(str(estimate.get("amount", "0")))


def _cost_rows(cost: Mapping[str, Any]) -> list[list[str]]:
    totals: Mapping[str, str] = cost.get("totals") or {}
    budget = cost.get("budget") or {}
    limits: Mapping[str, str] = budget.get("limits") or {}
    exceeded = set(budget.get("exceeded") or ())
    rows = []
    for currency in sorted(set(totals) | set(limits)):
        status = "**over**" if currency in exceeded else "ok" if currency in limits else "no limit"
        limit = text(limits[currency]) if currency in limits else "-"
        rows.append([text(currency), money(totals.get(currency, "0")), limit, status])
    return rows


def untargeted_note(doc: Doc) -> list[str]:
    left_out = doc.get("untargeted") or 0
    return ["", f"{left_out} other change(s) left out by `--target`/`--exclude`."] if left_out else []


# the document --------------------------------------------------------------------------------
def render(doc: Doc, limit: int = 100) -> str:
    """The markdown summary of one plan document."""
    lines = [headline(doc), "", context(doc), "", *counts_table(doc), *untargeted_note(doc)]
    lines += reconciliation_section(doc, limit)
    lines += drift_section(doc, limit)
    lines += blocked_section(doc, limit)
    lines += changes_sections(doc, limit)
    lines += cost_section(doc, limit)
    return "\n".join(lines) + "\n"


def load(path: str) -> dict[str, Any]:
    """Read a plan document from a file ("-" for stdin) and check its format version."""
    label = "stdin" if path == "-" else path
    try:
        if path == "-":
            doc = json.load(sys.stdin)
        else:
            with open(path, encoding="utf-8") as fh:
                doc = json.load(fh)
    except (OSError, ValueError) as exc:
        raise SummaryError(f"cannot read a plan from {label}: {exc}") from None
    if not isinstance(doc, dict) or "changes" not in doc:
        raise SummaryError(f"{label} is not a runner plan document (no `changes`)")
    if doc.get("format_version") != FORMAT_VERSION:
        found = doc.get("format_version")
        raise SummaryError(f"{label} has plan format {found!r}; this script reads {FORMAT_VERSION!r}")
    return doc


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Markdown summary of `runner plan --json` output.")
    parser.add_argument("plan", nargs="?", default="-", help="the plan JSON (default: stdin)")
    parser.add_argument("--limit", type=int, default=100, help="rows shown per table (default 100)")
    args = parser.parse_args(argv)
    try:
        sys.stdout.write(render(load(args.plan), max(args.limit, 1)))
    except SummaryError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
