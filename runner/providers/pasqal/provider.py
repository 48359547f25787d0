"""Pasqal Cloud: batches of jobs over one serialized pulser sequence, and workloads.

A batch is created with its jobs in one call; an open batch takes more jobs later (add_jobs)
until it is closed. Creates are not idempotent on Pasqal's side, so a batch carries the tag
`runner-token:<token>`: after a failure that may have reached the server, `find` looks the
token up and the batch is adopted instead of created twice. Jobs have no tags; a job added to
an open batch is recognised by its runs and variables (see `find`). Workloads have neither tags
nor a list call, so they cannot be found again: an ambiguous workload create is reported as such.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from runner.domain.model import Attrs, Target
from runner.domain.query import Listing, Query, RemoteItem, Selection
from runner.domain.remote import Observation, RemoteRef, Result
from runner.errors import NotFoundError, RejectedError, TransientError, UsageError
from runner.providers.base import Cancelled, Context, ProviderSpec, Submission
from runner.providers.pasqal import listing
from runner.providers.pasqal.api import Page, PasqalApi, describe, query
from runner.providers.pasqal.auth import token_source
from runner.providers.pasqal.wire import (
    TOKEN_TAG,
    added,
    batch_observation,
    job_body,
    job_key,
    job_observation,
    job_result,
    missing,
    token_tag,
    workload_observation,
)

if TYPE_CHECKING:
    import httpx

SPEC = ProviderSpec(
    name="pasqal",
    kinds=frozenset({"batch", "workload"}),
    default_target=None,
    allowed=frozenset(
        {
            "endpoint",
            "account_endpoint",
            "token_endpoint",
            "credentials",
            "project_id",
            "project_id_env",
            "webhook",
            "rate_limit",
        }
    ),
    credentials=(
        frozenset({"username_env", "password_env"}),
        frozenset({"username_env", "password_file"}),
        frozenset({"token_env"}),
        frozenset({"token_file"}),
    ),
    description="Pasqal Cloud: batches of pulser sequences on QPUs and emulators, and workloads",
    mutable={"batch": frozenset({"tags"})},
    findable=frozenset({"batch", "batch_job"}),
)
CORE_ENDPOINT = "https://apis.pasqal.cloud/core-fast"
ACCOUNT_ENDPOINT = "https://apis.pasqal.cloud/account"
DEVICE_TYPES = (
    "EMU_C",
    "EMU_FREE",
    "EMU_FRESNEL",
    "EMU_MPS",
    "EMU_SV",
    "EMU_TN",
    "FRESNEL",
    "FRESNEL8",
    "FRESNEL_CAN1",
    "FRESNEL_RD",
    "FRESNEL_SA1",
)
CREATE_ROUNDS = 4  # create, look for it, create again: bounded
CHUNK = 100  # ids per list call, the API's page limit (about 4 KB of query string)
TERMINAL_RAW = frozenset({"DONE", "ERROR", "CANCELED", "TIMED_OUT"})
Problems = list[tuple[tuple[str | int, ...], str]]


def check_target(target: Target) -> Problems:
    """The device type is one Pasqal knows and a project is named."""
    problems: Problems = []
    if target.target not in DEVICE_TYPES:
        problems.append(
            (("target",), f"unknown Pasqal device type '{target.target}' (one of: {', '.join(DEVICE_TYPES)})")
        )
    if "project_id" not in target.config and "project_id_env" not in target.config:
        problems.append(((), f"targets.{target.name}: pasqal targets need project_id or project_id_env"))
    return problems


def make(target: Target, context: Context) -> PasqalProvider:
    return PasqalProvider(target, context)


class PasqalProvider:
    """Pasqal Cloud's core API through one HttpClient."""

    spec = SPEC

    def __init__(
        self,
        target: Target,
        context: Context,
        *,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        from runner.providers.http import HttpClient

        config = target.config
        self.target, self.env = target, context.env
        self.http = HttpClient(
            str(config.get("endpoint", CORE_ENDPOINT)),
            provider=f"pasqal target '{target.name}'",
            rate_limit=config.get("rate_limit"),
            describe=describe,
            transport=transport,
        )
        self.api = PasqalApi(self.http, token_source(target, context, self.http, clock))
        self.http.headers = self.api.headers

    # creating -----------------------------------------------------------------------------------
    def create(self, sub: Submission) -> Observation:
        if sub.kind == "batch":
            return self._create_batch(sub)
        if sub.kind == "workload":
            return self._create_workload(sub)
        if sub.kind == "batch_job" and sub.parent is not None:
            return self.add_jobs(sub.parent, [sub])[0]
        raise RejectedError(f"{sub.address}: pasqal targets do not run {sub.kind}s")

    def _create_batch(self, sub: Submission) -> Observation:
        body: dict[str, Any] = {
            "sequence_builder": sub.programs[0].text if sub.programs else None,
            "webhook": sub.spec.get("webhook") or self.target.config.get("webhook"),
            "jobs": [job_body(c) for c in sub.children],
            "open": bool(sub.lifecycle.get("open", sub.spec.get("open", False))),
            "device_type": self.target.target,
            "tags": [*sub.attrs.tags, token_tag(sub.token)],
            "project_id": self._project(),
        }
        if sub.spec.get("configuration"):
            body["configuration"] = dict(sub.spec["configuration"])
        for last in [False] * (CREATE_ROUNDS - 1) + [True]:
            try:
                return self._with_jobs(self.api.call("POST", "/api/v1/batches", body=body, gzip_body=True, safe=False))
            except TransientError as exc:
                if not exc.acted_on_maybe or last:
                    raise
                found = self.find(sub)  # the server may have created it before the answer was lost
                if found:
                    return found[0]
        raise AssertionError("unreachable")

    def _create_workload(self, sub: Submission) -> Observation:
        body = {
            "workload_type": sub.spec["workload_type"],
            "backend": sub.spec["backend"],
            "config": dict(sub.spec.get("config", {})),
            "project_id": self._project(),
        }
        return workload_observation(self.api.call("POST", "/api/v1/workloads", body=body, safe=False))

    def add_jobs(self, batch: RemoteRef, subs: Sequence[Submission]) -> list[Observation]:
        """Append jobs to an open batch; the new jobs are the first matching ones after those already there."""
        if not subs:
            return []
        path = f"/api/v2/batches/{batch.remote_id}"
        before = self._jobs_count(self.api.call("GET", path))
        body = [job_body(s) for s in subs]
        for last in [False] * (CREATE_ROUNDS - 1) + [True]:
            try:
                data = self.api.call("POST", f"{path}/jobs", body=body, gzip_body=True, safe=False)
                return added(self.api.jobs_in(data), before, subs, batch.remote_id)
            except TransientError as exc:
                if not exc.acted_on_maybe or last:
                    raise
                jobs = self.api.batch_jobs(batch.remote_id)
                if len(jobs) > before:  # it went through before the answer was lost
                    return added(jobs, before, subs, batch.remote_id)
        raise AssertionError("unreachable")

    def _project(self) -> str:
        config = self.target.config
        if "project_id" in config:
            return str(config["project_id"])
        var = str(config.get("project_id_env", ""))
        if not self.env.get(var):
            raise RejectedError(f"targets.{self.target.name}: environment variable {var} (project_id_env) is not set")
        return self.env[var]

    # reading ------------------------------------------------------------------------------------
    def observe(self, refs: Sequence[RemoteRef]) -> list[Observation]:
        """Batches and jobs by list calls of up to 100 ids each; workloads one by one."""
        seen: dict[str, Observation] = {}
        seen.update(self._observe_batches([r.remote_id for r in refs if r.kind == "batch"]))
        seen.update(self._observe_jobs([r.remote_id for r in refs if r.kind == "batch_job"]))
        for ref in refs:
            if ref.kind == "workload":
                with contextlib.suppress(NotFoundError):
                    seen[ref.remote_id] = workload_observation(
                        self.api.call("GET", f"/api/v2/workloads/{ref.remote_id}")
                    )
        return [seen.get(r.remote_id) or missing(r.remote_id) for r in refs]

    def _observe_batches(self, ids: list[str]) -> dict[str, Observation]:
        seen: dict[str, Observation] = {}
        for chunk in _chunks(ids):
            for batch in self.api.every("/api/v1/batches", {"id": chunk}):
                error = self._batch_error(str(batch["id"])) if batch.get("status") == "ERROR" else None
                obs = batch_observation(batch, jobs=(), error=error)
                seen[obs.remote_id] = obs
        return seen

    def _batch_error(self, batch_id: str) -> str:
        failed = self.api.page("/api/v2/jobs", {"batch_id": batch_id, "status": "ERROR"}, limit=1).items
        errors = failed[0].get("errors") if failed else None
        return "; ".join(str(e) for e in errors) if errors else "the batch ended in ERROR"

    def _observe_jobs(self, ids: list[str]) -> dict[str, Observation]:
        jobs = [j for chunk in _chunks(ids) for j in self.api.every("/api/v2/jobs", {"id": chunk})]
        return {str(j["id"]): job_observation(j) for j in jobs}

    def list_tagged(self, tag: str) -> list[Observation]:
        """Batches carrying a tag, with their jobs as children (for `runner import --tag`)."""
        found = []
        for batch in self.api.every("/api/v1/batches", {"tag": tag}):
            jobs = list(self.api.every("/api/v2/jobs", {"batch_id": str(batch["id"])}))
            obs = batch_observation(batch, jobs=jobs)
            children = tuple(
                Observation(c.remote_id, c.status, c.raw_status, {**c.detail, "variables": j.get("variables") or {}})
                for c, j in zip(obs.children, jobs, strict=True)
            )
            found.append(Observation(obs.remote_id, obs.status, obs.raw_status, obs.detail, children=children))
        return found

    def result(self, ref: RemoteRef) -> Result | None:
        """A job's counts; for a batch, one counts entry per job in creation order (once all finished)."""
        if ref.kind == "batch_job":
            return self._job_result(ref.remote_id)
        if ref.kind == "batch":
            return self._batch_result(ref.remote_id)
        if ref.kind == "workload":
            return self._workload_result(ref.remote_id)
        return None

    def _job_result(self, job_id: str) -> Result | None:
        link = self.api.call("GET", f"/api/v1/jobs/{job_id}/results_link").get("results_link")
        return job_result(job_id, self.api.download(link)) if link else None

    def _batch_result(self, batch_id: str) -> Result | None:
        jobs = self.api.batch_jobs(batch_id)
        if not jobs or any(j.get("status") not in TERMINAL_RAW for j in jobs):
            return None
        results = [self._job_result(str(j["id"])) if j.get("status") == "DONE" else None for j in jobs]
        counts = tuple(dict(r.counts[0]) if r else {} for r in results)
        return Result(
            counts=counts,
            shots=int(jobs[0].get("runs") or 0),
            data={"job_ids": [j["id"] for j in jobs], "statuses": [j.get("status") for j in jobs]},
        )

    def _workload_result(self, workload_id: str) -> Result | None:
        workload = self.api.call("GET", f"/api/v2/workloads/{workload_id}")
        document = workload.get("result") or (
            self.api.download(workload["result_link"]) if workload.get("result_link") else None
        )
        return Result(counts=(), shots=0, data=dict(document)) if document else None

    def find(self, sub: Submission, since: float | None = None) -> list[Observation]:
        """Remote resources created for this submission: batches by token tag, added jobs by runs and variables."""
        # Jobs carry no tags: an added job is any job of its batch with the same runs and variables, listed in
        # creation order, so the k-th identical submission is the k-th of them. Workloads cannot be found.
        if sub.kind == "batch":
            tag = token_tag(sub.token)
            batches = [
                b
                for b in self.api.every("/api/v1/batches", {"tag": tag})
                if tag in (b.get("tags") or []) and not b.get("parent_id")
            ]  # rebatches may copy tags
            return [self._with_jobs(b) for b in batches]
        if sub.kind == "batch_job" and sub.lifecycle.get("rebatch_of"):
            return self._find_rebatched(sub)
        if sub.kind == "batch_job" and sub.parent is not None:
            key = job_key(sub.spec.get("runs"), sub.spec.get("variables"))
            jobs = self.api.batch_jobs(sub.parent.remote_id)
            return [job_observation(j) for j in jobs if job_key(j.get("runs"), j.get("variables")) == key]
        return []

    def _find_rebatched(self, sub: Submission) -> list[Observation]:
        """A job rerun by rebatch: a copy (parent_id = the failed job) in a batch whose parent is the old batch.

        Rebatches copy the old batch's tags, so the old batch's token tag narrows the listing.
        """
        old_batch, old_job = sub.lifecycle["rebatch_of"], sub.lifecycle.get("parent_job")
        found = []
        for batch in self.api.every("/api/v1/batches", {"tag": sub.lifecycle.get("batch_tag")}):
            if batch.get("parent_id") != old_batch:
                continue
            found += [job_observation(j) for j in self.api.jobs_in(batch) if j.get("parent_id") == old_job]
        return found

    def _with_jobs(self, batch: Mapping[str, Any]) -> Observation:
        return batch_observation(batch, self.api.jobs_in(batch))

    @staticmethod
    def _jobs_count(batch: Mapping[str, Any]) -> int:
        return (
            int(batch["jobs_count"]) if "jobs_count" in batch else len(batch.get("job_ids") or batch.get("jobs") or [])
        )

    # changing -----------------------------------------------------------------------------------
    def cancel(self, ref: RemoteRef) -> Observation:
        """Cancel a batch (its pending jobs), one pending job, or a workload; a finished one is left as is."""
        calls = {
            "batch": ("PATCH", f"/api/v2/batches/{ref.remote_id}/cancel"),
            "batch_job": ("PATCH", f"/api/v2/jobs/{ref.remote_id}/cancel"),
            "workload": ("PUT", f"/api/v1/workloads/{ref.remote_id}/cancel"),
        }
        if ref.kind not in calls:
            raise RejectedError(f"pasqal targets have no {ref.kind}s to cancel")
        method, path = calls[ref.kind]
        try:
            data = self.api.call(method, path, safe=True)
        except NotFoundError:
            raise
        except RejectedError:
            (current,) = self.observe([ref])
            if current.terminal:
                return current  # it finished first: nothing left to cancel
            raise
        if ref.kind == "batch":
            return self._with_jobs(data)
        return job_observation(data) if ref.kind == "batch_job" else workload_observation(data)

    def update(self, ref: RemoteRef, attrs: Attrs) -> None:
        """Replace a batch's tags, keeping its runner-token tag (jobs and workloads have no tags)."""
        if ref.kind != "batch":
            return
        path = f"/api/v1/batches/{ref.remote_id}"
        current = self.api.call("GET", f"/api/v2/batches/{ref.remote_id}")
        keep = [t for t in current.get("tags") or [] if t.startswith(TOKEN_TAG)]
        self.api.call("PATCH", f"{path}/tags", body=[*attrs.tags, *keep], safe=True)

    def close(self, ref: RemoteRef) -> Observation:
        """Close a batch: it takes no more jobs and finishes once they have run."""
        try:
            return self._with_jobs(self.api.call("PATCH", f"/api/v2/batches/{ref.remote_id}/complete", safe=True))
        except NotFoundError:
            raise
        except RejectedError:
            (current,) = self.observe([ref])
            if current.detail.get("open") is False:
                return current  # closed already (by another run, or it was cancelled)
            raise

    def cancel_jobs(self, batch: RemoteRef, filters: Mapping[str, Any]) -> Cancelled:
        """Cancel the pending jobs of a batch that match filters (id, min_runs, max_runs, start_date, end_date)."""
        data = self.api.call(
            "PATCH", f"/api/v2/batches/{batch.remote_id}/cancel/jobs", params=query(filters), safe=True
        )
        return Cancelled(
            tuple(job_observation(j) for j in data.get("jobs") or []),
            {str(k): str(v) for k, v in (data.get("errors") or {}).items()},
        )

    def cancel_where(self, batch: RemoteRef, selection: Selection) -> Cancelled:
        """One call cancels the batch's jobs the selection picks (CancelJobFilters: the API cancels pending ones).

        CancelJobFilters has no status: only pending jobs can be cancelled, so `status=PENDING` is what the
        call does anyway and any other status is refused before anything is sent.
        """
        other = [s for s in selection.statuses if s != "PENDING"]
        if other:
            raise UsageError(
                f"Pasqal cancels only pending jobs (its cancel filter has no status): drop status={','.join(other)}"
            )
        filters = {k: v for k, v in selection.as_filters().items() if k != "status"}
        return self.cancel_jobs(batch, filters)

    def cancel_many(self, refs: Sequence[RemoteRef]) -> Cancelled:
        """Cancel many batches in one call (PATCH /api/v1/batches/cancel), each reported with its jobs."""
        ids = [r.remote_id for r in refs if r.kind == "batch"]
        if len(ids) != len(refs):
            raise RejectedError("pasqal cancels many batches in one call, not jobs or workloads")
        data = self.api.call("PATCH", "/api/v1/batches/cancel", body={"batch_ids": ids}, safe=True)
        done = tuple(self._with_jobs(b) for b in data.get("batches") or [])
        return Cancelled(done, {str(k): str(v) for k, v in (data.get("errors") or {}).items()})

    def list_remote(self, query: Query) -> Listing:
        """Batches on this device type, or jobs (of one batch with --in), filtered and paged by the API."""
        return listing.listing(self.api, query, self._project(), self.target.target)

    def get_remote(self, ref: RemoteRef) -> RemoteItem | None:
        """A batch, job or workload as the API reports it now."""
        paths = {"batch": "/api/v2/batches/", "batch_job": "/api/v2/jobs/", "workload": "/api/v2/workloads/"}
        if ref.kind not in paths:
            return None
        try:
            raw = self.api.call("GET", paths[ref.kind] + ref.remote_id)
        except NotFoundError:
            return None
        if ref.kind == "batch":
            return listing.batch_item(raw)
        if ref.kind == "batch_job":
            return listing.job_item(raw)
        return listing.workload_item(raw)

    def rebatch(self, batch: RemoteRef, filters: Mapping[str, Any]) -> Observation:
        """A new batch with copies of the matching jobs (id, status, min_runs, ...); both carry parent_id."""
        data = self.api.call("POST", f"/api/v1/batches/{batch.remote_id}/rebatch", params=query(filters), safe=False)
        return self._with_jobs(data)

    def get_batches(self, filters: Mapping[str, Any], offset: int = 0, limit: int = 100) -> Page:
        """One page of batches matching filters (id, status, tag, open, device_type, ...), newest first."""
        return self.api.page("/api/v1/batches", filters, offset, limit)

    def get_jobs(self, filters: Mapping[str, Any], offset: int = 0, limit: int = 100) -> Page:
        """One page of jobs matching filters (id, batch_id, status, errors, min_runs, ...), newest first."""
        return self.api.page("/api/v2/jobs", filters, offset, limit)

    def projects(self) -> list[Mapping[str, Any]]:
        """The account's active projects (id, name, ...), from the account API."""
        base = str(self.target.config.get("account_endpoint", ACCOUNT_ENDPOINT)).rstrip("/")
        return list(self.api.call("GET", f"{base}/api/v1/projects", params=[("project_status", "ACTIVE")]))

    def describe(self) -> dict[str, Any]:
        """The device's specs (pulser abstract representation) as the API serves them now."""
        import json

        specs = self.device_specs()
        device = self.target.target
        if device not in specs:
            return {"device_type": device, "note": "no specs served for this device type"}
        return {"device_type": device, "specs": json.loads(specs[device])}

    def device_specs(self) -> dict[str, str]:
        """Device type -> pulser device abstract representation (a JSON string)."""
        return dict(self.api.call("GET", "/api/v1/devices/specs"))

    def requests(self) -> int:
        return self.http.calls

    def shutdown(self) -> None:
        self.http.close()


def _chunks(ids: list[str]) -> list[list[str]]:
    unique = list(dict.fromkeys(ids))
    return [unique[i : i + CHUNK] for i in range(0, len(unique), CHUNK)]
