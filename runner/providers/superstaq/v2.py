"""Superstaq API v0.2.0: one id per circuit; runner's remote id is those ids joined with ','.

v0.2.0 keeps neither tags nor metadata and has no listing call. To find a submission again we
ask the same service's v0.3.0 JobQuery for jobs on the target submitted around `since`, match
the token inside each input circuit (its QPY name and metadata), and name circuit i of v0.3.0
job J as the v0.2.0 id `J_i`. Both halves are assumptions that hold in `runner emulate
superstaq` and are UNVERIFIED against the real service: that v0.2.0 jobs are visible through
the v0.3.0 query, and that ids map this way. Without `since` every job on the target is
searched. The mapped ids are checked with /fetch_jobs before they are adopted; if they do not
exist we raise rather than report "not found", because "not found" makes the caller create the
job a second time.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from runner.errors import NotFoundError, ProviderError, RejectedError
from runner.providers.superstaq import v3
from runner.providers.superstaq.wire import (
    V2_STATUSES,
    Circuit,
    JobRequest,
    JobView,
    carries_token,
    chunks,
    split_options,
    v2_options,
)

if TYPE_CHECKING:
    from runner.providers.http import HttpClient

VERSION = "v0.2.0"
FETCH_CHUNK = 500  # circuit ids per /fetch_jobs request
SKEW_S = 300.0  # clock difference tolerated between us and the service when matching by time


def body(req: JobRequest) -> dict[str, Any]:
    """A POST /jobs body; tags and metadata are not sent (v0.2.0 drops them)."""
    method, options = split_options(req.options)
    out: dict[str, Any] = {"qiskit_circuits": req.circuits, "target": req.target, "shots": req.shots}
    if method is not None:
        out["method"] = method
    if options:
        out["options"] = v2_options(options)
    return out


def circuit(job: dict[str, Any]) -> Circuit:
    """One per-circuit job dict; a missing status counts as Submitted, as the qiskit client does."""
    from runner.providers.superstaq.models import CircuitJob, parse

    seen = parse(CircuitJob, job, "job")
    error = seen.failure.error if seen.failure is not None else None
    return Circuit(seen.status or "Submitted", error, seen.samples, seen.shots, seen.input_circuit)


def circuit_ids(job_id: str, count: int) -> str:
    """The v0.2.0 remote id of v0.3.0 job `job_id` with `count` circuits (see the module docstring)."""
    return ",".join(f"{job_id}_{i}" for i in range(count))


class V2:
    """The v0.2.0 dialect."""

    version = VERSION
    table = V2_STATUSES

    def __init__(self, v3_base: str) -> None:
        self.v3_base = v3_base  # the same service's v0.3.0 API, used only by find

    def create(self, http: HttpClient, req: JobRequest) -> tuple[str, str | None]:
        answer = http.request("POST", "/jobs", json_body=body(req), safe=False).json()
        status = answer.get("status")
        return ",".join(answer["job_ids"]), status if isinstance(status, str) else None

    def fetch(self, http: HttpClient, remote_ids: Sequence[str]) -> dict[str, JobView]:
        wanted = {rid: rid.split(",") for rid in dict.fromkeys(remote_ids)}
        ids = list(dict.fromkeys(i for parts in wanted.values() for i in parts))
        found: dict[str, Any] = {}
        for chunk in chunks(ids, FETCH_CHUNK):
            found.update(self._fetch(http, chunk))
        return {
            rid: JobView(rid, str(found[parts[0]].get("target", "")), tuple(circuit(found[i]) for i in parts))
            for rid, parts in wanted.items()
            if all(isinstance(found.get(i), dict) for i in parts)
        }

    def _fetch(self, http: HttpClient, ids: list[str]) -> dict[str, Any]:
        try:
            answer = http.request("POST", "/fetch_jobs", json_body={"job_ids": ids}, safe=True).json()
        except NotFoundError:
            if len(ids) == 1:
                return {}
            # a service that refuses the whole request for one unknown id: ask one by one
            return {k: v for i in ids for k, v in self._fetch(http, [i]).items()}
        return answer if isinstance(answer, dict) else {}

    def cancel(self, http: HttpClient, remote_id: str, index: int | None) -> None:
        ids = remote_id.split(",")
        if index is not None:
            if not 0 <= index < len(ids):
                raise RejectedError(f"job {remote_id} has {len(ids)} circuit(s); index {index} is out of range")
            ids = [ids[index]]
        http.request("POST", "/cancel_jobs", json_body={"job_ids": ids}, safe=True)

    def find(self, http: HttpClient, token: str, target: str, since: float | None) -> list[JobView]:
        jobs = v3.query(http, {"target_name": [target], **v3.window(since, SKEW_S)}, base=self.v3_base)
        mine = sorted(
            (v3.submitted(data), job_id, len(data.get("input_circuits") or []))
            for job_id, data in jobs.items()
            if any(carries_token(c, token) for c in data.get("input_circuits") or [] if isinstance(c, str))
        )
        remote_ids = [circuit_ids(job_id, n) for _, job_id, n in mine]
        views = self.fetch(http, remote_ids)
        lost = [rid for rid in remote_ids if rid not in views]
        if lost:
            raise ProviderError(
                f"found job(s) for token {token} through the v0.3.0 query, but /fetch_jobs does not know their "
                f"v0.2.0 ids ({'; '.join(lost)}); not creating it again"
            )
        return [views[rid] for rid in remote_ids]
