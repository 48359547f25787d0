"""The Pasqal emulator's batch routes: create, list, read, grow, close, cancel, rebatch, tag."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from runner.emulators.pasqal import bodies as pasqal_bodies
from runner.emulators.pasqal import execute as pasqal_pulser
from runner.emulators.pasqal.bodies import JobSpec
from runner.emulators.pasqal.lifecycle import Lifecycle
from runner.emulators.pasqal.store import (
    JOB_FIELDS,
    TERMINAL,
    USER_ID,
    Batch,
    Invalid,
    Job,
    NotFound,
    fail,
    listing,
    matcher,
    ok,
)
from runner.emulators.server import Emulator, Request, Response

BATCH_FIELDS: dict[str, Callable[[Any], Any]] = {
    "id": lambda b: b.id,
    "project_id": lambda b: b.project_id,
    "user_id": lambda b: USER_ID,
    "device_type": lambda b: b.device_type,
    "status": lambda b: b.status,
    "open": lambda b: b.open,
    "complete": lambda b: not b.open,
    "tag": lambda b: b.tags,
    "queue_priority": lambda b: "MEDIUM",
    "start_date": lambda b: b.created_at,
    "end_date": lambda b: b.created_at,
    "min_jobs": lambda b: len(b.job_ids),
    "max_jobs": lambda b: len(b.job_ids),
}
SELECT_FIELDS = ("id", "status", "min_runs", "max_runs", "start_date", "end_date")  # rebatch and cancel-jobs


class BatchRoutes:
    """Handlers for /core/api/v1|v2/batches...; callers check auth, these take the emulator's lock."""

    def __init__(self, emulator: Emulator, life: Lifecycle) -> None:
        self.emu, self.life = emulator, life

    def create_batch(self, request: Request) -> Response:
        spec = pasqal_bodies.batch(request.json())
        broken = _broken(spec.sequence_builder)
        problems = [broken or _problem(j.sequence or spec.sequence_builder, j.variables) for j in spec.jobs]
        with self.emu.lock:
            self.life.projects.add(spec.project_id)
            batch = Batch(
                str(uuid.uuid4()),
                spec.project_id,
                spec.device_type,
                spec.sequence_builder,
                spec.open,
                self.life.next_seq(),
                spec.webhook,
                spec.configuration,
                spec.backend_configuration,
                list(spec.tags),
                broken=broken,
            )
            self.life.submit(batch, self._jobs(batch, spec.jobs, problems))
            return ok(self._wire(batch))

    def _jobs(
        self,
        batch: Batch,
        specs: tuple[JobSpec, ...],
        problems: list[str | None],
        parents: list[str | None] | None = None,
    ) -> list[Job]:
        made = []
        for i, (spec, problem) in enumerate(zip(specs, problems, strict=True)):
            job = Job(
                str(uuid.uuid4()),
                batch.id,
                batch.project_id,
                spec.runs,
                spec.variables,
                self.life.next_seq(),
                spec.sequence,
                parents[i] if parents else None,
                signature=secrets.token_hex(8),
            )
            if problem:
                job.set("ERROR", [problem])
            made.append(job)
        return made

    def _wire(self, batch: Batch, embed: bool = True) -> dict[str, Any]:
        return batch.wire(self.life.jobs, embed=embed)

    def _batch(self, request: Request) -> Batch:
        batch = self.life.batches.get(request.group("id"))
        if batch is None:
            raise NotFound(f"batch {request.group('id')} not found")
        return batch

    def list_batches(self, request: Request) -> Response:
        with self.emu.lock:
            wanted = matcher(request.query, BATCH_FIELDS)
            found = [b for b in self.life.batches.values() if wanted(b)]
            return listing(found, request.query, lambda b: self._wire(b, embed=False), "created_at")

    def get_batch(self, request: Request) -> Response:
        with self.emu.lock:
            return ok(self._wire(self._batch(request), embed=False))

    def batch_status(self, request: Request) -> Response:
        with self.emu.lock:
            return self._status(self._batch(request))

    def _status(self, batch: Batch) -> Response:
        return ok({"id": batch.id, "status": batch.status, "jobs_count_per_status": batch.counts(self.life.jobs)})

    def add_jobs(self, request: Request) -> Response:
        with self.emu.lock:
            found = self._batch(request)
            builder = found.sequence_builder
        specs = pasqal_bodies.jobs(request.json(), ["body"], builder is not None)
        if not specs:
            raise Invalid(["body"], "no jobs to add")
        problems = [found.broken or _problem(j.sequence or builder, j.variables) for j in specs]
        with self.emu.lock:
            if not found.open or found.status in TERMINAL:
                why = "closed" if not found.open else found.status
                return fail(400, f"batch {found.id} is {why}: it accepts no more jobs")
            self.life.append(found, self._jobs(found, specs, problems))
            return ok(self._wire(found))

    def close_batch(self, request: Request) -> Response:
        with self.emu.lock:
            return self._close(self._batch(request))

    def _close(self, batch: Batch) -> Response:
        if batch.open:
            self.life.close(batch)
        return ok(self._wire(batch))

    def cancel_batch(self, request: Request) -> Response:
        with self.emu.lock:
            return self._cancel(self._batch(request))

    def _cancel(self, batch: Batch) -> Response:
        if batch.status in TERMINAL:
            return fail(400, f"batch {batch.id} is already {batch.status}")
        self.life.cancel(batch)
        return ok(self._wire(batch))

    def cancel_batches(self, request: Request) -> Response:
        body = request.json()
        ids = body.get("batch_ids") if isinstance(body, dict) else None
        if not isinstance(ids, list):
            raise Invalid(["body", "batch_ids"], "must be a list of batch ids")
        done, errors = [], {}
        with self.emu.lock:
            for batch_id in ids:
                batch = self.life.batches.get(str(batch_id))
                if batch is None or batch.status in TERMINAL:
                    errors[str(batch_id)] = "not found" if batch is None else f"batch is already {batch.status}"
                    continue
                self.life.cancel(batch)
                done.append(self._wire(batch, embed=False))
        return ok({"batches": done, "errors": errors})

    def cancel_jobs(self, request: Request) -> Response:
        with self.emu.lock:
            batch = self._batch(request)
            cancelled, errors = [], {}
            for job in self._selected(batch, request):
                if job.status != "PENDING":
                    errors[job.id] = f"job is {job.status}: only pending jobs can be cancelled"
                    continue
                self.life.cancel_job(job)
                cancelled.append(job.wire())
            return ok({"jobs": cancelled, "errors": errors})

    def _selected(self, batch: Batch, request: Request) -> list[Job]:
        fields = {k: JOB_FIELDS[k] for k in SELECT_FIELDS}
        wanted = matcher(request.query, fields)
        return [self.life.jobs[j] for j in batch.job_ids if wanted(self.life.jobs[j])]

    def rebatch(self, request: Request) -> Response:
        with self.emu.lock:
            old = self._batch(request)
            picked = self._selected(old, request)
            if not picked:
                return fail(400, f"no job of batch {old.id} matches the filters")
            batch = Batch(
                str(uuid.uuid4()),
                old.project_id,
                old.device_type,
                old.sequence_builder,
                False,
                self.life.next_seq(),
                old.webhook,
                old.configuration,
                old.backend_configuration,
                list(old.tags),
                parent_id=old.id,
                broken=old.broken,
            )
            specs = tuple(JobSpec(j.runs, j.variables, j.sequence) for j in picked)
            problems = [old.broken or _problem(j.sequence or old.sequence_builder, j.variables) for j in specs]
            self.life.submit(batch, self._jobs(batch, specs, problems, [j.id for j in picked]))
            return ok(self._wire(batch))

    def set_tags(self, request: Request) -> Response:
        tags = pasqal_bodies.tags(request.json())
        with self.emu.lock:
            batch = self._batch(request)
            batch.tags = list(tags)
            return ok(self._wire(batch))


def _broken(builder: str | None) -> str | None:
    """Why a batch's own sequence cannot run at all, if it cannot."""
    if builder is None or not pasqal_pulser.has_core():
        return None
    try:
        pasqal_pulser.load(builder)
    except pasqal_pulser.JobFailed as exc:
        return str(exc)
    return None


def _problem(text: str | None, variables: Mapping[str, Any] | None) -> str | None:
    try:
        pasqal_pulser.check(text, variables or {})
    except pasqal_pulser.JobFailed as exc:
        return str(exc)
    return None
