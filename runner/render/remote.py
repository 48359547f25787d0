"""Text for what the services hold: remote listings, target descriptions, a session's or batch's view.

The status column always keeps the service's own word beside runner's when they differ
(`running (Failure(s))`, `succeeded (DONE)`), so nothing a service says is hidden by the mapping.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import IO, TYPE_CHECKING, Any

from runner.render.output import table

if TYPE_CHECKING:
    from runner.app.remote import Description, RemoteList


def status_text(status: str | None, raw: str | None) -> str:
    """`failed (Failure(s))`: runner's status, and the provider's word when it says something else."""
    shown = status or "-"
    return f"{shown} ({raw})" if raw and raw.lower() != shown.lower() else shown


def managed_text(address: str | None) -> str:
    return f"managed as {address}" if address else "not managed"


def listing_rows(found: RemoteList) -> tuple[list[dict[str, Any]], list[str]]:
    """Table rows and columns for a listing; the columns depend on what was listed."""
    rows = []
    for row in found.rows:
        item = row.item
        cells: dict[str, Any] = {
            "remote_id": item.remote_id,
            "status": status_text(item.status, item.raw_status),
            "created": (item.created or "")[:19] or None,
            "name": item.name,
            "tags": ",".join(item.tags) or None,
            "in": item.parent_id,
            "managed": managed_text(row.managed_as),
        }
        if item.kind == "batch":
            per = item.detail.get("jobs_count_per_status") or {}
            cells["jobs"] = " ".join(f"{k}={v}" for k, v in sorted(per.items())) or item.detail.get("jobs_count")
        if item.kind == "batch_job":
            cells["runs"] = item.detail.get("runs")
            cells["variables"] = _compact(item.detail.get("variables"))
        rows.append(cells)
    columns = {
        "jobs": ["remote_id", "status", "created", "name", "tags", "in", "managed"],
        "batches": ["remote_id", "status", "created", "jobs", "tags", "managed"],
        "sessions": ["remote_id", "status", "created", "name", "managed"],
    }[found.what]
    if found.provider == "pasqal" and found.what == "jobs":
        columns = ["remote_id", "status", "created", "runs", "variables", "in", "managed"]
    return rows, columns


def listing_text(found: RemoteList, stream: IO[str]) -> None:
    """The table, then one line saying how much there is and how it was asked."""
    if found.rows:
        rows, columns = listing_rows(found)
        table(rows, columns, stream)
    else:
        stream.write(f"No {found.what} on target '{found.target}' match.\n")
    stream.write(summary(found) + "\n")


def summary(found: RemoteList) -> str:
    total = f" of {found.total}" if found.total is not None else ""
    managed = sum(1 for r in found.rows if r.managed_as)
    parts = [f"{len(found.rows)}{total} {found.what} from {found.provider} target '{found.target}'"]
    parts.append(f"{managed} managed by runner")
    parts.append(f"{found.requests} request(s)")
    line = ", ".join(parts) + "."
    if found.local:
        line += f" Filtered by runner, not the service: {', '.join(found.local)}."
    if found.next_offset is not None:
        line += f" More: --offset {found.next_offset} (or --all)."
    return line


def description_text(found: Sequence[Description], stream: IO[str]) -> None:
    """Each target's description: where it came from, then its fields (nested ones summarised)."""
    for d in found:
        when = f", {d.captured_at}" if d.captured_at else ""
        where = {"service": "from the service", "snapshot": "from the state's last snapshot"}.get(
            d.source, "no description"
        )
        stream.write(f"{d.target}  ({d.provider} {d.name}; {where}{when})\n")
        if d.error:
            stream.write(f"  note: {d.error}\n")
        for key, value in _flat(d.description):
            stream.write(f"  {key}: {value}\n")


def _flat(body: Mapping[str, Any], prefix: str = "", depth: int = 0) -> list[tuple[str, str]]:
    """Scalars as they are; one level of nested objects spelled out; deeper ones and lists summarised."""
    out: list[tuple[str, str]] = []
    for key in sorted(body):
        value, name = body[key], f"{prefix}{key}"
        if isinstance(value, Mapping) and depth < 1:
            out += _flat(value, f"{name}.", depth + 1)
        elif isinstance(value, (Mapping, list)):
            out.append((name, _compact(value, 100) or "-"))
        else:
            out.append((name, str(value)))
    return out


def _compact(value: Any, limit: int = 60) -> str | None:
    if value is None:
        return None
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


SESSION_FIELDS = ("created_by", "priority", "begin_execution_time", "end_execution_time", "session_cost", "usage")


def remote_lines(remote: Mapping[str, Any]) -> list[str]:
    """`show`'s section on what the service reports: the object, then a session's or batch's jobs."""
    if "error" in remote:
        return [f"  service:     could not be asked: {remote['error']}"]
    item = remote["item"]
    lines = [f"  service:     {status_text(item['status'], item['raw_status'])}  (as the service reports it now)"]
    detail = item.get("detail") or {}
    for key in (
        "created_by",
        "created_by_type",
        "priority",
        "job_failure_policy",
        "begin_execution_time",
        "end_execution_time",
        "session_cost",
        "cost",
        "usage",
        "error",
        "errors",
    ):
        value = detail.get(key)
        if value not in (None, [], {}):
            lines.append(f"    {key + ':':<22}{value if isinstance(value, str) else _compact(value, 90)}")
    if item.get("created"):
        lines.append(f"    {'created:':<22}{item['created']}")
    if item["kind"] == "session":  # SessionDetails fields people ask for; say which the service left out
        absent = [k for k in SESSION_FIELDS if detail.get(k) in (None, [], {})]
        if absent:
            lines.append(f"    {'not sent:':<22}{', '.join(absent)}")
    for i, c in enumerate(detail.get("circuits") or []):
        message = f": {c['message']}" if c.get("message") else ""
        compiled = ", compiled" if c.get("compiled") else ""
        lines.append(f"    circuit {i}: {c['status']}{compiled}{message}")
    jobs = remote.get("jobs")
    if jobs is not None:
        lines.append(f"  jobs at the service ({len(jobs)}):")
        for j in jobs:
            extra = ""
            if j["kind"] == "batch_job":
                extra = f"  runs={j['detail'].get('runs')} variables={_compact(j['detail'].get('variables'))}"
            shown = status_text(j["status"], j["raw_status"])
            lines.append(f"    {j['remote_id']}  {shown}{extra}  {managed_text(j['managed_as'])}")
    return lines
