"""How an emulated job moves (Waiting -> Executing -> Succeeded | Failed, or Cancelled) and what its end
does to its session (jobFailurePolicy Abort or Continue).

A job is checked when it is submitted, so a job the target cannot run is Failed in the PUT's own
response; the rest wait `faults.queue_delay`, run `faults.run_time`, and fail at
`faults.job_failure_rate`. Every step re-checks the status, so a cancelled job stays cancelled.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from typing import Any

from runner.emulators.azure import storage
from runner.emulators.azure.execute import JobError, Work, cost_estimate, execute, prepare
from runner.emulators.azure.store import JOB_TERMINAL, SESSION_TERMINAL, Item, Store, now
from runner.emulators.server import Faults, Scheduler


class Lifecycle:
    """Job and session state changes; callers of admit, end and settle hold the emulator's lock."""

    def __init__(
        self, store: Store, lock: threading.RLock, scheduler: Scheduler, faults: Faults, chance: Callable[[float], bool]
    ) -> None:
        self.store, self.lock, self.scheduler, self.faults, self.chance = store, lock, scheduler, faults, chance

    def admit(self, item: Item) -> None:
        details = item.details
        try:
            data = storage.read_input(self.store, str(details["inputDataUri"]))
            work = prepare(str(details["target"]), str(details["inputDataFormat"]), details["inputParams"], data)
        except JobError as exc:
            self.end(item, "Failed", exc)
            return
        self.scheduler.later(self.faults.queue_delay, lambda: self._start(item, work))

    def _start(self, item: Item, work: Work) -> None:
        with self.lock:
            if item.status != "Waiting":
                return  # cancelled while queued
            item.details.update(status="Executing", beginExecutionTime=now(), lastUpdatedTime=now())
        self.scheduler.later(self.faults.run_time, lambda: self._finish(item, work))

    def _finish(self, item: Item, work: Work) -> None:
        error: JobError | None = None
        output = b""
        cost: dict[str, Any] | None = None
        if self.chance(self.faults.job_failure_rate):
            error = JobError("JobFailed", "The job failed on the target (injected failure).")
        else:
            try:  # simulate outside the lock: other requests go on meanwhile
                output = execute(work, _seed(str(item.details["id"])))
                cost = cost_estimate(str(item.details["target"]), work)
            except Exception as exc:
                error = JobError("ExecutionFailed", f"The target could not run the circuit: {exc}")
        with self.lock:
            if item.status != "Executing":
                return  # cancelled while running
            if error is None:
                storage.write_output(self.store, str(item.details["outputDataUri"]), output)
                item.details["costEstimate"] = cost
            self.end(item, "Succeeded" if error is None else "Failed", error)

    def end(self, item: Item, status: str, error: JobError | None = None) -> None:
        stamp = now()
        item.details.update(status=status, endExecutionTime=stamp, lastUpdatedTime=stamp)
        if status == "Cancelled":
            item.details["cancellationTime"] = stamp
        if error is not None:
            item.details["errorData"] = {"code": error.code, "message": error.message}
        session = self.store.sessions.get(str(item.details.get("sessionId")))
        if session is not None:
            self._after_job(session, item)

    def _after_job(self, session: Item, job: Item) -> None:
        """Abort: the first failed job fails the session and closes it. Continue: only settle."""
        if job.status == "Failed" and session.details.get("jobFailurePolicy") != "Continue":
            if session.status not in SESSION_TERMINAL:
                stamp = now()
                session.details.update(
                    status="Failed",
                    endExecutionTime=stamp,
                    lastUpdatedTime=stamp,
                    errorData={
                        "code": "JobFailed",
                        "message": f"Job '{job.details['id']}' failed and the session's job failure policy is Abort.",
                    },
                )
            session.closed = True
        self.settle(session)

    def settle(self, session: Item) -> None:
        """A closed session ends once all its jobs have: Failure(s) if any failed, else Succeeded."""
        if not session.closed or session.status in SESSION_TERMINAL:
            return
        jobs = [self.store.jobs[j] for j in session.jobs]
        if any(j.status not in JOB_TERMINAL for j in jobs):
            return
        stamp = now()
        final = "Failure(s)" if any(j.status == "Failed" for j in jobs) else "Succeeded"
        session.details.update(status=final, endExecutionTime=stamp, lastUpdatedTime=stamp)


def _seed(job_id: str) -> int:
    """Per-job simulator seed; ids made with uuid1 share their low bits, so hash the whole id."""
    return int(hashlib.sha256(job_id.encode()).hexdigest()[:8], 16)
