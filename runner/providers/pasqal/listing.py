"""Listing a Pasqal project's batches and jobs with the API's own filters and offset/limit pages.

`GET /api/v1/batches` takes BatchFilters (id, device_type, status, start_date, end_date, one
`tag`, project_id) and `GET /api/v2/jobs` JobFilters (id, batch_id, status, min_runs, max_runs,
start_date, end_date, project_id); both take `offset` and `limit` (at most 100) and answer with a
`pagination.total`, so N matches cost ceil(N / 100) requests. Batches are listed on the target's
device type. Only a second `--tag` is checked here (the API takes one); names, sessions and job
tags do not exist on Pasqal and are refused with a message.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from runner.domain.query import Listing, Query, RemoteItem, raw_for
from runner.errors import UsageError
from runner.providers.paging import Chunk, first_size, take
from runner.providers.pasqal.api import PasqalApi
from runner.providers.pasqal.wire import BATCH_STATUS, JOB_STATUS, TOKEN_TAG, status_of

PATHS = {"batches": "/api/v1/batches", "jobs": "/api/v2/jobs"}


def filters(query: Query, project: str, device: str) -> dict[str, Any]:
    """The query as BatchFilters or JobFilters (the names the API and the SDK use)."""
    refuse(query)
    found: dict[str, Any] = {"project_id": project, "id": list(query.ids) or None}
    found["start_date"], found["end_date"] = query.since, query.until
    if query.what == "batches":
        found["device_type"] = device
        found["status"] = list(raw_for(query.statuses, BATCH_STATUS)) or None
        found["tag"] = query.tags[0] if query.tags else None
    else:
        found["batch_id"] = query.parent
        found["status"] = list(raw_for(query.statuses, JOB_STATUS)) or None
        found["min_runs"], found["max_runs"] = query.min_runs, query.max_runs
    return {k: v for k, v in found.items() if v is not None}


def refuse(query: Query) -> None:
    """What Pasqal has no notion of, said plainly rather than answered with nothing."""
    if query.what == "sessions":
        raise UsageError("Pasqal Cloud has no sessions: list batches (runner remote batches) or their jobs")
    if query.name:
        raise UsageError(f"Pasqal {query.what} have no name to filter by: use --tag, --status or dates")
    if query.what == "jobs" and query.tags:
        raise UsageError("Pasqal jobs carry no tags: list the batches with --tag, then their jobs with --in BATCH")
    if query.what == "batches" and (query.parent or query.min_runs is not None or query.max_runs is not None):
        raise UsageError("--in, --min-runs and --max-runs apply to jobs: runner remote jobs TARGET --in BATCH")


def listing(api: PasqalApi, query: Query, project: str, device: str) -> Listing:
    """The query's window, newest first, from as few pages as it needs."""
    params = filters(query, project, device)
    extra = query.tags[1:]  # the API filters on one tag; the others are checked here
    keep = (lambda raw: set(extra) <= set(raw.get("tags") or [])) if extra else None
    before = api.http.calls
    raws, more, total = take(_chunks(api, PATHS[query.what], params, query, local=bool(extra)), query, keep)
    item = batch_item if query.what == "batches" else job_item
    local = ("tag (all but the first)",) if extra else ()
    return Listing(tuple(item(r) for r in raws), total, more, local, api.http.calls - before)


def _chunks(
    api: PasqalApi, path: str, params: Mapping[str, Any], query: Query, *, local: bool
) -> Iterator[Chunk[Mapping[str, Any]]]:
    offset = 0 if local else query.offset
    size = first_size(query, local)
    ordered = {**params, "order_by": "created_at", "order_by_direction": "DESC"}
    while True:
        page = api.page(path, ordered, offset, size)
        offset += len(page.items)
        yield Chunk(list(page.items), bool(page.items) and offset < page.total, page.total)
        if not page.items or offset >= page.total:
            return
        if not local and query.limit is not None:
            size = min(size, max(1, query.limit - (offset - query.offset)))


def batch_item(raw: Mapping[str, Any]) -> RemoteItem:
    """A batch (Batch+ids or Batch+jobs) as a remote item; runner's token tag is kept apart from the user's."""
    tags = [str(t) for t in raw.get("tags") or []]
    detail = {
        "open": raw.get("open"),
        "jobs_count": raw.get("jobs_count", len(raw.get("job_ids") or raw.get("jobs") or [])),
        "jobs_count_per_status": {k: v for k, v in sorted((raw.get("jobs_count_per_status") or {}).items()) if v},
        "project_id": raw.get("project_id"),
        "queue_priority": raw.get("queue_priority"),
        "start": raw.get("start_datetime"),
        "end": raw.get("end_datetime"),
        "runner_token": next((t.removeprefix(TOKEN_TAG) for t in tags if t.startswith(TOKEN_TAG)), None),
    }
    raw_status = str(raw.get("status", ""))
    return RemoteItem(
        "batch",
        str(raw["id"]),
        status_of(raw_status, BATCH_STATUS),
        raw_status,
        target=raw.get("device_type"),
        created=raw.get("created_at"),
        parent_id=raw.get("parent_id"),  # the batch it reruns (rebatch)
        tags=tuple(t for t in tags if not t.startswith(TOKEN_TAG)),
        detail={k: v for k, v in detail.items() if v not in (None, {})},
    )


def job_item(raw: Mapping[str, Any]) -> RemoteItem:
    """A job as a remote item; its batch is its parent, the job it reruns is detail['rerun_of']."""
    detail = {
        "runs": raw.get("runs"),
        "variables": raw.get("variables") or {},
        "errors": list(raw.get("errors") or []),
        "start": raw.get("start_timestamp"),
        "end": raw.get("end_timestamp"),
        "rerun_of": raw.get("parent_id"),
    }
    raw_status = str(raw.get("status", ""))
    return RemoteItem(
        "batch_job",
        str(raw["id"]),
        status_of(raw_status, JOB_STATUS),
        raw_status,
        created=raw.get("created_at"),
        parent_id=raw.get("batch_id"),
        detail={k: v for k, v in detail.items() if v not in (None, [])},
    )


def workload_item(raw: Mapping[str, Any]) -> RemoteItem:
    """A workload as a remote item (workloads have no list call: only read by id)."""
    raw_status = str(raw.get("status", ""))
    detail = {
        "backend": raw.get("backend"),
        "workload_type": raw.get("workload_type"),
        "errors": list(raw.get("errors") or []),
        "start": raw.get("start_timestamp"),
        "end": raw.get("end_timestamp"),
    }
    return RemoteItem(
        "workload",
        str(raw["id"]),
        status_of(raw_status, BATCH_STATUS),
        raw_status,
        target=raw.get("backend"),
        created=raw.get("created_at"),
        detail={k: v for k, v in detail.items() if v not in (None, [])},
    )
