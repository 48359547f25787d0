"""The Superstaq emulator's one job store, shared by API v0.2.0 and v0.3.0, and how its records look on
the wire of each version.

A job has a uuid (its v0.3.0 id) and one record per circuit; circuit i of job J answers to the
v0.2.0 id `J_i` (the real service's mapping between the versions is not documented; runner's
v0.2.0 find relies on this one). Statuses are kept as v0.3.0 CircuitStatus values and shown in
v0.2.0 as capitalised names. Spelling rule for a cancelled circuit in v0.2.0 (the real service
passes the vendor's spelling through): targets whose vendor prefix is `ibmq` or `aws` say
`Canceled` (what cirq-superstaq treats as terminal), all others say `Cancelled` (what
qiskit-superstaq treats as terminal), so `ss_unconstrained_simulator` suits qiskit clients.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from runner.emulators.superstaq.execute import Invalid

EMAIL = "emulator@example.com"
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


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=timezone.utc).isoformat()


class Store:
    """Jobs of both API versions; the methods take the emulator's lock themselves."""

    def __init__(self, lock: threading.RLock) -> None:
        self.lock = lock
        self.jobs: dict[str, JobRecord] = {}

    def circuit(self, v2_id: object) -> tuple[JobRecord, int] | None:
        """The job and index behind a v0.2.0 id, if it exists."""
        job_id, _, index = str(v2_id).rpartition("_")
        job = self.jobs.get(job_id)
        if job is None or not index.isdigit() or int(index) >= len(job.circuits):
            return None
        return job, int(index)

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
        with self.lock:
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


# the wire -----------------------------------------------------------------------------------------
def v2_job(job: JobRecord, i: int) -> dict[str, Any]:
    """One circuit as a v0.2.0 job dict; samples only once it is done."""
    c = job.circuits[i]
    out: dict[str, Any] = {
        "job_id": job.v2_ids()[i],
        "status": job.v2_status(c),
        "target": job.target,
        "shots": job.shots,
        "num_qubits": c.num_qubits,
        "input_circuit": c.qpy,
        "circuit_type": "qiskit",
        "provider_id": f"emulator-{job.id}-{i}",
        "pulse_gate_circuits": None,
        "state_vector": None,
    }
    if c.counts is not None:
        out["samples"] = c.counts
        out["data"] = {"histogram": {k: n / job.shots for k, n in c.counts.items()}}
        out["compiled_circuit"] = c.qpy
    if c.status == "failed":
        out["failure"] = {"error": c.message or "failed"}
    return out


def v3_job(job: JobRecord) -> dict[str, Any]:
    """A job as v0.3.0 JobData: parallel lists, one entry per circuit."""
    cs, n = job.circuits, len(job.circuits)
    return {
        "job_type": job.job_type,
        "statuses": [c.status for c in cs],
        "status_messages": [c.message for c in cs],
        "user_email": EMAIL,
        "target": job.target,
        "provider_id": [f"emulator-{job.id}-{i}" for i in range(n)],
        "num_circuits": n,
        "compiled_circuits": [c.qpy if c.counts is not None else None for c in cs],
        "input_circuits": [c.qpy for c in cs],
        "circuit_type": "qiskit",
        "counts": [c.counts for c in cs],
        "results_dicts": [None] * n,
        "shots": [job.shots] * n,
        "dry_run": job.dry_run,
        "submission_timestamp": iso(job.submitted),
        "last_updated_timestamp": [iso(c.updated) for c in cs],
        "initial_logical_to_physicals": [None] * n,
        "final_logical_to_physicals": [None] * n,
        "logical_qubits": [None] * n,
        "physical_qubits": [None] * n,
        "tags": list(job.tags),
        "metadata": dict(job.metadata),
    }
