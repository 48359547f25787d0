"""Everything runner prints: plans, events, tables. Text for people, JSON for machines."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict
from typing import IO, TYPE_CHECKING, Any

from runner.domain.events import (
    Event,
    Notice,
    ResourceDone,
    ResourceFailed,
    ResourceSkipped,
    RunFinished,
    RunStarted,
    StatusChanged,
)
from runner.domain.vocabulary import SYMBOLS
from runner.planning.changes import Change, Plan
from runner.render.colour import PLAIN, Painter

if TYPE_CHECKING:
    from runner.app.pipeline import Planned

_PAST = {
    "create": "created",
    "update": "updated",
    "record": "recorded in the state only",
    "replace": "replaced",
    "delete": "deleted",
    "move": "moved",
    "close": "closed",
    "cancel": "cancelled",
}

_DONE = ("create", "update", "replace", "delete")
_SYMBOLS: dict[str, str] = {str(action): symbol for action, symbol in SYMBOLS.items()}  # events name more actions


LIST_LIMIT = 50  # past this many changes, plans and applies summarise per job instead of a line per resource


def plan_text(plan: Plan, *, header: str = "", paint: Painter = PLAIN, limit: int | None = None) -> str:
    """The familiar + / ~ / -/+ / - listing with a summary line; past `limit` changes, one line per job."""
    lines = [header, ""] if header else []
    pending = plan.pending()
    if not pending and not any(c.blocked for c in plan.changes):
        total = len(plan.changes)
        return "\n".join([*lines, f"No changes. {total} resource(s) match the manifest; nothing to submit."])
    blocked = [c for c in plan.changes if c.blocked]
    if limit is not None and 0 < limit < len(pending):
        lines += _grouped(pending, paint, limit)
    else:
        width = min(max(len(c.address) for c in pending + blocked), 60)
        for c in pending:
            lines.append(f"{paint.symbol(SYMBOLS[c.action])} {c.address:<{width}}  {c.action:<7}  {c.reason}")
    for c in blocked:
        reason = c.reason.removeprefix("blocked: ")
        lines.append(f"{paint.symbol('!')} {c.address}  {paint('blocked', 'red')}  {reason}")
    s = plan.summary()
    counts = [
        paint(f"{s['create']} to create", "green" if s["create"] else ""),
        paint(f"{s['update']} to update", "yellow" if s["update"] else ""),
        *([paint(f"{s['record']} to record in the state only (no provider call)", "")] if s["record"] else []),
        paint(f"{s['replace']} to replace", "yellow" if s["replace"] else ""),
        paint(f"{s['delete']} to delete", "red" if s["delete"] else ""),
        *([paint(f"{s['move']} to move (renamed in the state, no provider call)", "cyan")] if s["move"] else []),
    ]
    lines += ["", f"{paint('Plan:', 'bold')} {', '.join(counts)}, {s['noop']} unchanged."]
    return "\n".join(lines)


def _grouped(pending: Sequence[Change], paint: Painter, limit: int) -> list[str]:
    """One line per job, action and reason: `+ job.rabi[*]  create x 10000  new`."""
    groups: dict[tuple[str, str, str], int] = {}
    for c in pending:
        base, bracket, _ = c.address.partition("[")
        key = (base + ("[*]" if bracket else ""), c.action, c.reason)
        groups[key] = groups.get(key, 0) + 1
    ranked = sorted(groups.items(), key=lambda kv: (-kv[1], kv[0]))
    width = min(max(len(k[0]) for k, _ in ranked[:limit]), 60)
    out = [
        f"{paint.symbol(_SYMBOLS[action])} {where:<{width}}  {action} x {n:<6} {reason}"
        for (where, action, reason), n in ranked[:limit]
    ]
    if len(ranked) > limit:
        rest = sum(n for _, n in ranked[limit:])
        out.append(f"    ... {rest} more change(s) in {len(ranked) - limit} group(s)")
    out.append(f"    ({len(pending)} changes summarised per job; `--json` lists every one)")
    return out


def _plain(value: Any) -> Any:
    return dict(value) if isinstance(value, Mapping) else str(value)


def dump_json(value: Any, stream: IO[str] | None = None) -> None:
    json.dump(value, stream or sys.stdout, indent=2, sort_keys=True, default=_plain)
    (stream or sys.stdout).write("\n")


class EventPrinter:
    """Renders events as plain lines (people, CI logs) or JSON lines (--json)."""

    def __init__(self, stream: IO[str] | None = None, *, json_lines: bool = False, paint: Painter = PLAIN) -> None:
        self.stream = stream or sys.stdout
        self.json_lines = json_lines
        self.paint = paint

    def __call__(self, event: Event) -> None:
        if self.json_lines:
            self.stream.write(json.dumps({"event": event.kind(), **asdict(event)}, sort_keys=True, default=str) + "\n")
        else:
            line = self.text(event)
            if line is not None:
                self.stream.write(line + "\n")
        self.stream.flush()

    def text(self, event: Event) -> str | None:
        if isinstance(event, RunStarted):
            return f"{event.operation}: {event.changes} change(s) against {event.state}"
        paint = self.paint
        if isinstance(event, ResourceDone):
            sym = paint.symbol(_SYMBOLS.get(event.action, "*"))
            where = f" ({event.remote_id}, {event.status})" if event.remote_id else f" ({event.status})"
            error = paint(f": {event.detail['error']}", "red") if event.detail.get("error") else ""
            done = _PAST.get(event.action, event.action)
            if event.detail.get("moved_from"):
                done += f" from {event.detail['moved_from']}"
            return f"{sym} {event.address}: {done}{where}{error}"
        if isinstance(event, ResourceFailed):
            return f"{paint.symbol('!')} {event.address}: {paint(f'{event.action} failed: {event.error}', 'red')}"
        if isinstance(event, ResourceSkipped):
            return f"    {event.address}: not {_PAST.get(event.action, event.action)}: {event.reason}"
        if isinstance(event, StatusChanged):
            raw = f" ({event.raw})" if event.raw and event.raw.lower() != event.after else ""
            error = f": {event.detail['error']}" if event.detail.get("error") else ""
            return f"{paint.symbol('*')} {event.address}: {event.before} -> {event.after}{raw}{error}"
        if isinstance(event, Notice):
            prefix = {"error": "error", "warning": "warning"}.get(event.level, "note")
            return f"{paint(prefix, {'error': 'red-bold', 'warning': 'yellow'}.get(prefix, ''))}: {event.message}"
        if isinstance(event, RunFinished):
            s = event.summary
            shown = (
                *_DONE[:2],
                *(("record",) if s.get("record") else ()),
                *_DONE[2:],
                *(("move",) if s.get("move") else ()),
            )
            done = ", ".join(f"{s.get(k, 0)} {_PAST[k]}" for k in shown)
            extra = f", {s.get('failed', 0)} failed" + (f", {s['skipped']} skipped" if s.get("skipped") else "")
            if s.get("jobs_failed"):
                extra += f"; {s['jobs_failed']} job(s) ran and failed"
            word = {"ok": "complete", "failed": "finished with failures", "interrupted": "interrupted"}[event.outcome]
            head = paint(f"{event.operation.capitalize()} {word}:", "green" if event.outcome == "ok" else "red-bold")
            return f"{head} {done}{extra} ({event.seconds:.1f}s)."
        return None


def table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str], stream: IO[str] | None = None) -> None:
    """A plain aligned table."""
    out = stream or sys.stdout
    cells = [[_cell(r.get(c)) for c in columns] for r in rows]
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(columns)]
    out.write("  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=False)).rstrip() + "\n")
    for row in cells:
        out.write("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=False)).rstrip() + "\n")


def csv_records(records: Iterable[Mapping[str, Any]], columns: Sequence[str], stream: IO[str] | None = None) -> None:
    """Records as CSV with a header; None is an empty cell, numbers keep their repr (0.1 stays 0.1)."""
    writer = csv.DictWriter(stream or sys.stdout, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def counts_text(counts: Mapping[str, int], limit: int = 8) -> str:
    """Top outcomes: `00=512 11=488`."""
    top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    shown = " ".join(f"{k}={v}" for k, v in top[:limit])
    return shown + (f" (+{len(top) - limit} more)" if len(top) > limit else "")


def problems(lines: Iterable[str], stream: IO[str] | None = None) -> None:
    out = stream or sys.stderr
    for line in lines:
        out.write(line + "\n")


def planned_text(manifest: str, planned: Planned, *, paint: Painter = PLAIN, limit: int | None = None) -> str:
    """A plan as `runner plan` prints it: reconciliation and drift first, the changes, then their cost."""
    from runner.applying import reconcile
    from runner.planning import cost

    snap = planned.snapshot
    where = f"{snap.path} (serial {snap.serial})" if snap.exists else f"{snap.path} (new)"
    text = plan_text(planned.plan, header=f"Plan for {manifest} against {where}:", paint=paint, limit=limit)
    costs = cost.section_text(planned.estimates(), planned.expansion.budget)
    if costs:
        text += "\n\n" + "\n".join(costs)
    if planned.refreshed.drift:
        lines = "\n".join(f"{paint.symbol('~')} {d.address}: {d.message}" for d in planned.refreshed.drift)
        text = f"Changed outside runner (not a planned change):\n{lines}\n\n{text}"
    if planned.swept.duplicates or planned.swept.unchecked:
        found = [f"  ! {d.describe()}" for d in planned.swept.duplicates]
        found += [f"  ? {line}" for line in planned.swept.unchecked]
        text = "Sent twice by a run that lost the state lock:\n" + "\n".join(found) + f"\n\n{text}"
    if planned.findings:
        lines = "\n".join(f"  {line}" for line in reconcile.describe(list(planned.findings)))
        text = f"Reconciliation of interrupted submissions:\n{lines}\n\n{text}"
    if planned.plan.untargeted:
        text += f"\n{planned.plan.untargeted} other change(s) left out by --target/--exclude."
    return text
