"""The embedded simulator: OpenQASM through qiskit into qiskit-aer, seeded and timed.

Runs in the calling process or in pool workers; everything crossing the process boundary is
plain data (SimJob in, a dict out).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from runner.quantum.qasm import parse

ENGINE = "qiskit-aer"


@dataclass(frozen=True)
class SimJob:
    """One circuit to run."""

    text: str
    shots: int
    seed: int
    params: Mapping[str, Any] = field(default_factory=dict)
    include_dir: str | None = None
    method: str = "automatic"


@lru_cache(maxsize=4)
def _backend(method: str) -> Any:
    from qiskit_aer import AerSimulator

    return AerSimulator(method=method)


@lru_cache(maxsize=128)
def _compiled(text: str, include_dir: str | None, method: str) -> Any:
    """Parse and transpile once per program; sweeps then only bind parameters."""
    from qiskit import transpile

    circuit = parse(text, include_dir)
    return transpile(circuit, _backend(method), optimization_level=0, seed_transpiler=0)


def warm(aer: bool = True) -> None:
    """Import qiskit (and Aer) now, on the calling thread.

    Seen here with qiskit 2.6 / Aer 0.18: when qiskit is first imported on a short-lived worker
    thread, the next Aer run can crash the process inside qiskit's compiled extension. Callers
    that will simulate on worker threads call this first from a long-lived (main) thread.
    """
    import qiskit  # noqa: F401

    if aer:
        _backend("automatic")


def versions() -> dict[str, str]:
    """Versions of the engine packages, recorded with every result."""
    import qiskit
    import qiskit_aer

    return {"qiskit": qiskit.__version__, "qiskit_aer": qiskit_aer.__version__}


def run(job: SimJob) -> dict[str, Any]:
    """Simulate one circuit and return counts with seed, engine versions and timing."""
    started = time.perf_counter()
    compiled = _compiled(job.text, job.include_dir, job.method)
    bound = _bind(compiled, job.params)
    prepared = time.perf_counter()
    result = _backend(job.method).run(bound, shots=job.shots, seed_simulator=job.seed).result()
    if not result.success:
        raise RuntimeError(str(result.status))
    finished = time.perf_counter()
    meta = result.results[0].metadata
    return {
        "counts": {str(k): int(v) for k, v in sorted(result.get_counts(0).items())},
        "shots": job.shots,
        "seed": job.seed,
        "engine": {"name": ENGINE, "method": meta.get("method", job.method), **versions()},
        "timing": {
            "prepare_s": round(prepared - started, 6),
            "run_s": round(finished - prepared, 6),
        },
        "num_qubits": bound.num_qubits,
    }


def _bind(circuit: Any, params: Mapping[str, Any]) -> Any:
    if not circuit.parameters:
        return circuit
    by_name = {p.name: p for p in circuit.parameters}
    return circuit.assign_parameters({by_name[k]: float(v) for k, v in params.items() if k in by_name})


def run_circuit(circuit: Any, shots: int, seed: int, method: str = "automatic") -> dict[str, int]:
    """Counts for an already-built qiskit circuit (emulators use this for whatever format they receive)."""
    from qiskit import transpile

    backend = _backend(method)
    compiled = transpile(circuit, backend, optimization_level=0, seed_transpiler=0)
    result = backend.run(compiled, shots=shots, seed_simulator=seed).result()
    if not result.success:
        raise RuntimeError(str(result.status))
    return {str(k): int(v) for k, v in sorted(result.get_counts(0).items())}
