"""How an emulated job moves, and what its end does to its session, as the recorded real service shows it.

Jobs (../shared/providers/recordings/azure): Waiting, then still Waiting with
`quantumComputingData: {"count": 1}` halfway through the queue -> Executing (beginExecutionTime)
-> Finishing (endExecutionTime; IonQ's recording shows it) -> Succeeded with its costEstimate;
or Executing -> Failed with errorData. A
job the target cannot run is Failed in the PUT's own response; an outputDataFormat the target
does not write fails at the end, as the recorded CannotTranslateOutputData. Queueing lasts
`faults.queue_delay`, running `faults.run_time`; `faults.job_failure_rate` fails jobs on purpose.
Every step re-checks the status, so a cancelled job stays cancelled.

Sessions: Waiting until their first job, then Executing. A failed job under jobFailurePolicy
Abort fails the session at once (Failed, endExecutionTime, no more jobs: 400 InvalidJobDefinition).
Under Continue the session says `Failure(s)` from then on while it stays open and takes jobs;
closing it ends it Failed (Succeeded when no job failed), once its last job has finished.
Sessions carry no errorData (none of the recorded ones does).
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

PARTIAL = "Failure(s)"
FINISHING_S = 0.01  # how long a job says Finishing: long enough to be seen, short enough not to slow tests


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
            target, formats = str(details["target"]), (str(details["inputDataFormat"]), details["outputDataFormat"])
            work = prepare(target, formats[0], details["inputParams"], data, formats[1])
        except JobError as exc:
            self.end(item, "Failed", exc)
            return
        half = self.faults.queue_delay / 2  # the recorded job waits a while before it shows its circuit count
        self.scheduler.later(half, lambda: self._accepted(item, work, half))

    def _accepted(self, item: Item, work: Work, rest: float) -> None:
        with self.lock:
            if item.status != "Waiting":
                return  # cancelled while queued
            item.details.update(quantumComputingData={"count": 1}, lastModifiedTime=now())
        self.scheduler.later(rest, lambda: self._start(item, work))

    def _start(self, item: Item, work: Work) -> None:
        with self.lock:
            if item.status != "Waiting":
                return  # cancelled while queued
            item.move("Executing", beginExecutionTime=now(), lastModifiedTime=now())
        self.scheduler.later(self.faults.run_time, lambda: self._finish(item, work))

    def _finish(self, item: Item, work: Work) -> None:
        error, output, cost = self._run(item, work)
        with self.lock:
            if item.status != "Executing":
                return  # cancelled while running
            if error is not None:
                self.end(item, "Failed", error)
                return
            storage.write_output(self.store, str(item.details["outputDataUri"]), output)
            stamp = now()
            item.move("Finishing", endExecutionTime=stamp, lastModifiedTime=stamp)
        self.scheduler.later(FINISHING_S, lambda: self._succeed(item, cost))

    def _run(self, item: Item, work: Work) -> tuple[JobError | None, bytes, dict[str, Any] | None]:
        """Simulate outside the lock (other requests go on meanwhile): (error, output, cost)."""
        if self.chance(self.faults.job_failure_rate):
            return JobError("JobFailed", "The job failed on the target (injected failure)."), b"", None
        try:
            output = execute(work, _seed(str(item.details["id"])))
        except Exception as exc:
            return JobError("ExecutionFailed", f"The target could not run the circuit: {exc}"), b"", None
        if work.unreadable_output:
            provider = item.details["providerId"]
            return JobError("CannotTranslateOutputData", _UNTRANSLATABLE.format(provider=provider)), b"", None
        return None, output, cost_estimate(str(item.details["target"]), work)

    def _succeed(self, item: Item, cost: dict[str, Any] | None) -> None:
        with self.lock:
            if item.status != "Finishing":
                return
            item.details["costEstimate"] = cost
            self.end(item, "Succeeded")

    def end(self, item: Item, status: str, error: JobError | None = None) -> None:
        stamp = now()
        fields: dict[str, Any] = {"lastModifiedTime": stamp}
        if item.details.get("endExecutionTime") is None:
            fields["endExecutionTime"] = stamp
        if status == "Cancelled":
            fields["cancellationTime"] = stamp
        if error is not None:
            fields["errorData"] = {"code": error.code, "message": error.message}
        item.move(status, **fields)
        session = self.store.sessions.get(str(item.details.get("sessionId")))
        if session is not None:
            self._after_job(session, item)

    def _after_job(self, session: Item, job: Item) -> None:
        """Abort: the first failed job ends the session. Continue: it says Failure(s) and stays open."""
        _add_cost(session, job.details.get("costEstimate"))
        if job.status == "Failed" and session.status not in SESSION_TERMINAL:
            if session.details.get("jobFailurePolicy") == "Continue":
                session.move(PARTIAL)
            else:
                session.move("Failed", endExecutionTime=now())
                session.closed = True
        self.settle(session)

    def started(self, session: Item) -> None:
        """A job was submitted into the session: a waiting session starts executing."""
        if session.status == "Waiting":
            session.move("Executing")

    def settle(self, session: Item) -> None:
        """A closed session ends once all its jobs have: Failed if any failed, else Succeeded."""
        if not session.closed or session.status in SESSION_TERMINAL:
            return
        jobs = [self.store.jobs[j] for j in session.jobs]
        if any(j.status not in JOB_TERMINAL for j in jobs):
            return
        failed = session.status == PARTIAL or any(j.status == "Failed" for j in jobs)
        session.move("Failed" if failed else "Succeeded", endExecutionTime=now())


_UNTRANSLATABLE = (
    "The output returned by '{provider}' cannot be translated as specified by 'outputDataFormat'. "
    "Please ensure that 'outputDataFormat' is correct."
)


def _add_cost(session: Item, cost: Any) -> None:
    """A session's costEstimate sums its jobs' totals, with no events of its own (as recorded)."""
    if not isinstance(cost, dict):
        return
    current = session.details.get("costEstimate") or {"currencyCode": cost["currencyCode"], "events": []}
    total = float(current.get("estimatedTotal") or 0.0) + float(cost.get("estimatedTotal") or 0.0)
    session.details["costEstimate"] = {**current, "estimatedTotal": total}


def _seed(job_id: str) -> int:
    """Per-job simulator seed; ids made with uuid1 share their low bits, so hash the whole id."""
    return int(hashlib.sha256(job_id.encode()).hexdigest()[:8], 16)
