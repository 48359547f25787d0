"""The emulators' own simulator: a qiskit circuit run on qiskit-aer with a seed, nothing from runner.

The emulators check runner's clients, so they keep their own copy of the few steps a simulation
needs (transpile to what Aer runs, seed the sampler, read counts) instead of calling runner's
simulator: a bug there must show up as a difference, not be shared by both sides.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from qiskit import QuantumCircuit


def warm() -> None:
    """Import qiskit, qiskit.qpy and Aer now, on the (long-lived) thread that builds an emulator.

    Seen with qiskit 2.6 / qiskit-aer 0.18: when qiskit is first imported on a short-lived request
    thread that then exits, the next simulation can crash the process inside qiskit's compiled
    extension. Request threads are short-lived, so every emulator calls this from its constructor.
    """
    import qiskit.qpy  # noqa: F401

    aer()


@lru_cache(maxsize=1)
def aer() -> Any:
    """One AerSimulator for the process (it keeps no state between runs)."""
    from qiskit_aer import AerSimulator

    return AerSimulator(method="automatic")


def counts(circuit: QuantumCircuit, shots: int, seed: int) -> dict[str, int]:
    """qiskit's counts for `shots` runs of `circuit`: keys are registers in reverse order, high bit first."""
    from qiskit import transpile

    backend = aer()
    compiled = transpile(circuit, backend, optimization_level=0, seed_transpiler=0)
    result = backend.run(compiled, shots=shots, seed_simulator=seed).result()
    if not result.success:
        raise RuntimeError(str(result.status))
    return {str(key): int(n) for key, n in sorted(result.get_counts(0).items())}
