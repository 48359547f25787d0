"""The Pasqal emulator's records and how they look on the wire: batches, jobs, workloads.

Also the list machinery the API documents: filters (a single value is equality, repeated keys are
membership, booleans arrive as `True`/`False`), `order_by` / `order_by_direction`, and offset/limit
pagination with the JSend `pagination` block and a `Content-Range` header.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http import HTTPStatus
from typing import Any

from runner.emulators.server import Response

USER_ID = "00000000-0000-0000-0000-000000000001"
DEFAULT_PROJECT = "00000000-0000-0000-0000-0000000000aa"
JOB_STATUSES = ("PENDING", "RUNNING", "DONE", "ERROR", "CANCELED")
TERMINAL = frozenset({"DONE", "ERROR", "CANCELED", "TIMED_OUT"})
MAX_LIMIT = 100


class Invalid(ValueError):
    """A request the API rejects with 422; `loc` says where in it."""

    def __init__(self, loc: Sequence[str | int], msg: str) -> None:
        super().__init__(msg)
        self.loc, self.msg = list(loc), msg


class NotFound(Exception):
    """An id the emulator does not know: answered with a JSend 404."""


def now() -> str:
    return datetime.now(timezone.utc).isoformat()


@dataclass
class Job:
    id: str
    batch_id: str
    project_id: str
    runs: int
    variables: dict[str, Any] | None
    seq: int
    sequence: str | None = None
    parent_id: str | None = None
    status: str = "PENDING"
    errors: list[str] | None = None
    created_at: str = field(default_factory=now)
    updated_at: str = field(default_factory=now)
    start_timestamp: str | None = None
    end_timestamp: str | None = None
    result: dict[str, Any] | None = None
    signature: str = ""

    def set(self, status: str, errors: list[str] | None = None) -> None:
        self.status, self.updated_at = status, now()
        if errors:
            self.errors = errors
        if status == "RUNNING":
            self.start_timestamp = self.updated_at
        elif status in TERMINAL:
            self.end_timestamp = self.updated_at

    def wire(self, with_sequence: bool = False) -> dict[str, Any]:
        out = {
            "id": self.id,
            "batch_id": self.batch_id,
            "project_id": self.project_id,
            "user_id": USER_ID,
            "status": self.status,
            "runs": self.runs,
            "variables": self.variables,
            "errors": self.errors,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "creation_order": self.seq,
            "start_timestamp": self.start_timestamp,
            "end_timestamp": self.end_timestamp,
            "parent_id": self.parent_id,
        }
        if with_sequence:
            out["sequence"] = self.sequence
        return out


@dataclass
class Batch:
    id: str
    project_id: str
    device_type: str
    sequence_builder: str | None
    open: bool
    seq: int
    webhook: str | None = None
    configuration: dict[str, Any] | None = None
    backend_configuration: str | None = None
    tags: list[str] = field(default_factory=list)
    parent_id: str | None = None
    status: str = "PENDING"
    job_ids: list[str] = field(default_factory=list)
    broken: str | None = None  # why the batch's own sequence cannot run: the batch ends in ERROR
    busy: bool = False  # a job is running on the device
    created_at: str = field(default_factory=now)
    updated_at: str = field(default_factory=now)
    start_datetime: str | None = None
    end_datetime: str | None = None

    def set(self, status: str) -> None:
        self.status, self.updated_at = status, now()
        if status == "RUNNING":
            self.start_datetime = self.updated_at
        elif status in TERMINAL:
            self.end_datetime = self.updated_at

    def counts(self, jobs: Mapping[str, Job]) -> dict[str, int]:
        counts = dict.fromkeys(JOB_STATUSES, 0)
        for job_id in self.job_ids:
            counts[jobs[job_id].status] += 1
        return counts

    def wire(self, jobs: Mapping[str, Job], *, embed: bool) -> dict[str, Any]:
        """Batch+jobs when `embed`, else Batch+ids (with the sequence)."""
        out: dict[str, Any] = {
            "id": self.id,
            "open": self.open,
            "complete": not self.open,
            "status": self.status,
            "device_type": self.device_type,
            "project_id": self.project_id,
            "user_id": USER_ID,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "priority": 0,
            "queue_priority": "MEDIUM",
            "webhook": self.webhook,
            "start_datetime": self.start_datetime,
            "end_datetime": self.end_datetime,
            "device_status": "UP",
            "parent_id": self.parent_id,
            "configuration": self.configuration,
            "backend_configuration": self.backend_configuration,
            "tags": list(self.tags),
            "jobs_count": len(self.job_ids),
            "jobs_count_per_status": self.counts(jobs),
        }
        if embed:
            out["jobs"] = [jobs[j].wire() for j in self.job_ids]
        else:
            out["job_ids"] = list(self.job_ids)
            out["sequence_builder"] = self.sequence_builder
        return out


@dataclass
class Workload:
    id: str
    project_id: str
    workload_type: str
    backend: str
    config: dict[str, Any]
    status: str = "PENDING"
    errors: list[str] | None = None
    result: dict[str, Any] | None = None
    created_at: str = field(default_factory=now)
    updated_at: str = field(default_factory=now)
    start_timestamp: str | None = None
    end_timestamp: str | None = None

    def set(self, status: str) -> None:
        self.status, self.updated_at = status, now()
        if status == "RUNNING":
            self.start_timestamp = self.updated_at
        elif status in TERMINAL:
            self.end_timestamp = self.updated_at

    def wire(self, base_url: str) -> dict[str, Any]:
        link = f"{base_url}/workload-results/{self.id}" if self.result is not None else None
        return {
            "id": self.id,
            "project_id": self.project_id,
            "user_id": USER_ID,
            "status": self.status,
            "backend": self.backend,
            "workload_type": self.workload_type,
            "config": self.config,
            "errors": self.errors,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "start_timestamp": self.start_timestamp,
            "end_timestamp": self.end_timestamp,
            "result": None,
            "result_link": link,
        }


JOB_FIELDS: dict[str, Callable[[Any], Any]] = {
    "id": lambda j: j.id,
    "project_id": lambda j: j.project_id,
    "user_id": lambda j: USER_ID,
    "batch_id": lambda j: j.batch_id,
    "status": lambda j: j.status,
    "min_runs": lambda j: j.runs,
    "max_runs": lambda j: j.runs,
    "errors": lambda j: bool(j.errors),
    "start_date": lambda j: j.created_at,
    "end_date": lambda j: j.created_at,
}
SELECT_FIELDS = ("id", "status", "min_runs", "max_runs", "start_date", "end_date")  # rebatch and cancel-jobs


# envelopes --------------------------------------------------------------------------------------
def ok(data: Any, status: int = 200, pagination: Mapping[str, int] | None = None) -> Response:
    """A JSend success envelope."""
    body: dict[str, Any] = {
        "status": "success",
        "message": HTTPStatus(status).phrase + ".",
        "code": status,
        "data": data,
    }
    headers: dict[str, str] = {}
    if pagination is not None:
        body["pagination"] = dict(pagination)
        start, end, total = pagination["start"], pagination["end"], pagination["total"]
        headers["Content-Range"] = f"{start}-{end - 1}/{total}" if end > start else f"*/{total}"
        headers["Access-Control-Expose-Headers"] = "Content-Range"
    return Response(status, body, headers)


def fail(status: int, description: Any) -> Response:
    """A JSend error envelope (always JSON: the SDK cannot format anything else)."""
    return Response(
        status,
        {"status": "fail", "message": HTTPStatus(status).phrase, "code": status, "data": {"description": description}},
    )


def invalid(exc: Invalid) -> Response:
    return fail(422, [{"loc": exc.loc, "msg": exc.msg, "type": "value_error"}])


# lists ------------------------------------------------------------------------------------------
Query = Mapping[str, list[str]]


def flag(value: str, name: str) -> bool:
    """A query boolean: the SDK sends Python's True/False; lower case is accepted too."""
    lowered = value.lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise Invalid(["query", name], f"value is not a valid boolean: {value!r}")


def _number(value: str, name: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise Invalid(["query", name], f"value is not a valid integer: {value!r}") from None


def matcher(q: Query, fields: Mapping[str, Callable[[Any], Any]]) -> Callable[[Any], bool]:
    """Whether a record passes every filter present in the query (unknown keys are ignored).

    Built once per request: a listing of 10,000 jobs filtered by 100 ids must not parse the query
    again, or scan the id list, for every job.
    """
    tests = [(getter, _test(name, values)) for name, values in q.items() if values and (getter := fields.get(name))]
    return lambda record: all(test(getter(record)) for getter, test in tests)


def _test(name: str, values: list[str]) -> Callable[[Any], bool]:
    if name in ("start_date", "end_date"):
        moment, start = datetime.fromisoformat(values[-1]), name == "start_date"

        def by_date(actual: Any) -> bool:
            created = datetime.fromisoformat(actual)
            if moment.tzinfo is None:
                created = created.replace(tzinfo=None)
            return created >= moment if start else created <= moment

        return by_date
    if name.startswith(("min_", "max_")):
        bound, least = _number(values[-1], name), name.startswith("min_")
        return lambda actual: bool(actual >= bound if least else actual <= bound)
    accepted, last = frozenset(values), values[-1]

    def by_value(actual: Any) -> bool:
        if isinstance(actual, bool):
            return actual == flag(last, name)
        if isinstance(actual, list):  # tags: the record has the value
            return last in actual
        return str(actual) in accepted

    return by_value


def listing(records: list[Any], q: Query, wire: Callable[[Any], dict[str, Any]], default_order: str) -> Response:
    """Sort, page and envelope a filtered list."""
    order = (q.get("order_by") or [default_order])[-1]
    direction = (q.get("order_by_direction") or ["DESC"])[-1].upper()
    if direction not in ("ASC", "DESC"):
        raise Invalid(["query", "order_by_direction"], "must be ASC or DESC")
    key = "seq" if order in ("creation_order", "created_at") else order
    if records and not hasattr(records[0], key):
        raise Invalid(["query", "order_by"], f"cannot order by {order!r}")

    def sort_key(record: Any) -> tuple[bool, Any, int]:
        value = getattr(record, key)
        return (value is None, "" if value is None else value, record.seq)

    records = sorted(records, key=sort_key, reverse=direction == "DESC")
    offset = _number((q.get("offset") or ["0"])[-1], "offset")
    limit = _number((q.get("limit") or [str(MAX_LIMIT)])[-1], "limit")
    if offset < 0 or not 1 <= limit <= MAX_LIMIT:
        raise Invalid(["query", "limit"], f"offset must be >= 0 and limit between 1 and {MAX_LIMIT}")
    page = [wire(r) for r in records[offset : offset + limit]]
    end = offset + len(page)
    return ok(page, pagination={"total": len(records), "start": offset, "offset": offset, "end": end})
