"""The embedded default: jobs run on qiskit-aer in this machine, seeded from their fingerprint.

A job completes inside `create`, so apply records its result at once. apply hands the local
target its jobs in bundles (create_many): their circuits go to runner.quantum.simulator.run_many
together, one Aer call per program and bundle where the program allows, each job's counts drawn
with its own seed, so they do not depend on the bundle. In-process, one bundle runs at a time:
Aer spreads each call over every core with OpenMP, and concurrent in-process runs only contend.
`options: {workers: N}` runs each circuit in a process pool instead (on 2 cores it was slower at
every size measured: 2,500 two-qubit jobs 12.6 s pooled vs 6.3 s in-process, before bundling), and
`options: {dask: ...}` sends the bundles' circuits to a Dask cluster (runner.providers.localdask).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from typing import TYPE_CHECKING, Any

from runner.domain.fingerprint import seed_from
from runner.domain.model import Target
from runner.domain.remote import Observation, RemoteRef, Result
from runner.domain.vocabulary import CANCELLED, FAILED, PENDING, SUCCEEDED
from runner.errors import RejectedError
from runner.providers.base import Context, ProviderSpec, Submission

if TYPE_CHECKING:
    from runner.providers.localdask import Cluster
    from runner.quantum.simulator import SimJob

Output = dict[str, Any]  # one circuit's outcome as the simulator reports it

# Qubits the local simulator takes, per Aer method. A statevector of n qubits holds 2^n amplitudes of
# 16 bytes (30 qubits: 16 GiB) and a density matrix 4^n (15 qubits: 16 GiB); the stabilizer and
# matrix-product-state methods grow far slower, so only runner's own program limit applies to them.
# "automatic" may pick a statevector, so it gets the statevector's limit.
QUBITS = {"automatic": 30, "statevector": 30, "density_matrix": 15}


def capacity(target: Target) -> int | None:
    """Most qubits a program may use on this target's Aer method."""
    return QUBITS.get(str(target.options.get("method", "automatic")))


SPEC = ProviderSpec(
    name="local",
    kinds=frozenset({"job", "session"}),
    default_target="local.aer",
    allowed=frozenset(),
    multi_program=True,
    description="qiskit-aer on this machine; no account needed",
    # in-process: an interrupted job never ran, and nothing outlives the process, so "not found" is the truth
    findable=frozenset({"job", "session"}),
    capacity=capacity,
)
METHODS = ("automatic", "statevector", "density_matrix", "stabilizer", "matrix_product_state")


def check_target(target: Target) -> list[tuple[tuple[str | int, ...], str]]:
    method = target.options.get("method", "automatic")
    found: list[tuple[tuple[str | int, ...], str]] = []
    if method not in METHODS:
        found.append((("options", "method"), f"unknown Aer method '{method}' (one of: {', '.join(METHODS)})"))
    workers = target.options.get("workers", 1)
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        found.append((("options", "workers"), f"workers must be a whole number >= 1 (got {workers!r})"))
    if "dask" in target.options:
        from runner.providers import localdask

        found.extend(localdask.check(target.options["dask"]))
        if "workers" in target.options:
            found.append((("options",), "give either workers (processes here) or dask (a cluster), not both"))
    return found


def make(target: Target, context: Context) -> LocalProvider:
    return LocalProvider(target, context)


class LocalProvider:
    """Runs circuits with runner.quantum.simulator; sessions are bookkeeping only."""

    spec = SPEC

    def __init__(self, target: Target, context: Context) -> None:
        from runner.quantum.simulator import warm

        warm()  # see simulator.warm: never let the first qiskit import happen on a worker thread
        self.method = str(target.options.get("method", "automatic"))
        self.workers = int(target.options.get("workers", 1))
        self.cluster: Cluster | None = None
        if "dask" in target.options:
            from runner.providers.localdask import Cluster

            self.cluster = Cluster(target.options["dask"])
        self._pool: Executor | None = None
        self._lock = threading.Lock()
        self._inline = threading.Lock()
        self._observed: dict[str, Observation] = {}

    def create(self, sub: Submission) -> Observation:
        return self.create_many([sub])[0]

    def create_many(self, subs: Sequence[Submission]) -> list[Observation]:
        """Sessions are bookkeeping; the jobs' circuits go to the simulator together (see simulator.run_many)."""
        out: list[Observation | None] = [None] * len(subs)
        jobs: list[tuple[int, Submission]] = []
        for i, sub in enumerate(subs):
            remote_id = f"local-{sub.token[:20]}"
            if sub.kind == "session":
                out[i] = self._remember(Observation(remote_id, PENDING, "open"))
            elif sub.kind != "job":
                raise RejectedError(f"{sub.address}: the local target does not run {sub.kind}s")
            else:
                jobs.append((i, sub))
        for (i, sub), outputs in zip(jobs, self._simulate([sub for _, sub in jobs]), strict=True):
            out[i] = self._remember(_observation(f"local-{sub.token[:20]}", sub, outputs))
        return [o for o in out if o is not None]

    def observe(self, refs: Sequence[RemoteRef]) -> list[Observation]:
        # local jobs finish inside create; a session stays open until closed
        return [
            self._observed.get(r.remote_id, Observation(r.remote_id, PENDING if r.kind == "session" else SUCCEEDED))
            for r in refs
        ]

    def describe(self) -> dict[str, Any]:
        """The engine jobs run on, recorded with every generation."""
        from runner.quantum.simulator import ENGINE, versions

        return {"engine": ENGINE, "method": self.method, **versions()}

    def result(self, ref: RemoteRef) -> Result | None:
        obs = self._observed.get(ref.remote_id)
        return obs.result if obs else None

    def find(self, sub: Submission, since: float | None = None) -> list[Observation]:
        return []  # nothing outlives the process; an unfinished local job is simply run again

    def cancel(self, ref: RemoteRef) -> Observation:
        # local jobs finish inside create; only an open session can be cancelled
        return self._remember(Observation(ref.remote_id, CANCELLED if ref.kind == "session" else SUCCEEDED))

    def close(self, ref: RemoteRef) -> Observation:
        return self._remember(Observation(ref.remote_id, SUCCEEDED, "closed"))

    def requests(self) -> int:
        return 0  # in-process: no service to ask

    def shutdown(self) -> None:
        if self.cluster is not None:
            self.cluster.close()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def _remember(self, obs: Observation) -> Observation:
        self._observed[obs.remote_id] = obs
        return obs

    def _simulate(self, subs: Sequence[Submission]) -> list[list[Output | Exception]]:
        """Each submission's circuits simulated: one output (or the error) per program."""
        from runner.quantum.simulator import run_many

        jobs = [job for sub in subs for job in sim_jobs(sub, self.method)]
        pool = self._executor()
        if self.cluster is not None:
            flat = self.cluster.run_many(jobs)
        elif pool is None:
            with self._inline:  # Aer already uses every core: concurrent in-process runs only contend
                flat = run_many(jobs)
        else:
            flat = [out for f in [pool.submit(run_many, [j]) for j in jobs] for out in f.result()]
        per_sub, at = [], 0
        for sub in subs:
            per_sub.append(flat[at : at + len(sub.programs)])
            at += len(sub.programs)
        return per_sub

    def _executor(self) -> Executor | None:
        if self.workers <= 1:
            return None
        with self._lock:
            if self._pool is None:
                import multiprocessing

                ctx = multiprocessing.get_context("forkserver")
                ctx.set_forkserver_preload(["runner.quantum.simulator", "qiskit_aer", "qiskit.qasm3"])
                self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=ctx)
            return self._pool


def sim_jobs(sub: Submission, method: str) -> list[SimJob]:
    """The circuits of one job, each seeded from the job's fingerprint and its place in the job."""
    from runner.quantum.simulator import SimJob

    seed, shots, params = seed_from(sub.fingerprint), int(sub.spec["shots"]), dict(sub.spec.get("params", {}))
    return [SimJob(p.text, shots, seed + i, params, p.include_dir, method) for i, p in enumerate(sub.programs)]


def _observation(remote_id: str, sub: Submission, outputs: Sequence[Output | Exception]) -> Observation:
    """A job's outcome: succeeded with its counts, or failed with the engine's first error."""
    for out in outputs:
        if isinstance(out, Exception):  # a circuit the engine cannot run fails the job, not apply
            message = str(out).strip().strip("'\"") or type(out).__name__
            return Observation(remote_id, FAILED, "error", {"error": message})
    done = [o for o in outputs if not isinstance(o, Exception)]
    data = {k: v for k, v in done[0].items() if k != "counts"}
    if len(done) > 1:
        data["circuits"] = [{k: v for k, v in o.items() if k != "counts"} for o in done]
    return Observation(
        remote_id,
        SUCCEEDED,
        "done",
        result=Result(counts=tuple(o["counts"] for o in done), shots=done[0]["shots"], data=data),
    )
