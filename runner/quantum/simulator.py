"""The embedded simulator: OpenQASM through qiskit into qiskit-aer, seeded and timed, many jobs per call.

A job's counts depend on its own program, parameters, shots and seed only, never on which jobs
share its call. Aer cannot give that for a batch on its own: with `seed_simulator=S` and several
experiments it seeds experiment i with S + 2113*i (measured with qiskit-aer 0.18, for a list of
circuits and for parameter_binds alike), and it ignores a seed set on each circuit. So jobs whose
measurements all come at the end (the common case, and the one Aer itself samples rather than
re-simulates) are run in two steps: Aer computes the measured qubits' exact probabilities for
every distinct parameter point of a program in one call (parameter_binds on the circuit
transpiled once), and the counts are drawn from them with numpy, seeded by the job. Other
programs (mid-circuit measurements, resets, conditions, more than SAMPLED_QUBITS measured
qubits) run one Aer call per job with `seed_simulator` set to the job's seed.

Runs in the calling process, in pool workers or on Dask workers; what crosses a process boundary
is plain data (SimJob in, a dict out).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from runner.quantum.qasm import parse

ENGINE = "qiskit-aer"
SAMPLED_QUBITS = 12  # above this, a probability vector (2^n per point) costs more than Aer sampling shots
SAMPLED_METHODS = frozenset({"automatic", "statevector", "density_matrix", "matrix_product_state"})
_PASSIVE = frozenset({"barrier", "delay", "id"})
Output = dict[str, Any]


@dataclass(frozen=True)
class SimJob:
    """One circuit to run."""

    text: str
    shots: int
    seed: int
    params: Mapping[str, Any] = field(default_factory=dict)
    include_dir: str | None = None
    method: str = "automatic"


@dataclass(frozen=True)
class Sampling:
    """How to get a program's counts from the probabilities of its measured qubits."""

    probe: Any  # the transpiled circuit without its measurements, saving the measured qubits' probabilities
    clbit_of: tuple[tuple[int, int], ...]  # (clbit, position of its qubit among the probed ones)
    direct: bool  # clbit i holds probed qubit i, for every i: an outcome is its own clbit value
    num_clbits: int
    sizes: tuple[int, ...]  # classical register sizes in declaration order


@dataclass(frozen=True)
class Shape:
    """A program parsed and transpiled once, with its sampling plan where it has one."""

    compiled: Any
    sampling: Sampling | None
    names: frozenset[str]  # its parameters' names


@lru_cache(maxsize=4)
def _backend(method: str) -> Any:
    from qiskit_aer import AerSimulator

    # A sampled call holds many small experiments: Aer runs them side by side on every core (256 points of a
    # 12-qubit circuit: 0.33 s -> 0.16-0.20 s on 2 cores). Up to SAMPLED_QUBITS an experiment runs on one
    # thread either way, so its probabilities do not depend on this.
    return AerSimulator(method=method, max_parallel_experiments=0)


@lru_cache(maxsize=128)
def _shape(text: str, include_dir: str | None, method: str) -> Shape:
    """Parse and transpile once per program; sweeps then only bind parameters."""
    from qiskit import transpile

    circuit = parse(text, include_dir)
    compiled = transpile(circuit, _backend(method), optimization_level=0, seed_transpiler=0)
    sampling = _sampling(compiled) if method in SAMPLED_METHODS else None
    return Shape(compiled, sampling, frozenset(p.name for p in compiled.parameters))


def _sampling(circuit: Any) -> Sampling | None:
    """The sampling plan of a circuit whose measurements all come at the end (None for any other)."""
    import qiskit_aer.library  # noqa: F401  (adds save_probabilities to QuantumCircuit)
    from qiskit.circuit import Gate

    if [b for r in circuit.cregs for b in r] != list(circuit.clbits):
        return None  # loose or shared clbits: leave the key layout to Aer
    measured: dict[int, int] = {}
    probe = circuit.copy_empty_like()
    for inst in circuit.data:
        op = inst.operation
        qubits = [circuit.find_bit(q).index for q in inst.qubits]
        if op.name == "measure":
            clbit = circuit.find_bit(inst.clbits[0]).index
            if clbit in measured:
                return None
            measured[clbit] = qubits[0]
        elif op.name in _PASSIVE:
            continue
        elif not isinstance(op, Gate) or inst.clbits or set(qubits) & set(measured.values()):
            return None  # not unitary, conditioned, or acting on a qubit already measured
        else:
            probe.append(inst)
    probed = sorted(set(measured.values()))
    if not measured or len(probed) > SAMPLED_QUBITS:
        return None
    probe.save_probabilities(probed)
    where = {q: i for i, q in enumerate(probed)}
    clbit_of = tuple((c, where[q]) for c, q in sorted(measured.items()))
    direct = len(clbit_of) == len(probed) == circuit.num_clbits and all(c == p for c, p in clbit_of)
    return Sampling(probe, clbit_of, direct, circuit.num_clbits, tuple(r.size for r in circuit.cregs))


def warm(aer: bool = True) -> None:
    """Import qiskit (and Aer) now, on the calling thread.

    Seen here with qiskit 2.6 / Aer 0.18: when qiskit is first imported on a short-lived worker
    thread, the next Aer run can crash the process inside qiskit's compiled extension. Callers
    that will simulate on worker threads call this first from a long-lived (main) thread.
    """
    import qiskit  # noqa: F401

    if aer:
        _backend("automatic")
        import qiskit_aer.library  # noqa: F401


@lru_cache(maxsize=1)
def versions() -> dict[str, str]:
    """Versions of the engine packages, recorded with every result."""
    import qiskit
    import qiskit_aer

    return {"qiskit": qiskit.__version__, "qiskit_aer": qiskit_aer.__version__}


def run(job: SimJob) -> Output:
    """Simulate one circuit and return counts with seed, engine versions and timing."""
    out = run_many([job])[0]
    if isinstance(out, Exception):
        raise out
    return out


def run_many(jobs: Sequence[SimJob]) -> list[Output | Exception]:
    """Simulate many circuits, one Aer call per program where the sampling plan allows; per job an output or error.

    Each job's counts are the same as `run` gives it alone.
    """
    outputs: list[Output | Exception | None] = [None] * len(jobs)
    groups: dict[tuple[str, str | None, str], list[int]] = {}
    for i, job in enumerate(jobs):
        try:
            shape = _shape(job.text, job.include_dir, job.method)
        except Exception as exc:  # a program Aer cannot take fails its job only
            outputs[i] = exc
            continue
        if shape.sampling is not None and shape.names <= set(job.params):
            groups.setdefault((job.text, job.include_dir, job.method), []).append(i)
        else:
            outputs[i] = _guarded(_run_shots, job, shape)
    for (text, include_dir, method), members in groups.items():
        shape = _shape(text, include_dir, method)
        sampled: list[Output | Exception]
        try:
            sampled = list(_run_sampled(shape, [jobs[i] for i in members]))
        except Exception:  # one bad point must not fail its neighbours: run them apart to find it
            sampled = [_guarded(_run_sampled_one, jobs[i], shape) for i in members]
        for i, out in zip(members, sampled, strict=True):
            outputs[i] = out
    return [o if o is not None else RuntimeError("not simulated") for o in outputs]


def _guarded(step: Any, job: SimJob, shape: Shape) -> Output | Exception:
    try:
        out: Output = step(job, shape)
        return out
    except Exception as exc:
        return exc


def _run_sampled_one(job: SimJob, shape: Shape) -> Output:
    return _run_sampled(shape, [job])[0]


def _run_sampled(shape: Shape, jobs: Sequence[SimJob]) -> list[Output]:
    """One Aer call for every distinct parameter point, then each job's counts drawn with its own seed."""
    import numpy as np

    assert shape.sampling is not None
    started = time.perf_counter()
    plan = shape.sampling
    names = sorted(shape.names)
    points = list(dict.fromkeys(tuple(float(job.params[n]) for n in names) for job in jobs))
    run_options: dict[str, Any] = {"shots": 1}
    if names:
        by_name = {p.name: p for p in plan.probe.parameters}
        run_options["parameter_binds"] = [{by_name[n]: [pt[k] for pt in points] for k, n in enumerate(names)}]
    prepared = time.perf_counter()
    result = _backend(jobs[0].method).run(plan.probe, **run_options).result()
    if not result.success:
        raise RuntimeError(str(result.status))
    tables = {pt: _weights(result.data(k)["probabilities"]) for k, pt in enumerate(points)}
    method = result.results[0].metadata.get("method", jobs[0].method)
    share = ((prepared - started) / len(jobs), (time.perf_counter() - prepared) / len(jobs))
    out = []
    for job in jobs:
        drawing = time.perf_counter()
        weights = tables[tuple(float(job.params[n]) for n in names)]
        drawn = np.random.Generator(np.random.PCG64(job.seed)).multinomial(job.shots, weights)
        hit = np.flatnonzero(drawn)
        keys = _keys(plan, hit)
        counts = dict(sorted(zip(keys, drawn[hit].tolist(), strict=True)))
        spent = share[1] + time.perf_counter() - drawing  # this job's share of the Aer call, and its own draws
        out.append(_output(job, counts, method, share[0], spent, shape, "probabilities"))
    return out


def _weights(probabilities: Any) -> Any:
    """The probability vector rounded and normalised.

    Rounded to 12 digits first: Aer's sums can differ in the last bits with the number of threads
    an experiment gets (its reductions are parallel from 14 qubits), and a job's counts must not.
    """
    import numpy as np

    weights = np.clip(np.round(np.asarray(probabilities, dtype=float), 12), 0.0, None)
    return weights / weights.sum()


def _keys(plan: Sampling, outcomes: Any) -> list[str]:
    """qiskit's counts keys: classical registers last-declared first, each from its highest bit, spaced."""
    import numpy as np

    if plan.direct:
        values = outcomes
    else:
        values = np.zeros_like(outcomes)
        for clbit, position in plan.clbit_of:
            values |= ((outcomes >> position) & 1) << clbit
    width = f"0{plan.num_clbits}b"
    if len(plan.sizes) == 1:
        return [format(v, width) for v in values.tolist()]
    return [_spaced(format(v, width), plan.sizes) for v in values.tolist()]


def _spaced(bits: str, sizes: Sequence[int]) -> str:
    parts, end = [], len(bits)
    for size in sizes:
        parts.append(bits[end - size : end])
        end -= size
    return " ".join(reversed(parts))


def _run_shots(job: SimJob, shape: Shape) -> Output:
    """One Aer call for one job, Aer sampling every shot with the job's seed."""
    started = time.perf_counter()
    bound = _bind(shape.compiled, job.params)
    prepared = time.perf_counter()
    result = _backend(job.method).run(bound, shots=job.shots, seed_simulator=job.seed).result()
    if not result.success:
        raise RuntimeError(str(result.status))
    finished = time.perf_counter()
    method = result.results[0].metadata.get("method", job.method)
    counts = {str(k): int(v) for k, v in sorted(result.get_counts(0).items())}
    return _output(job, counts, method, prepared - started, finished - prepared, shape, "shots")


def _output(
    job: SimJob, counts: dict[str, int], method: str, prepare: float, run: float, shape: Shape, sampling: str
) -> Output:
    return {
        "counts": counts,
        "shots": job.shots,
        "seed": job.seed,
        "engine": {"name": ENGINE, "method": method, "sampling": sampling, **versions()},
        "timing": {"prepare_s": round(prepare, 6), "run_s": round(run, 6)},
        "num_qubits": shape.compiled.num_qubits,
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
