"""Superstaq wire facts shared by both API versions: statuses, aggregation, counts, job bodies.

Statuses: v0.2.0 says `Done`, `Canceled` or `Cancelled` (the service passes the vendor's
spelling through), v0.3.0 says lower-case CircuitStatus values. A multi-circuit job's overall
status follows the v0.3.0 STATUS_PRIORITY_ORDER for both versions: any circuit still in
progress decides, then failed, then cancelled, and completed only when nothing failed or was
cancelled. A status runner does not know ranks right after the in-progress ones, so a job is
never reported finished while one of its circuits says something unknown.

Counts: the service reports one bit per *measured* classical bit, big-endian (the lowest measured
classical bit first); a classical bit no measurement writes is not in the key. Like the official
client (qiskit-superstaq `SuperstaqJob._arrange_counts`, whose tests show such keys), runner widens
each key back to the circuit's classical width with the unmeasured bits as 0, from the input
circuit the service returns, then writes it in qiskit's `get_counts()` format (little-endian,
registers separated by spaces).

Partial results: when a multi-circuit job has ended with some circuits completed and others
cancelled or failed, its Result holds the counts that exist: `counts[i]` is circuit i's counts,
an empty mapping for a circuit that has none, and `data` says `partial: True` with every circuit's
raw status in `statuses`. A job with circuits still running has no result yet.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from runner.domain.remote import Observation, Result
from runner.domain.vocabulary import CANCELLED, FAILED, PENDING, RUNNING, SUCCEEDED, TERMINAL, UNKNOWN, Status
from runner.errors import ProviderError

if TYPE_CHECKING:
    from runner.providers.http import HttpClient

TOKEN_TAG = "runner-token:"
UNKNOWN_RANK = 8  # after every in-progress status, before every finished one

# raw status -> (rank in the aggregation order, runner status)
V3_STATUSES: dict[str, tuple[int, Status]] = {
    "received": (0, PENDING),
    "awaiting_compile": (1, PENDING),
    "awaiting_submission": (2, PENDING),
    "awaiting_simulation": (3, PENDING),
    "compiling": (4, RUNNING),
    "simulating": (5, RUNNING),
    "running": (6, RUNNING),
    "pending": (7, PENDING),
    "failed": (9, FAILED),
    "cancelled": (10, CANCELLED),
    "unrecognized": (11, FAILED),
    "completed": (12, SUCCEEDED),
    "deleted": (13, CANCELLED),
}
# v0.2.0 names placed at the rank of their v0.3.0 counterpart
V2_STATUSES: dict[str, tuple[int, Status]] = {
    "Submitted": (0, PENDING),
    "Ready": (2, PENDING),
    "Running": (6, RUNNING),
    "Queued": (7, PENDING),
    "Failed": (9, FAILED),
    "Canceled": (10, CANCELLED),
    "Cancelled": (10, CANCELLED),
    "Done": (12, SUCCEEDED),
    "Deleted": (13, CANCELLED),
}


@dataclass(frozen=True)
class Circuit:
    """One circuit of a remote job, as either API version reports it."""

    status: str
    error: str | None = None
    counts: Mapping[str, float] | None = None
    shots: int | None = None
    qpy: str | None = None  # the input circuit, base64 QPY


@dataclass(frozen=True)
class JobView:
    """A remote job: its id in runner's terms and its circuits, in submission order."""

    remote_id: str
    target: str
    circuits: tuple[Circuit, ...]


def aggregate(statuses: Sequence[str], table: Mapping[str, tuple[int, Status]]) -> tuple[str, Status]:
    """(raw status, runner status) of a multi-circuit job, by the priority order."""
    if not statuses:
        return "", UNKNOWN
    raw = min(statuses, key=lambda s: table.get(s, (UNKNOWN_RANK, UNKNOWN))[0])
    return raw, table.get(raw, (UNKNOWN_RANK, UNKNOWN))[1]


def observation(view: JobView, table: Mapping[str, tuple[int, Status]]) -> Observation:
    """The runner observation of a job view; failure texts go into detail["error"]."""
    statuses = [c.status for c in view.circuits]
    raw, status = aggregate(statuses, table)
    detail: dict[str, Any] = {"statuses": statuses}
    if status == FAILED:
        detail["error"] = _errors(view, table)
    return Observation(view.remote_id, status, raw, detail)


def _errors(view: JobView, table: Mapping[str, tuple[int, Status]]) -> str:
    failed = [(i, c) for i, c in enumerate(view.circuits) if table.get(c.status, (0, UNKNOWN))[1] == FAILED]
    texts = [c.error or f"status {c.status}" for _, c in failed]
    if len(view.circuits) == 1:
        return texts[0]
    return "; ".join(f"circuit {i}: {text}" for (i, _), text in zip(failed, texts, strict=True))


def result(view: JobView, table: Mapping[str, tuple[int, Status]], data: Mapping[str, Any]) -> Result | None:
    """Counts in runner's format once every circuit has ended: all of them, or those that exist (partial)."""
    statuses = [table.get(c.status, (UNKNOWN_RANK, UNKNOWN))[1] for c in view.circuits]
    done = [s == SUCCEEDED and c.counts is not None for s, c in zip(statuses, view.circuits, strict=True)]
    if not any(done) or not all(s in TERMINAL for s in statuses):
        return None
    counts = tuple(
        runner_counts(c.counts or {}, circuit_layout(c.qpy), f"job {view.remote_id} circuit {i}") if ok else {}
        for i, (c, ok) in enumerate(zip(view.circuits, done, strict=True))
    )
    shots = next((c.shots for c, ok in zip(view.circuits, done, strict=True) if ok and c.shots), None)
    extra = {} if all(done) else {"partial": True, "statuses": [c.status for c in view.circuits]}
    total = shots or sum(next(c for c in counts if c).values())
    return Result(counts=counts, shots=int(total), data={**data, **extra})


def circuit_result(
    view: JobView, index: int, table: Mapping[str, tuple[int, Status]], data: Mapping[str, Any]
) -> Result | None:
    """Circuit `index`'s counts as soon as that circuit completed, whatever the others are doing."""
    c = view.circuits[index]
    if table.get(c.status, (UNKNOWN_RANK, UNKNOWN))[1] != SUCCEEDED or c.counts is None:
        return None
    counts = runner_counts(c.counts, circuit_layout(c.qpy), f"job {view.remote_id} circuit {index}")
    extra = {"index": index, "statuses": [x.status for x in view.circuits]}
    return Result(counts=(counts,), shots=int(c.shots or sum(counts.values())), data={**data, **extra})


@dataclass(frozen=True)
class Layout:
    """A circuit's classical bits: how many, which ones a measurement writes, and the register sizes."""

    clbits: int
    measured: tuple[int, ...]  # in increasing order: the order of the service's key
    sizes: tuple[int, ...]  # classical registers in declaration order


def runner_counts(samples: Mapping[str, float], layout: Layout | None, where: str = "counts") -> dict[str, int]:
    """The service's keys (measured bits only, big-endian) as qiskit get_counts() keys of the whole circuit.

    Without a layout (the service sent no input circuit) the key is only reversed.
    """
    out: dict[str, int] = {}
    for key, value in samples.items():
        bits = key.replace(" ", "")
        if layout is not None:
            bits = widen(bits, layout, where)
        little = bits[::-1]
        if layout is not None and len(layout.sizes) > 1 and sum(layout.sizes) == len(little):
            little = _split_registers(little, layout.sizes)
        out[little] = out.get(little, 0) + round(value)
    return dict(sorted(out.items()))


def widen(bits: str, layout: Layout, where: str) -> str:
    """A key of the measured classical bits as a key of all of them, unmeasured bits 0 (big-endian)."""
    if len(bits) == layout.clbits:
        return bits
    if len(bits) != len(layout.measured):
        raise ProviderError(
            f"{where}: key '{bits}' has {len(bits)} bit(s), but the circuit measures {len(layout.measured)} "
            f"of its {layout.clbits} classical bit(s)"
        )
    full = ["0"] * layout.clbits
    for bit, index in zip(bits, layout.measured, strict=True):
        full[index] = bit
    return "".join(full)


def _split_registers(little_endian: str, sizes: Sequence[int]) -> str:
    # qiskit prints the first register rightmost, the last one leftmost
    chunks, end = [], len(little_endian)
    for size in sizes:
        chunks.append(little_endian[end - size : end])
        end -= size
    return " ".join(reversed(chunks))


def circuit_layout(qpy: str | None) -> Layout | None:
    """The classical layout of the first circuit in a QPY payload (None if there is none or it is unreadable)."""
    if not qpy:
        return None
    try:
        from runner.quantum.circuits import from_qpy_b64

        circuit = from_qpy_b64(qpy)[0]
    except Exception:  # a circuit we cannot read: its keys are only reversed
        return None
    return Layout(circuit.num_clbits, tuple(sorted(_measured(circuit))), tuple(len(r) for r in circuit.cregs))


def _measured(circuit: Any) -> set[int]:
    """Classical bits a measurement writes, looking inside instructions defined by sub-circuits."""
    written: set[int] = set()
    for instruction in circuit.data:
        clbits = [circuit.find_bit(c).index for c in instruction.clbits]
        if instruction.operation.name == "measure":
            written.update(clbits)
        elif clbits and instruction.operation.definition is not None:
            written.update(clbits[i] for i in _measured(instruction.operation.definition))
    return written


def carries_token(qpy: str, token: str) -> bool:
    """Whether a QPY payload holds a circuit named or annotated with this submission token."""
    try:
        raw = base64.b64decode(qpy)
    except (binascii.Error, ValueError):
        return False
    if token.encode() not in raw:  # cheap filter before deserialising
        return False
    from runner.quantum.circuits import from_qpy_b64

    try:
        circuits = from_qpy_b64(qpy)
    except Exception:
        return False
    return any(token in c.name or (c.metadata or {}).get("runner_token") == token for c in circuits)


def split_options(options: Mapping[str, Any]) -> tuple[str | None, dict[str, Any]]:
    """(method, the other options): `method` is a top-level field in both versions."""
    rest = dict(options)
    method = rest.pop("method", None)
    return (str(method) if method is not None else None), rest


def v2_options(options: Mapping[str, Any]) -> str:
    """v0.2.0 carries options as a JSON string inside the JSON body."""
    return json.dumps(dict(options), sort_keys=True)


@dataclass(frozen=True)
class JobRequest:
    """One job to create, independent of the API version."""

    circuits: str  # base64 QPY of every circuit, in order
    target: str
    shots: int
    options: Mapping[str, Any]
    priority: str | None
    tags: tuple[str, ...]
    metadata: Mapping[str, Any]
    token: str


def chunks(items: Sequence[str], size: int) -> list[list[str]]:
    """Items in consecutive groups of at most `size`."""
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


class Dialect(Protocol):
    """What differs between API versions (superstaq_v2.V2, superstaq_v3.V3)."""

    @property
    def table(self) -> Mapping[str, tuple[int, Status]]: ...

    def create(self, http: HttpClient, req: JobRequest) -> tuple[str, str | None]: ...

    def fetch(self, http: HttpClient, remote_ids: Sequence[str]) -> dict[str, JobView]: ...

    def cancel(self, http: HttpClient, remote_id: str, index: int | None) -> None: ...

    def find(self, http: HttpClient, token: str, target: str, since: float | None) -> list[JobView]: ...
