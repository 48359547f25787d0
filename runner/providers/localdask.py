"""The local target's circuits on a Dask cluster: `options: {dask: "tcp://HOST:8786"}` or `{dask: {workers: N}}`.

An address names a running scheduler (its workers need runner[qiskit] installed, the same
versions as here, for the counts to match); `{workers: N}` starts a LocalCluster of N one-thread
worker processes for the run and stops it at the end. distributed is imported only here, only
when such a target is used (`pip install 'runner[dask]'`).

Each create_many call's circuits go to the cluster in chunks, each chunk one task running
simulator.run_many on a worker. A job's counts depend on nothing but the job (see
runner.quantum.simulator), so they are bit-identical to the in-process run whatever the
chunking. The scheduler reruns the tasks of a worker that is lost mid-run (up to its
`allowed-failures`); and runner's intents are committed before the call, so an apply
interrupted while the cluster works is reconciled like any other local apply: nothing
outlives the process, so the jobs are run again, once.
"""

from __future__ import annotations

import importlib
import math
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from runner.errors import RunnerError

Problems = list[tuple[tuple[str | int, ...], str]]
TASKS_PER_WORKER = 2  # chunks per worker and call: enough to balance, few enough that transfer stays cheap
MIN_CHUNK = 16  # circuits per task at least: a task costs a few ms of scheduling


def check(value: Any) -> Problems:
    """The `dask` option: a scheduler address, or {workers: N}."""
    where: tuple[str | int, ...] = ("options", "dask")
    if isinstance(value, str):
        if "://" not in value and ":" not in value:
            return [(where, f"dask must be a scheduler address like tcp://HOST:8786 (got {value!r})")]
        return []
    if isinstance(value, Mapping):
        unknown = sorted(set(value) - {"workers"})
        if unknown:
            return [(where, f"dask takes only 'workers' (got {', '.join(map(str, unknown))})")]
        workers = value.get("workers", 1)
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            return [((*where, "workers"), f"dask workers must be a whole number >= 1 (got {workers!r})")]
        return []
    return [(where, "dask must be a scheduler address (tcp://HOST:8786) or {workers: N}")]


class Cluster:
    """A Dask client for one run: connected (or its LocalCluster started) on first use, closed at the end."""

    def __init__(self, setting: str | Mapping[str, Any]) -> None:
        self.setting = setting
        self._client: Any = None
        self._cluster: Any = None
        self._lock = threading.Lock()

    def client(self) -> Any:
        with self._lock:
            if self._client is None:
                self._client = self._connect()
            return self._client

    def _connect(self) -> Any:
        try:  # through importlib: distributed ships no complete types, and stays optional
            distributed: Any = importlib.import_module("distributed")
        except ImportError:
            raise RunnerError("the local target's dask option needs distributed: pip install 'runner[dask]'") from None
        if isinstance(self.setting, str):
            try:
                return distributed.Client(self.setting, timeout="20s")
            except OSError as exc:
                raise RunnerError(f"cannot reach the Dask scheduler at {self.setting}: {exc}") from None
        workers = int(self.setting.get("workers", 1))
        self._cluster = distributed.LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address="127.0.0.1:0", host="127.0.0.1"
        )
        return distributed.Client(self._cluster)

    def run_many(self, jobs: Sequence[Any]) -> list[Any]:
        """simulator.run_many on the cluster, in chunks; outputs in the jobs' order."""
        if not jobs:
            return []
        client = self.client()
        workers = max(1, sum(client.nthreads().values()))
        size = max(MIN_CHUNK, math.ceil(len(jobs) / (workers * TASKS_PER_WORKER)))
        chunks = [list(jobs[i : i + size]) for i in range(0, len(jobs), size)]
        futures = client.map(run_portable, chunks, pure=False)
        return [out for chunk in client.gather(futures) for out in chunk]

    def close(self) -> None:
        with self._lock:
            client, cluster, self._client, self._cluster = self._client, self._cluster, None, None
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()


def run_portable(jobs: Sequence[Any]) -> list[Any]:
    """simulator.run_many on a worker, its errors made plain so any of them crosses back to this process."""
    from runner.quantum.simulator import run_many

    return [
        RuntimeError(str(out).strip() or type(out).__name__) if isinstance(out, Exception) else out
        for out in run_many(jobs)
    ]
