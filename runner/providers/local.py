"""The embedded default: jobs run on qiskit-aer in this machine, seeded from their fingerprint.

A job completes inside `create`, so apply records its result at once. Many jobs are spread over
a process pool (Aer holds the GIL, so threads would not use a second core); a handful run
in-process, where starting workers would cost more than it saves.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from typing import Any

from runner.errors import RejectedError
from runner.fingerprint import seed_from
from runner.model import Attrs, Target
from runner.providers.base import (
    CANCELLED,
    FAILED,
    PENDING,
    SUCCEEDED,
    Context,
    Observation,
    ProviderSpec,
    RemoteRef,
    Result,
    Submission,
)

SPEC = ProviderSpec(
    name="local",
    kinds=frozenset({"job", "session"}),
    default_target="local.aer",
    allowed=frozenset(),
    multi_program=True,
    description="qiskit-aer on this machine; no account needed",
)
POOL_THRESHOLD = 8  # fewer jobs than this always run in-process
POOL_STARTUP_S = 1.0  # measured: a forkserver with qiskit preloaded plus two workers
METHODS = ("automatic", "statevector", "density_matrix", "stabilizer", "matrix_product_state")


def check_target(target: Target) -> list[tuple[tuple[str | int, ...], str]]:
    method = target.options.get("method", "automatic")
    if method not in METHODS:
        return [(("options", "method"), f"unknown Aer method '{method}' (one of: {', '.join(METHODS)})")]
    return []


def make(target: Target, context: Context) -> LocalProvider:
    return LocalProvider(target, context)


class LocalProvider:
    """Runs circuits with runner.simulator; sessions are bookkeeping only."""

    spec = SPEC

    def __init__(self, target: Target, context: Context) -> None:
        from runner.simulator import warm

        warm()  # see simulator.warm: never let the first qiskit import happen on a worker thread
        self.method = str(target.options.get("method", "automatic"))
        self.workers = _worker_count(target, context)
        self._pool: Executor | None = None
        self._lock = threading.Lock()
        self._inline = threading.Lock()
        self._inline_runs, self._inline_seconds = 0, 0.0
        self.expected = context.expected_creates
        self._observed: dict[str, Observation] = {}

    def create(self, sub: Submission) -> Observation:
        remote_id = f"local-{sub.token[:20]}"
        if sub.kind == "session":
            return self._remember(Observation(remote_id, PENDING, "open"))
        if sub.kind != "job":
            raise RejectedError(f"{sub.address}: the local target does not run {sub.kind}s")
        try:
            result = self._simulate(sub)
        except Exception as exc:  # a circuit the engine cannot run fails the job, not apply
            message = str(exc).strip().strip("'\"") or type(exc).__name__
            return self._remember(Observation(remote_id, FAILED, "error", {"error": message}))
        return self._remember(Observation(remote_id, SUCCEEDED, "done", result=result))

    def add_jobs(self, batch: RemoteRef, subs: Sequence[Submission]) -> list[Observation]:
        raise RejectedError("the local target has no batches")

    def observe(self, refs: Sequence[RemoteRef]) -> list[Observation]:
        # local jobs finish inside create; a session stays open until closed
        return [
            self._observed.get(r.remote_id, Observation(r.remote_id, PENDING if r.kind == "session" else SUCCEEDED))
            for r in refs
        ]

    def describe(self) -> dict[str, Any]:
        """The engine jobs run on, recorded with every generation."""
        from runner.simulator import ENGINE, versions

        return {"engine": ENGINE, "method": self.method, **versions()}

    def result(self, ref: RemoteRef) -> Result | None:
        obs = self._observed.get(ref.remote_id)
        return obs.result if obs else None

    def find(self, sub: Submission, since: float | None = None) -> list[Observation]:
        return []  # nothing outlives the process; an unfinished local job is simply run again

    def cancel(self, ref: RemoteRef) -> Observation:
        # local jobs finish inside create; only an open session can be cancelled
        return self._remember(Observation(ref.remote_id, CANCELLED if ref.kind == "session" else SUCCEEDED))

    def update(self, ref: RemoteRef, attrs: Attrs) -> None:
        return None  # tags and metadata live only in the state file

    def close(self, ref: RemoteRef) -> Observation:
        return self._remember(Observation(ref.remote_id, SUCCEEDED, "closed"))

    def shutdown(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def _remember(self, obs: Observation) -> Observation:
        self._observed[obs.remote_id] = obs
        return obs

    def _simulate(self, sub: Submission) -> Result:
        from runner.simulator import SimJob, run

        seed = seed_from(sub.fingerprint)
        jobs = [
            SimJob(
                p.text, int(sub.spec["shots"]), seed + i, dict(sub.spec.get("params", {})), p.include_dir, self.method
            )
            for i, p in enumerate(sub.programs)
        ]
        pool = self._executor()
        if pool is None:
            with self._inline:  # Aer holds the GIL: concurrent in-process runs only contend
                started = time.perf_counter()
                outputs = [run(j) for j in jobs]
                self._inline_seconds += time.perf_counter() - started
                self._inline_runs += 1
        else:
            outputs = [f.result() for f in [pool.submit(run, j) for j in jobs]]
        data = {k: v for k, v in outputs[0].items() if k != "counts"}
        if len(outputs) > 1:
            data["circuits"] = [{k: v for k, v in o.items() if k != "counts"} for o in outputs]
        return Result(counts=tuple(o["counts"] for o in outputs), shots=jobs[0].shots, data=data)

    def _executor(self) -> Executor | None:
        if self.workers <= 1 or (self._pool is None and not self._pool_pays_off()):
            return None
        with self._lock:
            if self._pool is None:
                import multiprocessing

                ctx = multiprocessing.get_context("forkserver")
                ctx.set_forkserver_preload(["runner.simulator", "qiskit_aer", "qiskit.qasm3"])
                self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=ctx)
            return self._pool

    def _pool_pays_off(self) -> bool:
        """Start worker processes only when the work left clearly outweighs their start-up."""
        if self._inline_runs < 3:
            return False
        left = self.expected - self._inline_runs
        return left * (self._inline_seconds / self._inline_runs) > POOL_STARTUP_S * 2


def _worker_count(target: Target, context: Context) -> int:
    configured = target.options.get("workers")
    if configured is not None:
        return max(1, int(configured))
    if context.expected_creates < POOL_THRESHOLD:
        return 1
    return min(os.cpu_count() or 1, context.expected_creates)
