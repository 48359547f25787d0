"""The Pasqal emulator's job and workload routes, and the un-enveloped result downloads."""

from __future__ import annotations

import uuid

from runner.emulators.pasqal.bodies import workload as workload_body
from runner.emulators.pasqal.lifecycle import Lifecycle
from runner.emulators.pasqal.store import JOB_FIELDS, TERMINAL, Job, NotFound, Workload, fail, listing, matcher, ok
from runner.emulators.server import Emulator, Request, Response


class JobRoutes:
    """Handlers for jobs, their results and workloads; these take the emulator's lock."""

    def __init__(self, emulator: Emulator, life: Lifecycle) -> None:
        self.emu, self.life = emulator, life

    def _job(self, request: Request) -> Job:
        job = self.life.jobs.get(request.group("id"))
        if job is None:
            raise NotFound(f"job {request.group('id')} not found")
        return job

    def list_jobs(self, request: Request) -> Response:
        with self.emu.lock:
            wanted, ids = matcher(request.query, JOB_FIELDS), request.query.get("id")
            # asked by id (how clients poll), look those up rather than scan every job
            jobs = self.life.jobs
            pool = (jobs[i] for i in dict.fromkeys(ids) if i in jobs) if ids else jobs.values()
            found = [j for j in pool if wanted(j)]
            return listing(found, request.query, lambda j: j.wire(), "created_at")

    def get_job(self, request: Request) -> Response:
        with self.emu.lock:
            return ok(self._job(request).wire(with_sequence=True))

    def job_status(self, request: Request) -> Response:
        with self.emu.lock:
            return ok({"id": self._job(request).id, "status": self._job(request).status})

    def cancel_job(self, request: Request) -> Response:
        with self.emu.lock:
            return self._cancel_job(self._job(request))

    def _cancel_job(self, job: Job) -> Response:
        if job.status != "PENDING":
            return fail(400, f"job {job.id} is {job.status}: only pending jobs can be cancelled")
        self.life.cancel_job(job)
        return ok(job.wire())

    def results_link(self, request: Request) -> Response:
        with self.emu.lock:
            job = self._job(request)
            ready = job.status == "DONE" and job.result is not None
            link = f"{request.base_url}/results/{job.id}?signature={job.signature}" if ready else None
            return ok({"results_link": link})

    def download(self, request: Request) -> Response:
        """The pre-signed results document: no auth header, no envelope, a signature in the query."""
        with self.emu.lock:
            job = self.life.jobs.get(request.group("id"))
            if job is None or job.result is None:
                return Response(404, {"message": "no such results"})
            if request.arg("signature") != job.signature:
                return Response(403, {"message": "signature does not match"})
            return Response(200, job.result)

    # workloads and devices ----------------------------------------------------------------------
    def create_workload(self, request: Request) -> Response:
        project, kind, backend, config = workload_body(request.json())
        with self.emu.lock:
            workload = Workload(str(uuid.uuid4()), project, kind, backend, config)
            self.life.submit_workload(workload)
            return ok(workload.wire(request.base_url))

    def _workload(self, request: Request) -> Workload:
        workload = self.life.workloads.get(request.group("id"))
        if workload is None:
            raise NotFound(f"workload {request.group('id')} not found")
        return workload

    def get_workload(self, request: Request) -> Response:
        with self.emu.lock:
            return ok(self._workload(request).wire(request.base_url))

    def cancel_workload(self, request: Request) -> Response:
        with self.emu.lock:
            return self._cancel_workload(self._workload(request), request.base_url)

    def _cancel_workload(self, workload: Workload, base_url: str) -> Response:
        if workload.status in TERMINAL:
            return fail(400, f"workload {workload.id} is already {workload.status}")
        workload.set("CANCELED")
        return ok(workload.wire(base_url))

    def download_workload(self, request: Request) -> Response:
        with self.emu.lock:
            workload = self.life.workloads.get(request.group("id"))
            if workload is None or workload.result is None:
                return Response(404, {"message": "no such results"})
            return Response(200, workload.result)
