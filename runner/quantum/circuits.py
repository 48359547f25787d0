"""Programs as qiskit circuits, and the serialisations providers take (OpenQASM 2 text, QPY)."""

from __future__ import annotations

import base64
import contextlib
import io
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from runner.domain.model import Program
from runner.quantum.qasm import parse

if TYPE_CHECKING:
    from qiskit import QuantumCircuit

# The QPY format version qiskit-superstaq writes (QPY_SERIALIZATION_VERSION in its serialization.py,
# 13 since its qiskit 2.0 support): the oldest the official client's supported qiskit versions
# read, so the service can read what we send; the newest version the installed qiskit writes may
# be too new for it.
SUPERSTAQ_QPY_VERSION = 13

# The gates qelib1.inc offers: what OpenQASM 2 text is lowered to, and what cost estimates count.
QASM2_BASIS = (
    "u1",
    "u2",
    "u3",
    "cx",
    "id",
    "x",
    "y",
    "z",
    "h",
    "s",
    "sdg",
    "t",
    "tdg",
    "rx",
    "ry",
    "rz",
    "cz",
    "swap",
    "ccx",
    "measure",
    "reset",
)


def bound(program: Program, params: Mapping[str, Any], name: str | None = None) -> QuantumCircuit:
    """Parse a program and bind its inputs; `name` labels the circuit (it travels with QPY).

    The parse is cached per program (sweeps bind many values into one parse); the caller always gets
    its own copy to change.
    """
    parsed = _parsed(program.text, program.include_dir)
    if parsed.parameters:
        by_name = {p.name: p for p in parsed.parameters}
        circuit = parsed.assign_parameters({by_name[k]: float(v) for k, v in params.items() if k in by_name})
    else:
        circuit = parsed.copy()
    if name:
        circuit.name = name
    return circuit


@lru_cache(maxsize=64)
def _parsed(text: str, include_dir: str | None) -> QuantumCircuit:
    return parse(text, include_dir)


def qasm2_text(circuit: QuantumCircuit) -> str:
    """OpenQASM 2 for providers that take it, after lowering gates qelib1.inc lacks."""
    import qiskit.qasm2
    from qiskit import transpile

    lowered = transpile(circuit, basis_gates=list(QASM2_BASIS), optimization_level=0)
    return str(qiskit.qasm2.dumps(lowered))


def qpy_b64(circuits: Sequence[QuantumCircuit]) -> str:
    """Circuits as base64-encoded QPY, in the QPY version qiskit-superstaq sends."""
    from qiskit import qpy

    buffer = io.BytesIO()
    qpy.dump(list(circuits), buffer, version=SUPERSTAQ_QPY_VERSION)
    return base64.b64encode(buffer.getvalue()).decode()


def from_qpy_b64(text: str) -> list[QuantumCircuit]:
    from qiskit import qpy

    loaded: list[QuantumCircuit] = qpy.load(io.BytesIO(base64.b64decode(text)))
    return loaded


def warm() -> None:
    """Import everything that turns programs into what providers take, now, on the calling thread.

    Submissions convert programs on apply's worker threads. When qiskit's OpenQASM 3 modules were first
    imported there by several threads at once, most creates failed with "cannot import name '_ExprBuilder'
    from partially initialized module 'qiskit.qasm3.exporter'" (seen with a warm program cache, which
    keeps validate and plan from importing qiskit at all). apply calls this before its first create.
    """
    import qiskit.qasm2
    import qiskit.qasm3
    import qiskit.qasm3.exporter
    import qiskit.qpy
    from qiskit import transpile

    del qiskit, transpile
    with contextlib.suppress(ImportError):
        import qiskit_qasm3_import  # noqa: F401  (what qiskit.qasm3.loads uses)
