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
from runner.planning.changes import Plan

if TYPE_CHECKING:
    from runner.app.pipeline import Planned

_PAST = {
    "create": "created",
    "update": "updated",
    "replace": "replaced",
    "delete": "deleted",
    "close": "closed",
    "cancel": "cancelled",
}

_SYMBOLS: dict[str, str] = {str(action): symbol for action, symbol in SYMBOLS.items()}  # events name more actions


def plan_text(plan: Plan, *, header: str = "") -> str:
    """The familiar + / ~ / -/+ / - listing with a summary line."""
    lines = [header, ""] if header else []
    pending = plan.pending()
    if not pending and not any(c.blocked for c in plan.changes):
        total = len(plan.changes)
        return "\n".join([*lines, f"No changes. {total} resource(s) match the manifest; nothing to submit."])
    blocked = [c for c in plan.changes if c.blocked]
    width = min(max(len(c.address) for c in pending + blocked), 60)
    for c in pending:
        lines.append(f"{SYMBOLS[c.action]:>3} {c.address:<{width}}  {c.action:<7}  {c.reason}")
    for c in blocked:
        lines.append(f"  ! {c.address:<{width}}  blocked  {c.reason.removeprefix('blocked: ')}")
    s = plan.summary()
    lines += [
        "",
        f"Plan: {s['create']} to create, {s['update']} to update, {s['replace']} to replace, "
        f"{s['delete']} to delete, {s['noop']} unchanged.",
    ]
    return "\n".join(lines)


def _plain(value: Any) -> Any:
    return dict(value) if isinstance(value, Mapping) else str(value)


def dump_json(value: Any, stream: IO[str] | None = None) -> None:
    json.dump(value, stream or sys.stdout, indent=2, sort_keys=True, default=_plain)
    (stream or sys.stdout).write("\n")


class EventPrinter:
    """Renders events as plain lines (people, CI logs) or JSON lines (--json)."""

    def __init__(self, stream: IO[str] | None = None, *, json_lines: bool = False) -> None:
        self.stream = stream or sys.stdout
        self.json_lines = json_lines

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
        if isinstance(event, ResourceDone):
            sym = _SYMBOLS.get(event.action, "*")
            where = f" ({event.remote_id}, {event.status})" if event.remote_id else f" ({event.status})"
            error = f": {event.detail['error']}" if event.detail.get("error") else ""
            return f"{sym:>3} {event.address}: {_PAST.get(event.action, event.action)}{where}{error}"
        if isinstance(event, ResourceFailed):
            return f"  ! {event.address}: {event.action} failed: {event.error}"
        if isinstance(event, ResourceSkipped):
            return f"    {event.address}: not {_PAST.get(event.action, event.action)}: {event.reason}"
        if isinstance(event, StatusChanged):
            raw = f" ({event.raw})" if event.raw and event.raw.lower() != event.after else ""
            error = f": {event.detail['error']}" if event.detail.get("error") else ""
            return f"  * {event.address}: {event.before} -> {event.after}{raw}{error}"
        if isinstance(event, Notice):
            prefix = {"error": "error", "warning": "warning"}.get(event.level, "note")
            return f"{prefix}: {event.message}"
        if isinstance(event, RunFinished):
            s = event.summary
            done = ", ".join(f"{s.get(k, 0)} {_PAST[k]}" for k in ("create", "update", "replace", "delete"))
            extra = f", {s.get('failed', 0)} failed" + (f", {s['skipped']} skipped" if s.get("skipped") else "")
            if s.get("jobs_failed"):
                extra += f"; {s['jobs_failed']} job(s) ran and failed"
            word = {"ok": "complete", "failed": "finished with failures", "interrupted": "interrupted"}[event.outcome]
            return f"{event.operation.capitalize()} {word}: {done}{extra} ({event.seconds:.1f}s)."
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


def planned_text(manifest: str, planned: Planned) -> str:
    """A plan as `runner plan` prints it: reconciliation and drift first, the changes, then their cost."""
    from runner.applying import reconcile
    from runner.planning import cost

    snap = planned.snapshot
    where = f"{snap.path} (serial {snap.serial})" if snap.exists else f"{snap.path} (new)"
    text = plan_text(planned.plan, header=f"Plan for {manifest} against {where}:")
    costs = cost.section_text(planned.estimates(), planned.expansion.budget)
    if costs:
        text += "\n\n" + "\n".join(costs)
    if planned.refreshed.drift:
        lines = "\n".join(f"  ~ {d.address}: {d.message}" for d in planned.refreshed.drift)
        text = f"Changed outside runner (not a planned change):\n{lines}\n\n{text}"
    if planned.findings:
        lines = "\n".join(f"  {line}" for line in reconcile.describe(list(planned.findings)))
        text = f"Reconciliation of interrupted submissions:\n{lines}\n\n{text}"
    if planned.plan.untargeted:
        text += f"\n{planned.plan.untargeted} other change(s) left out by --target/--exclude."
    return text
