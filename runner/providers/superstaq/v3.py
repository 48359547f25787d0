"""Superstaq API v0.3.0: one job per uuid with parallel per-circuit lists (JobData).

Jobs carry tags and metadata, so a submission is found again by its `runner-token:<token>`
tag. The API has no per-circuit cancel: the official client's `JobV3.cancel(index=...)` drops
the index before the request (it only lifts provider credentials out of its keyword
arguments) and so cancels the whole job; we refuse an index instead of doing that silently.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from runner.errors import RejectedError
from runner.providers.superstaq.wire import TOKEN_TAG, V3_STATUSES, Circuit, JobRequest, JobView, chunks, split_options

if TYPE_CHECKING:
    from runner.providers.http import HttpClient

VERSION = "v0.3.0"
FETCH_CHUNK = 100  # job ids per GET; keeps the query string near 4 KB
JOB_TYPES = ("submit", "simulate", "compile", "convert")
SIM_METHODS = ("sim", "noise-sim")
PRIORITIES = {"standard": 0, "high": 1}  # UNVERIFIED: the service documents only an integer


def body(req: JobRequest) -> dict[str, Any]:
    """A NewJob body, with the job type inferred from `method` as the official client does."""
    method, options = split_options(req.options)
    verbatim = bool(options.pop("verbatim", False))
    job_type, sim_method = "submit", None
    if method in JOB_TYPES:
        job_type, sim_method = method, ("sim" if method == "simulate" else None)
    elif method in SIM_METHODS:
        job_type, sim_method = "simulate", method
    return {
        "job_type": job_type,
        "target": req.target,
        "circuits": req.circuits,
        "circuit_type": "qiskit",
        "verbatim": verbatim,
        "shots": req.shots,
        "dry_run": method == "dry-run",
        "sim_method": sim_method,
        "priority": PRIORITIES.get(req.priority or "standard", 0),
        "options_dict": options,
        "tags": [*req.tags, f"{TOKEN_TAG}{req.token}"],
        "metadata": {**req.metadata, "runner_token": req.token},
    }


def view(job_id: str, data: Mapping[str, Any]) -> JobView:
    """A JobData object as a job view; a list shorter than the job's circuits counts as missing entries."""
    from runner.providers.superstaq.models import JobData, parse

    job = parse(JobData, data, "job")
    n = job.num_circuits or len(job.statuses)

    def column(values: Sequence[Any] | None) -> list[Any]:
        return [*(values or []), *[None] * (n - len(values or []))]

    statuses, messages, counts = column(job.statuses), column(job.status_messages), column(job.counts)
    shots, inputs = column(job.shots), column(job.input_circuits)
    circuits = tuple(
        Circuit(str(statuses[i] or "received"), messages[i], counts[i], shots[i], inputs[i]) for i in range(n)
    )
    return JobView(job_id, job.target or "", circuits)


def query(http: HttpClient, params: Mapping[str, Any], base: str = "") -> dict[str, dict[str, Any]]:
    """GET /client/job/qiskit with JobQuery fields (lists repeat the key); {uuid: JobData}."""
    headers = {"X-Client-Version": VERSION} if base else None
    response = http.request("GET", f"{base}/client/job/qiskit", params=params, headers=headers)
    found = response.json()
    return found if isinstance(found, dict) else {}


def timestamp(epoch: float) -> str:
    """An ISO-8601 UTC time for submitted_after/submitted_before."""
    return datetime.fromtimestamp(epoch, tz=timezone.utc).isoformat()


def submitted(data: Mapping[str, Any]) -> str:
    return str(data.get("submission_timestamp", ""))


class V3:
    """The v0.3.0 dialect."""

    version = VERSION
    table = V3_STATUSES

    def create(self, http: HttpClient, req: JobRequest) -> tuple[str, str | None]:
        response = http.request("POST", "/client/job", json_body=body(req), safe=False)
        return str(response.json()["job_id"]), None

    def fetch(self, http: HttpClient, remote_ids: Sequence[str]) -> dict[str, JobView]:
        found: dict[str, JobView] = {}
        for chunk in chunks(list(dict.fromkeys(remote_ids)), FETCH_CHUNK):
            jobs = query(http, {"job_id": chunk})
            found.update({job_id: view(job_id, data) for job_id, data in jobs.items() if job_id in chunk})
        return found

    def cancel(self, http: HttpClient, remote_id: str, index: int | None) -> None:
        if index is not None:
            raise RejectedError(
                f"Superstaq API {VERSION} cannot cancel one circuit of job {remote_id} (the official client's "
                "JobV3.cancel(index=...) cancels the whole job); cancel without an index, or use api_version v0.2.0"
            )
        http.request("PUT", "/client/cancel_jobs", json_body={"job_id": [remote_id]})

    def find(self, http: HttpClient, token: str, target: str, since: float | None) -> list[JobView]:
        tag = f"{TOKEN_TAG}{token}"
        jobs = query(http, {"tags": [tag]})
        mine = [
            (submitted(data), job_id, data)
            for job_id, data in jobs.items()
            if tag in (data.get("tags") or []) or (data.get("metadata") or {}).get("runner_token") == token
        ]
        return [view(job_id, data) for _, job_id, data in sorted(mine)]


def window(since: float | None, skew: float) -> dict[str, str]:
    """submitted_after/before around `since`, widened by `skew` for clock differences."""
    if since is None:
        return {}
    return {"submitted_after": timestamp(since - skew), "submitted_before": timestamp(time.time() + skew)}
