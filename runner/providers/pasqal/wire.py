"""Pasqal's batches, jobs and workloads as runner observations and results.

Statuses map onto runner's vocabulary and the raw text is always kept. A batch that is DONE
succeeded even when some of its jobs ended in ERROR (that is how Pasqal reports it); the jobs'
counts per status go into the detail so `status` shows them. A status this module does not know
becomes `unknown`, which refresh and wait report instead of waiting on it.

Bitstrings are kept in Pasqal's (pulser's) order: the leftmost character is the first atom of
the register, "1" meaning the atom was measured excited. Qiskit's counts read the other way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from runner.domain.remote import Observation, Result
from runner.domain.vocabulary import CANCELLED, FAILED, PENDING, RUNNING, SUCCEEDED, TIMED_OUT, UNKNOWN, Status
from runner.errors import ProviderError
from runner.providers.base import Submission

BATCH_STATUS: dict[str, Status] = {
    "PENDING": PENDING,
    "RUNNING": RUNNING,
    "DONE": SUCCEEDED,
    "CANCELED": CANCELLED,
    "CANCELING": RUNNING,  # still stopping: not final yet
    "TIMED_OUT": TIMED_OUT,
    "ERROR": FAILED,
    "PAUSED": PENDING,  # an operator pause; it resumes later
}
JOB_STATUS: dict[str, Status] = {
    "PENDING": PENDING,
    "RUNNING": RUNNING,
    "DONE": SUCCEEDED,
    "ERROR": FAILED,
    "CANCELED": CANCELLED,
    "CANCELING": RUNNING,
}
TOKEN_TAG = "runner-token:"


def status_of(raw: str, table: Mapping[str, Status]) -> Status:
    """Runner's status for a raw one; unknown text maps to UNKNOWN."""
    return table.get(raw, UNKNOWN)


def job_observation(job: Mapping[str, Any]) -> Observation:
    """A job as an observation; its errors list becomes detail['error']."""
    raw = str(job.get("status", ""))
    detail: dict[str, Any] = {"batch_id": job.get("batch_id"), "runs": job.get("runs")}
    if job.get("parent_id"):
        detail["parent_id"] = job["parent_id"]
    errors = job.get("errors") or []
    if errors:
        detail["error"] = "; ".join(str(e) for e in errors)
    return Observation(str(job["id"]), status_of(raw, JOB_STATUS), raw, detail)


def batch_observation(
    batch: Mapping[str, Any], jobs: Sequence[Mapping[str, Any]] | None = None, error: str | None = None
) -> Observation:
    """A batch as an observation; `jobs` (in creation order) become its children."""
    raw = str(batch.get("status", ""))
    listed = jobs if jobs is not None else batch.get("jobs") or []
    detail: dict[str, Any] = {"open": bool(batch.get("open")), "device_type": batch.get("device_type")}
    counts = batch.get("jobs_count_per_status") or _count(listed)
    if counts:
        detail["jobs"] = {k: v for k, v in sorted(counts.items()) if v}
    if batch.get("parent_id"):
        detail["parent_id"] = batch["parent_id"]
    if isinstance(batch.get("tags"), list):  # the user's tags, without runner's own token tag
        detail["tags"] = sorted(str(t) for t in batch["tags"] if not str(t).startswith("runner-token:"))
    if error:
        detail["error"] = error
    children = tuple(job_observation(j) for j in listed)
    return Observation(str(batch["id"]), status_of(raw, BATCH_STATUS), raw, detail, children=children)


def _count(jobs: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for job in jobs:
        counts[str(job.get("status"))] = counts.get(str(job.get("status")), 0) + 1
    return counts


def workload_observation(workload: Mapping[str, Any]) -> Observation:
    """A workload as an observation."""
    raw = str(workload.get("status", ""))
    detail: dict[str, Any] = {"backend": workload.get("backend"), "workload_type": workload.get("workload_type")}
    errors = workload.get("errors") or []
    if errors:
        detail["error"] = "; ".join(str(e) for e in errors)
    return Observation(str(workload["id"]), status_of(raw, BATCH_STATUS), raw, detail)


def missing(remote_id: str) -> Observation:
    """What observe reports for an id the API does not know."""
    return Observation(remote_id, UNKNOWN, "", {"missing": True})


def job_result(job_id: str, document: Mapping[str, Any]) -> Result:
    """A results document (`counter`, `raw`, ...) as a Result; shots are the counted runs."""
    counter = {str(k): int(v) for k, v in (document.get("counter") or {}).items()}
    data: dict[str, Any] = {"job_id": job_id, "bit_order": "register order (leftmost = first atom)"}
    data.update({k: v for k, v in document.items() if k not in ("counter", "raw", "serialised_results")})
    return Result(counts=(counter,), shots=sum(counter.values()), data=data)


def token_tag(token: str) -> str:
    """The tag that marks a batch as created for one runner submission."""
    return f"{TOKEN_TAG}{token}"


def job_key(runs: Any, variables: Mapping[str, Any] | None) -> str:
    """What tells batch jobs apart for matching: their runs and variables (2.0 and 2 are the same)."""
    import json

    return json.dumps([runs, _canonical(dict(variables or {}))], sort_keys=True, default=str)


def _canonical(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    return value


def job_body(sub: Submission) -> dict[str, Any]:
    """A batch job submission as the API's job object."""
    return {"runs": int(sub.spec["runs"]), "variables": dict(sub.spec.get("variables") or {})}


def added(
    jobs: Sequence[Mapping[str, Any]], before: int, subs: Sequence[Submission], batch_id: str
) -> list[Observation]:
    """For each submission, the first unclaimed job after the first `before` with its runs and variables."""
    fresh = list(jobs[before:])
    out: list[Observation] = []
    for sub in subs:
        key = job_key(sub.spec.get("runs"), sub.spec.get("variables"))
        index = next((i for i, j in enumerate(fresh) if job_key(j.get("runs"), j.get("variables")) == key), None)
        if index is None:
            raise ProviderError(f"{sub.address}: batch {batch_id} answered without the added job")
        out.append(job_observation(fresh.pop(index)))
    return out
