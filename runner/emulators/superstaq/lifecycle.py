"""How an emulated Superstaq job's circuits move through their statuses.

awaiting_simulation (simulators) or pending (QPUs) -> after faults.queue_delay, simulating or
running -> completed with counts, or failed. The circuits of a job run one after another, each
taking faults.run_time, so circuit 0 has its counts while the later ones still run (what a
per-circuit wait sees). Circuits wider than the target fail at submission, so tests see the failure
at once; a circuit cancelled meanwhile stays cancelled.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

from runner.emulators.server import Emulator
from runner.emulators.superstaq import execute
from runner.emulators.superstaq.store import ACTIVE, QUEUED, TERMINAL, CircuitRecord, JobRecord, Store

INJECTED_FAILURE = "injected fault: the device reported an error"
Outcome = tuple[dict[str, int] | None, str | None]


class Lifecycle:
    """Submission and the scheduled steps after it; call these without the emulator's lock held."""

    def __init__(self, emulator: Emulator, store: Store) -> None:
        self.emu, self.store = emulator, store

    def submit(self, target: object, qpy: object, shots: object, **fields: Any) -> JobRecord:
        """Validate and store a job, failing too-wide circuits now, and schedule the rest."""
        dev = execute.device(target)
        if not isinstance(shots, int) or isinstance(shots, bool) or shots < 1:
            raise execute.Invalid(f"shots must be a positive integer, not {shots!r}")
        with execute.QISKIT:
            circuits = execute.decode(qpy)
            status = QUEUED[0] if dev.simulator else QUEUED[1]
            records = [CircuitRecord(execute.encode(c), c.num_qubits, status) for c in circuits]
        for c, record in zip(circuits, records, strict=True):
            if c.num_qubits > dev.qubits:
                record.move("failed", f"circuit '{c.name}' uses {c.num_qubits} qubits; {dev.name} has {dev.qubits}")
        em = self.emu
        with em.lock:
            job = JobRecord(str(uuid.uuid4()), dev.name, shots, records, **fields)
            job.fail, job.seed = em.chance(em.faults.job_failure_rate), em.rng.randrange(2**31)
            self.store.jobs[job.id] = job
        em.scheduler.later(em.faults.queue_delay, partial(self._start, job.id))
        return job

    def _start(self, job_id: str) -> None:
        em = self.emu
        with em.lock:
            job = self.store.jobs[job_id]
            todo = [i for i, c in enumerate(job.circuits) if c.status in QUEUED]
            for i in todo:
                job.circuits[i].move(ACTIVE[0] if job.circuits[i].status == QUEUED[0] else ACTIVE[1])
        # one circuit after another, each taking run_time: the first has counts while the others still run
        for k, i in enumerate(todo):
            em.scheduler.later(em.faults.run_time * (k + 1), partial(self._finish, job_id, {i: self._outcome(job, i)}))

    def _outcome(self, job: JobRecord, index: int) -> Outcome:
        if job.fail:
            return None, INJECTED_FAILURE
        return execute.run(job.circuits[index].qpy, job.shots, job.seed + index)

    def _finish(self, job_id: str, outcomes: Mapping[int, Outcome]) -> None:
        with self.emu.lock:
            job = self.store.jobs[job_id]
            for i, (counts, error) in outcomes.items():
                circuit = job.circuits[i]
                if circuit.status not in ACTIVE:
                    continue  # cancelled meanwhile
                circuit.counts = counts
                circuit.move("failed" if error else "completed", error)

    def cancel(self, targets: Sequence[tuple[JobRecord, int]]) -> list[tuple[JobRecord, int]]:
        """Cancel circuits that can still change; returns those cancelled."""
        done = []
        with self.emu.lock:
            for job, i in targets:
                if job.circuits[i].status not in TERMINAL:
                    job.circuits[i].move("cancelled", "cancelled by the user")
                    done.append((job, i))
        return done
