"""Pasqal Cloud: batches of jobs over one serialized pulser sequence, and workloads.

A batch is created with its jobs in one call; an open batch takes more jobs later (add_jobs)
until it is closed. Creates are not idempotent on Pasqal's side, so a batch carries the tag
`runner-token:<token>`: after a failure that may have reached the server, `find` looks the
token up and the batch is adopted instead of created twice. Jobs have no tags; a job added to
an open batch is recognised by its runs and variables (see `find`). Workloads have neither tags
nor a list call, so they cannot be found again: an ambiguous workload create is reported as such.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from runner.errors import AuthError, NotFoundError, ProviderError, RejectedError, TransientError
from runner.model import Attrs, Target
from runner.providers import credentials
from runner.providers.base import Context, Observation, ProviderSpec, RemoteRef, Result, Submission
from runner.providers.pasqal_api import Page, PasqalApi, describe
from runner.providers.pasqal_auth import TOKEN_ENDPOINT, PasswordGrant, StaticToken, TokenSource
from runner.providers.pasqal_map import (
    TOKEN_TAG,
    batch_observation,
    job_key,
    job_observation,
    job_result,
    missing,
    token_tag,
    workload_observation,
)

if TYPE_CHECKING:
    import httpx

    from runner.providers.http import HttpClient

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


@dataclass(frozen=True)
class JobCancellation:
    """What cancel_jobs did: the jobs it cancelled and, per job id, why others were not."""

    cancelled: tuple[Observation, ...]
    errors: Mapping[str, str]


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


def _tokens(target: Target, context: Context, http: HttpClient, clock: Callable[[], float]) -> TokenSource:
    creds: Mapping[str, Any] = target.config.get("credentials", {})
    hint = "check " + ", ".join(f"credentials.{k} ({v})" for k, v in sorted(creds.items()))
    if "token_env" in creds or "token_file" in creds:
        return StaticToken(credentials.required(target.name, creds, context.env, context.base_dir, "token"), hint)
    if "username_env" in creds:
        username = credentials.required(target.name, creds, context.env, context.base_dir, "username")
        password = credentials.required(target.name, creds, context.env, context.base_dir, "password")
        endpoint = str(target.config.get("token_endpoint", TOKEN_ENDPOINT))
        return PasswordGrant(http, endpoint, username, password, hint, clock)
    raise AuthError(
        f"targets.{target.name}: credentials need token_env, token_file, or username_env "
        "with password_env or password_file"
    )


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
        self.api = PasqalApi(self.http, _tokens(target, context, self.http, clock))
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
            "jobs": [_job_body(c) for c in sub.children],
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
        body = [_job_body(s) for s in subs]
        for last in [False] * (CREATE_ROUNDS - 1) + [True]:
            try:
                data = self.api.call("POST", f"{path}/jobs", body=body, gzip_body=True, safe=False)
                return _added(self._jobs_in(data), before, subs, batch.remote_id)
            except TransientError as exc:
                if not exc.acted_on_maybe or last:
                    raise
                jobs = self._batch_jobs(batch.remote_id)
                if len(jobs) > before:  # it went through before the answer was lost
                    return _added(jobs, before, subs, batch.remote_id)
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
                try:
                    seen[ref.remote_id] = workload_observation(
                        self.api.call("GET", f"/api/v2/workloads/{ref.remote_id}")
                    )
                except NotFoundError:
                    pass
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
        jobs = self._batch_jobs(batch_id)
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
        """Batches tagged with the submission's token; for a job added to a batch, that batch's jobs
        with the same runs and variables, in creation order (the k-th identical submission is the
        k-th of them). Workloads cannot be found."""
        if sub.kind == "batch":
            tag = token_tag(sub.token)
            batches = [
                b
                for b in self.api.every("/api/v1/batches", {"tag": tag})
                if tag in (b.get("tags") or []) and not b.get("parent_id")
            ]  # rebatches may copy tags
            return [self._with_jobs(b) for b in batches]
        if sub.kind == "batch_job" and sub.parent is not None:
            key = job_key(sub.spec.get("runs"), sub.spec.get("variables"))
            jobs = self._batch_jobs(sub.parent.remote_id)
            return [job_observation(j) for j in jobs if job_key(j.get("runs"), j.get("variables")) == key]
        return []

    def _with_jobs(self, batch: Mapping[str, Any]) -> Observation:
        return batch_observation(batch, self._jobs_in(batch))

    def _jobs_in(self, batch: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        """The jobs of a Batch+jobs answer, or fetched when the answer only lists their ids."""
        if batch.get("jobs") is not None or not batch.get("job_ids"):
            return list(batch.get("jobs") or [])
        return self._batch_jobs(str(batch["id"]))

    def _batch_jobs(self, batch_id: str) -> list[Mapping[str, Any]]:
        order = {"batch_id": batch_id, "order_by": "creation_order", "order_by_direction": "ASC"}
        return list(self.api.every("/api/v2/jobs", order))

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
        return self._with_jobs(self.api.call("PATCH", f"/api/v2/batches/{ref.remote_id}/complete", safe=True))

    def cancel_jobs(self, batch: RemoteRef, filters: Mapping[str, Any]) -> JobCancellation:
        """Cancel the pending jobs of a batch that match filters (id, min_runs, max_runs, start_date, end_date)."""
        from runner.providers.pasqal_api import query

        data = self.api.call(
            "PATCH", f"/api/v2/batches/{batch.remote_id}/cancel/jobs", params=query(filters), safe=True
        )
        return JobCancellation(
            tuple(job_observation(j) for j in data.get("jobs") or []),
            {str(k): str(v) for k, v in (data.get("errors") or {}).items()},
        )

    def rebatch(self, batch: RemoteRef, filters: Mapping[str, Any]) -> Observation:
        """A new batch with copies of the matching jobs (id, status, min_runs, ...); both carry parent_id."""
        from runner.providers.pasqal_api import query

        data = self.api.call("POST", f"/api/v1/batches/{batch.remote_id}/rebatch", params=query(filters), safe=False)
        return self._with_jobs(data)

    def get_batches(self, filters: Mapping[str, Any], offset: int = 0, limit: int = 100) -> Page:
        """One page of batches matching filters (id, status, tag, open, device_type, ...), newest first."""
        return self.api.page("/api/v1/batches", filters, offset, limit)

    def get_jobs(self, filters: Mapping[str, Any], offset: int = 0, limit: int = 100) -> Page:
        """One page of jobs matching filters (id, batch_id, status, errors, min_runs, ...), newest first."""
        return self.api.page("/api/v2/jobs", filters, offset, limit)

    def device_specs(self) -> dict[str, str]:
        """Device type -> pulser device abstract representation (a JSON string)."""
        return dict(self.api.call("GET", "/api/v1/devices/specs"))

    def shutdown(self) -> None:
        self.http.close()


def _job_body(sub: Submission) -> dict[str, Any]:
    return {"runs": int(sub.spec["runs"]), "variables": dict(sub.spec.get("variables") or {})}


def _added(
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


def _chunks(ids: list[str]) -> list[list[str]]:
    unique = list(dict.fromkeys(ids))
    return [unique[i : i + CHUNK] for i in range(0, len(unique), CHUNK)]
