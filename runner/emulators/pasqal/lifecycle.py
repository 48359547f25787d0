"""How batches, jobs and workloads move through their statuses in the Pasqal emulator.

A batch waits `queue_delay` seconds (PENDING), then holds the device (RUNNING) and runs its jobs
one after another, each for `run_time` seconds. A closed batch is DONE once every job is final
(even when some ended in ERROR), or ERROR when its own sequence cannot run. An open batch keeps
the device until it is closed. Cancelling stops what has not started. PAUSED and CANCELING are
never used: the official 0.24 client cannot read them. Callers hold the emulator's lock, except
for the scheduled steps, which take it themselves and simulate outside it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from runner.emulators.pasqal import execute as pasqal_pulser
from runner.emulators.pasqal.store import DEFAULT_PROJECT, TERMINAL, Batch, Job, Workload, now
from runner.emulators.server import Emulator


class Lifecycle:
    """The emulator's records and the device that works through them."""

    def __init__(self, emulator: Emulator, simulate: bool) -> None:
        self.emu = emulator
        self.simulate = simulate
        self.batches: dict[str, Batch] = {}
        self.jobs: dict[str, Job] = {}
        self.workloads: dict[str, Workload] = {}
        self.projects = {DEFAULT_PROJECT}  # every project a batch was created in
        self.seq = 0

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    # batches ------------------------------------------------------------------------------------
    def submit(self, batch: Batch, jobs: Iterable[Job]) -> None:
        self.batches[batch.id] = batch
        self.append(batch, jobs)
        self.emu.scheduler.later(self.emu.faults.queue_delay, lambda: self._start(batch.id))

    def append(self, batch: Batch, jobs: Iterable[Job]) -> None:
        for job in jobs:
            self.jobs[job.id] = job
            batch.job_ids.append(job.id)
        batch.updated_at = now()
        if batch.status == "RUNNING":
            self._next(batch)

    def close(self, batch: Batch) -> None:
        batch.open = False
        if batch.status == "RUNNING":
            self._next(batch)

    def cancel(self, batch: Batch) -> None:
        for job_id in batch.job_ids:
            if self.jobs[job_id].status == "PENDING":
                self.jobs[job_id].set("CANCELED")
        batch.open = False
        batch.set("CANCELED")

    def cancel_job(self, job: Job) -> None:
        job.set("CANCELED")
        batch = self.batches[job.batch_id]
        if batch.status == "RUNNING":
            self._next(batch)

    def _start(self, batch_id: str) -> None:
        with self.emu.lock:
            batch = self.batches[batch_id]
            if batch.status == "PENDING":
                batch.set("RUNNING")
                self._next(batch)

    def _next(self, batch: Batch) -> None:
        """Start the next pending job, or finish a closed batch with nothing left to run."""
        if batch.busy:
            return
        job = next((self.jobs[j] for j in batch.job_ids if self.jobs[j].status == "PENDING"), None)
        if job is None:
            if not batch.open and all(self.jobs[j].status in TERMINAL for j in batch.job_ids):
                batch.set("ERROR" if batch.broken else "DONE")
            return
        job.set("RUNNING")
        batch.busy = True
        self.emu.scheduler.later(self.emu.faults.run_time, lambda: self._finish(job.id))

    def _finish(self, job_id: str) -> None:
        with self.emu.lock:
            job = self.jobs[job_id]
            batch = self.batches[job.batch_id]
            text = job.sequence or batch.sequence_builder
            injected = self.emu.chance(self.emu.faults.job_failure_rate)
        status, errors, result = self._execute(job, text, injected)
        with self.emu.lock:
            job.result = result
            job.set(status, errors)
            batch.busy = False
            if batch.status == "RUNNING":
                self._next(batch)

    def _execute(self, job: Job, text: str | None, injected: bool) -> tuple[str, list[str] | None, Any]:
        if injected:
            return "ERROR", ["injected failure (job_failure_rate)"], None
        if not self.simulate:
            return "ERROR", [pasqal_pulser.INSTALL], None
        try:
            return "DONE", None, pasqal_pulser.run(text, job.variables or {}, job.runs, job.id)
        except pasqal_pulser.JobFailed as exc:
            return "ERROR", [str(exc)], None

    # workloads ----------------------------------------------------------------------------------
    def submit_workload(self, workload: Workload) -> None:
        self.workloads[workload.id] = workload
        self.emu.scheduler.later(self.emu.faults.queue_delay, lambda: self._run_workload(workload.id))

    def _run_workload(self, workload_id: str) -> None:
        with self.emu.lock:
            workload = self.workloads[workload_id]
            if workload.status != "PENDING":
                return
            workload.set("RUNNING")
        self.emu.scheduler.later(self.emu.faults.run_time, lambda: self._end_workload(workload_id))

    def _end_workload(self, workload_id: str) -> None:
        with self.emu.lock:
            workload = self.workloads[workload_id]
            if workload.status != "RUNNING":
                return
            if self.emu.chance(self.emu.faults.job_failure_rate):
                workload.errors = ["injected failure (job_failure_rate)"]
                workload.set("ERROR")
                return
            # the emulator has no workload engines: the result echoes what was asked
            workload.set("DONE")
            workload.result = {
                "emulated": True,
                "workload_type": workload.workload_type,
                "backend": workload.backend,
                "config": workload.config,
            }
