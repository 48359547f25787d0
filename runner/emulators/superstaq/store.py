"""The Superstaq emulator's one job store, shared by API v0.2.0 and v0.3.0.

A job has a uuid (its v0.3.0 id) and one record per circuit; circuit i of job J answers to the
v0.2.0 id `J_i` (the real service's mapping between the versions is not documented; runner's
v0.2.0 find relies on this one). Statuses are kept as v0.3.0 CircuitStatus values and shown in
v0.2.0 as capitalised names. Spelling rule for a cancelled circuit in v0.2.0 (the real service
passes the vendor's spelling through): targets whose vendor prefix is `ibmq` or `aws` say
`Canceled` (what cirq-superstaq treats as terminal), all others say `Cancelled` (what
qiskit-superstaq treats as terminal), so `ss_unconstrained_simulator` suits qiskit clients.

Lifecycle: awaiting_simulation (simulators) or pending (QPUs) -> after faults.queue_delay,
simulating or running -> after faults.run_time, completed with counts, or failed. Circuits
wider than the target fail at submission, so tests see the failure at once. Counts are stored
big-endian (classical bit 0 first), as the service reports them.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import partial
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from qiskit import QuantumCircuit

    from runner.emulators.server import Emulator

EMAIL = "emulator@example.com"
TARGET_NAME = r"^([A-Za-z0-9-]+)_([A-Za-z0-9-.]+)_([a-z]+)"
CANCELED_VENDORS = ("ibmq", "aws")
QUEUED = ("awaiting_simulation", "pending")
ACTIVE = ("simulating", "running")
TERMINAL = ("completed", "failed", "cancelled", "deleted", "unrecognized")
V2_NAMES = {
    "received": "Submitted",
    "awaiting_compile": "Queued",
    "awaiting_submission": "Queued",
    "awaiting_simulation": "Queued",
    "pending": "Queued",
    "compiling": "Running",
    "simulating": "Running",
    "running": "Running",
    "completed": "Done",
    "failed": "Failed",
    "unrecognized": "Failed",
    "deleted": "Deleted",
}
INJECTED_FAILURE = "injected fault: the device reported an error"
# qiskit work runs one call at a time and no circuit object crosses threads (each job thread
# reads its circuits from QPY): Aer holds the GIL anyway, and qiskit's thread-safety is not
# something to rely on (see _preload_qiskit in superstaq.py for a crash we measured).
QISKIT = threading.Lock()


class Invalid(Exception):
    """A request the service refuses with 400 and this message."""


@dataclass(frozen=True)
class Device:
    """An emulated target; widths are the emulator's (small enough to simulate here)."""

    name: str
    qubits: int
    simulator: bool
    available: bool = True
    retired: bool = False

    def flags(self) -> dict[str, bool]:
        return {
            "supports_submit": not self.retired,
            "supports_submit_qubo": self.simulator,
            "supports_compile": not self.retired,
            "available": self.available,
            "retired": self.retired,
            "accessible": True,
        }


DEVICES = {
    d.name: d
    for d in (
        Device("ss_unconstrained_simulator", 20, True),
        Device("aws_sv1_simulator", 20, True),
        Device("ibmq_fez_qpu", 16, False),
        Device("cq_sqale_qpu", 12, False),
        Device("qtm_h2-1_qpu", 20, False),
        Device("ibmq_brisbane_qpu", 16, False, available=False, retired=True),
    )
}


@dataclass
class CircuitRecord:
    qpy: str  # this circuit alone, base64 QPY
    num_qubits: int
    status: str
    message: str | None = None
    counts: dict[str, int] | None = None
    updated: float = field(default_factory=time.time)

    def move(self, status: str, message: str | None = None) -> None:
        self.status, self.message, self.updated = status, message, time.time()


@dataclass
class JobRecord:
    id: str
    target: str
    shots: int
    circuits: list[CircuitRecord]
    job_type: str = "submit"
    dry_run: bool = False
    priority: int = 0
    tags: list[str] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    submitted: float = field(default_factory=time.time)
    fail: bool = False
    seed: int = 0

    def v2_ids(self) -> list[str]:
        return [f"{self.id}_{i}" for i in range(len(self.circuits))]

    def v2_status(self, circuit: CircuitRecord) -> str:
        if circuit.status == "cancelled":
            return "Canceled" if self.target.split("_", 1)[0] in CANCELED_VENDORS else "Cancelled"
        return V2_NAMES[circuit.status]


def device(name: object) -> Device:
    """The target, or Invalid naming what is wrong with it."""
    import re

    if not isinstance(name, str) or not re.fullmatch(TARGET_NAME, name):
        raise Invalid(
            f"{name!r} is not a valid target name: expected '<provider>_<device>_<qpu|simulator>', "
            "e.g. 'ss_unconstrained_simulator'"
        )
    found = DEVICES.get(name)
    if found is None:
        raise Invalid(f"{name!r} is not a Superstaq target (the targets endpoint lists them)")
    if found.retired:
        raise Invalid(f"{name!r} is retired and accepts no jobs")
    return found


def load_circuits(qpy: object) -> list[QuantumCircuit]:
    from runner.quantum.circuits import from_qpy_b64

    if not isinstance(qpy, str) or not qpy:
        raise Invalid("circuits are required: base64-encoded QPY (qiskit circuits)")
    try:
        circuits = from_qpy_b64(qpy)
    except Exception as exc:
        raise Invalid(f"circuits are not base64-encoded QPY: {exc}") from None
    if not circuits:
        raise Invalid("the QPY payload holds no circuits")
    return circuits


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=timezone.utc).isoformat()


class Store:
    """Jobs of both API versions; every method expects to be called without the lock held."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.jobs: dict[str, JobRecord] = {}

    def submit(self, target: object, qpy: object, shots: object, **fields: Any) -> JobRecord:
        """Validate and store a job, failing too-wide circuits now, and schedule the rest."""
        from runner.quantum.circuits import qpy_b64

        dev = device(target)
        if not isinstance(shots, int) or isinstance(shots, bool) or shots < 1:
            raise Invalid(f"shots must be a positive integer, not {shots!r}")
        with QISKIT:
            circuits = load_circuits(qpy)
            records = [
                CircuitRecord(qpy_b64([c]), c.num_qubits, QUEUED[0] if dev.simulator else QUEUED[1]) for c in circuits
            ]
        for c, record in zip(circuits, records, strict=True):
            if c.num_qubits > dev.qubits:
                record.move("failed", f"circuit '{c.name}' uses {c.num_qubits} qubits; {dev.name} has {dev.qubits}")
        em = self.emulator
        with em.lock:
            job = JobRecord(str(uuid.uuid4()), dev.name, shots, records, **fields)
            job.fail, job.seed = em.chance(em.faults.job_failure_rate), em.rng.randrange(2**31)
            self.jobs[job.id] = job
        em.scheduler.later(em.faults.queue_delay, partial(self._start, job.id))
        return job

    def _start(self, job_id: str) -> None:
        em = self.emulator
        with em.lock:
            job = self.jobs[job_id]
            todo = [i for i, c in enumerate(job.circuits) if c.status in QUEUED]
            for i in todo:
                job.circuits[i].move(ACTIVE[0] if job.circuits[i].status == QUEUED[0] else ACTIVE[1])
        outcomes = {i: (None, INJECTED_FAILURE) if job.fail else _simulate(job, i) for i in todo}
        em.scheduler.later(em.faults.run_time, partial(self._finish, job_id, outcomes))

    def _finish(self, job_id: str, outcomes: Mapping[int, tuple[dict[str, int] | None, str | None]]) -> None:
        with self.emulator.lock:
            job = self.jobs[job_id]
            for i, (counts, error) in outcomes.items():
                circuit = job.circuits[i]
                if circuit.status not in ACTIVE:
                    continue  # cancelled meanwhile
                circuit.counts = counts
                circuit.move("failed" if error else "completed", error)

    def circuit(self, v2_id: object) -> tuple[JobRecord, int] | None:
        """The job and index behind a v0.2.0 id, if it exists."""
        job_id, _, index = str(v2_id).rpartition("_")
        job = self.jobs.get(job_id)
        if job is None or not index.isdigit() or int(index) >= len(job.circuits):
            return None
        return job, int(index)

    def cancel(self, targets: Sequence[tuple[JobRecord, int]]) -> list[tuple[JobRecord, int]]:
        """Cancel circuits that can still change; returns those cancelled."""
        done = []
        with self.emulator.lock:
            for job, i in targets:
                if job.circuits[i].status not in TERMINAL:
                    job.circuits[i].move("cancelled", "cancelled by the user")
                    done.append((job, i))
        return done

    def query(self, filters: Mapping[str, list[str]]) -> list[JobRecord]:
        """Jobs matching a v0.3.0 JobQuery: values of one field are OR-ed, fields AND-ed."""
        after, before = _time(filters, "submitted_after"), _time(filters, "submitted_before")
        low, high = _int(filters, "min_priority"), _int(filters, "max_priority")
        tests: list[tuple[str, Callable[[JobRecord, list[str]], bool]]] = [
            ("job_id", lambda j, v: j.id in v),
            ("target_name", lambda j, v: j.target in v),
            ("status", lambda j, v: any(c.status in v for c in j.circuits)),
            ("tags", lambda j, v: bool(set(j.tags) & set(v))),
            ("user_email", lambda j, v: EMAIL in v),
        ]
        with self.emulator.lock:
            jobs = sorted(self.jobs.values(), key=lambda j: j.submitted)
        return [
            j
            for j in jobs
            if all(test(j, filters[name]) for name, test in tests if filters.get(name))
            and (after is None or j.submitted >= after)
            and (before is None or j.submitted <= before)
            and (low is None or j.priority >= low)
            and (high is None or j.priority <= high)
        ]


def _simulate(job: JobRecord, index: int) -> tuple[dict[str, int] | None, str | None]:
    """(big-endian counts, None) or (None, error) for one circuit, read from its own QPY here."""
    from runner.quantum.circuits import from_qpy_b64
    from runner.quantum.simulator import run_circuit

    try:
        with QISKIT:
            counts = run_circuit(from_qpy_b64(job.circuits[index].qpy)[0], job.shots, job.seed + index)
    except Exception as exc:  # the circuit fails, not the emulator
        return None, f"simulation failed: {exc}"
    return {k.replace(" ", "")[::-1]: n for k, n in counts.items()}, None


def _time(filters: Mapping[str, list[str]], name: str) -> float | None:
    values = filters.get(name)
    if not values:
        return None
    try:
        moment = datetime.fromisoformat(values[-1])
    except ValueError:
        raise Invalid(f"{name} is not an ISO-8601 time: {values[-1]!r}") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp()


def _int(filters: Mapping[str, list[str]], name: str) -> int | None:
    values = filters.get(name)
    if not values:
        return None
    try:
        return int(values[-1])
    except ValueError:
        raise Invalid(f"{name} must be an integer, not {values[-1]!r}") from None
