"""Gate counts for cost estimates: a program lowered the way runner submits it, then counted.

Lowering runs at optimization level 0, so the counts do not depend on input values: one count
serves every point of a sweep over the same program.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from runner.domain.model import Program
from runner.planning.pricing import Gates

if TYPE_CHECKING:
    from qiskit import QuantumCircuit

_NOT_CHARGED = {"barrier", "id", "delay"}
_SPAM = {"measure", "reset"}


class CountError(Exception):
    """A program runner cannot lower to count its gates."""


def count(circuit: QuantumCircuit) -> Gates:
    """Operations by how many qubits they act on; barriers, identities and delays are free."""
    one_q = two_q = spam = 0
    multi: list[int] = []
    for instruction in circuit.data:
        name, width = instruction.operation.name, len(instruction.qubits)
        if name in _NOT_CHARGED:
            continue
        if name in _SPAM:
            spam += width
        elif width == 1:
            one_q += 1
        elif width == 2:
            two_q += 1
        elif width > 2:
            multi.append(width)
    return Gates(one_q, two_q, tuple(multi), spam)


def lowered(circuit: QuantumCircuit, style: str) -> QuantumCircuit:
    """The circuit in IonQ's "qis" gates (as the Azure provider sends them) or in qelib1.inc's."""
    from qiskit import transpile

    from runner.providers.azure.formats import IONQ_GATES
    from runner.quantum.circuits import QASM2_BASIS

    basis = [*IONQ_GATES, "id", "measure", "reset"] if style == "ionq" else list(QASM2_BASIS)
    result: QuantumCircuit = transpile(circuit, basis_gates=basis, optimization_level=0)
    return result


class GateCache:
    """Counts per program digest and gate set, so the jobs of a sweep share one count."""

    def __init__(self, programs: Mapping[str, Program]) -> None:
        self.programs = programs
        self._counts: dict[tuple[str, str], Gates] = {}

    def gates(self, digest: str, style: str) -> Gates:
        key = (digest, style)
        if key not in self._counts:
            self._counts[key] = self._count(self.programs[digest], style)
        return self._counts[key]

    def _count(self, program: Program, style: str) -> Gates:
        from qiskit.exceptions import QiskitError

        from runner.quantum.circuits import bound
        from runner.quantum.qasm import ProgramError

        try:
            return count(lowered(bound(program, {}), style))
        except (ProgramError, QiskitError) as exc:
            raise CountError(f"cannot count the gates of {program.label}: {exc}") from None
