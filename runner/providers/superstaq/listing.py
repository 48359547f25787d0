"""Listing Superstaq jobs with the v0.3.0 JobQuery: `GET /client/job/qiskit?target_name=..&status=..&tags=..`.

JobQuery (general-superstaq 0.5.70 `models.JobQuery`) filters by user_email, job_id, target_name,
status, tags, min/max priority and submitted_before/after: values of one field are OR-ed, fields
AND-ed. It has no pagination, so one request answers every match and the window (offset, limit)
is cut here. Two filters are finished here, and Listing.local says so: `status` matches a job on
the service when *any* of its circuits has it, runner keeps the jobs whose overall status (the
priority order) matches; several `--tag`s are OR-ed by the service, runner keeps jobs carrying
all of them. Jobs have no names: runner shows the address its circuits carry, when they carry one.

API v0.2.0 has no listing call: like `find`, a v0.2.0 target asks the same service's v0.3.0 query
and names circuit i of job J `J_i` (UNVERIFIED against the real service, see v2.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from runner.domain.query import Listing, Query, RemoteItem, raw_for
from runner.domain.vocabulary import UNKNOWN, Status
from runner.errors import UsageError
from runner.providers.superstaq import v3
from runner.providers.superstaq.v2 import circuit_ids
from runner.providers.superstaq.wire import TOKEN_TAG, V2_STATUSES, V3_STATUSES, JobView, aggregate

if TYPE_CHECKING:
    from runner.providers.http import HttpClient

STATUS: dict[str, Status] = {raw: ours for raw, (_, ours) in V3_STATUSES.items()}


def job_query(query: Query, target: str) -> dict[str, Any]:
    """The query as JobQuery fields."""
    if query.what != "jobs":
        raise UsageError(f"Superstaq has no {query.what}: list jobs (runner remote jobs)")
    if query.name or query.parent or query.min_runs is not None or query.max_runs is not None:
        raise UsageError("Superstaq jobs have no names, containers or runs to filter by: use --status, --tag, dates")
    words = [_v3_word(w) for w in query.statuses]
    found: dict[str, Any] = {
        "target_name": [target],
        "status": list(raw_for(words, STATUS)) or None,
        "tags": list(query.tags) or None,
        "job_id": list(query.ids) or None,
        "submitted_after": _utc(query.since) if query.since else None,
        "submitted_before": _utc(query.until) if query.until else None,
    }
    return {k: v for k, v in found.items() if v is not None}


def _v3_word(word: str) -> str:
    """A v0.2.0 status name (Done, Failed...) as runner's word, which expands to v0.3.0 statuses."""
    v2 = {k.lower(): ours for k, (_, ours) in V2_STATUSES.items()}
    return v2[word.lower()] if word.lower() in v2 and word.lower() not in STATUS else word


def _utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).isoformat()


def listing(http: HttpClient, query: Query, target: str, *, base: str = "", v2_ids: bool = False) -> Listing:
    """The query's window, newest first, from the one answer the service gives."""
    if v2_ids and query.tags:
        raise UsageError("Superstaq API v0.2.0 keeps no tags, so no job can match --tag: filter by status or dates")
    params = job_query(query, target)
    before = http.calls
    answer = v3.query(http, params, base=base)
    wanted = set(raw_for([_v3_word(w) for w in query.statuses], STATUS))
    local = ["offset/limit (the job query has no pagination)"]
    if wanted:
        local.append("status (overall, not any circuit)")
    if len(query.tags) > 1:
        local.append("tag (all of them)")
    items = [
        item(job_id, data, v2_ids=v2_ids)
        for job_id, data in answer.items()
        if isinstance(data, Mapping)
        and (not wanted or _overall(data) in wanted)
        and set(query.tags) <= set(data.get("tags") or [])
    ]
    items.sort(key=lambda i: (i.created or "", i.remote_id), reverse=True)
    end = None if query.limit is None else query.offset + query.limit
    window = items[query.offset : end]
    more = end is not None and len(items) > end
    return Listing(tuple(window), len(items), more, tuple(local), http.calls - before)


def _overall(data: Mapping[str, Any]) -> str:
    return aggregate([str(s or "received") for s in data.get("statuses") or []], V3_STATUSES)[0]


def item(job_id: str, data: Mapping[str, Any], *, v2_ids: bool = False) -> RemoteItem:
    """JobData as a remote item: the overall status, and each circuit's status, message and counts."""
    statuses = [str(s or "received") for s in data.get("statuses") or []]
    n = int(data.get("num_circuits") or len(statuses))
    raw, ours = aggregate(statuses, V3_STATUSES) if statuses else ("", UNKNOWN)
    tags = [str(t) for t in data.get("tags") or []]
    return RemoteItem(
        "job",
        circuit_ids(job_id, n) if v2_ids else job_id,
        ours,
        raw,
        target=data.get("target"),
        name=_address(data),
        created=data.get("submission_timestamp"),
        tags=tuple(t for t in tags if not t.startswith(TOKEN_TAG)),
        detail=_detail(job_id, data, statuses),
    )


def _detail(job_id: str, data: Mapping[str, Any], statuses: list[str]) -> dict[str, Any]:
    def column(key: str) -> list[Any]:
        values = list(data.get(key) or [])
        return values + [None] * (len(statuses) - len(values))

    compiled, counts, messages = column("compiled_circuits"), column("counts"), column("status_messages")
    shots, updated = column("shots"), column("last_updated_timestamp")
    circuits = [
        {
            "status": statuses[i],
            "message": messages[i],
            "shots": shots[i],
            "compiled": compiled[i] is not None,
            "has_counts": counts[i] is not None,
            "last_updated": updated[i],
        }
        for i in range(len(statuses))
    ]
    out = {
        "job_id": job_id,
        "job_type": data.get("job_type"),
        "num_circuits": data.get("num_circuits"),
        "dry_run": data.get("dry_run"),
        "user_email": data.get("user_email"),
        "metadata": {k: v for k, v in (data.get("metadata") or {}).items() if k != "runner_token"},
        "runner_token": (data.get("metadata") or {}).get("runner_token"),
        "circuits": circuits,
        "compiled_circuits": compiled,  # base64 QPY, as to_dict() / job_data hold them
    }
    return {k: v for k, v in out.items() if v not in (None, {})}


def _address(data: Mapping[str, Any]) -> str | None:
    """The address runner put into the first circuit's metadata (or its name), if the circuit is readable."""
    circuits = data.get("input_circuits") or []
    if not circuits or not isinstance(circuits[0], str):
        return None
    try:
        from runner.quantum.circuits import from_qpy_b64

        first = from_qpy_b64(circuits[0])[0]
    except Exception:  # a circuit runner cannot read (cirq JSON, a newer QPY): no name, still listed
        return None
    address = (first.metadata or {}).get("runner_address")
    return str(address) if address else None


def from_view(view: JobView, table: Mapping[str, tuple[int, Status]]) -> RemoteItem:
    """A v0.2.0 job (its circuits fetched by id) as a remote item."""
    statuses = [c.status for c in view.circuits]
    raw, ours = aggregate(statuses, table)
    circuits = [
        {"status": c.status, "message": c.error, "shots": c.shots, "has_counts": c.counts is not None}
        for c in view.circuits
    ]
    return RemoteItem(
        "job",
        view.remote_id,
        ours,
        raw,
        target=view.target,
        detail={"num_circuits": len(statuses), "circuits": circuits},
    )
