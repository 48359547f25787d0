"""A three-qubit GHZ state with two rotations left open: `theta` and `phi` are qiskit Parameters.

runner binds a job's params and matrix values to a circuit's Parameters by name, as it binds
OpenQASM 3 `input`s. It runs `build()` in a process of its own and identifies the job by the
circuit it returns (its canonical QPY), so editing this docstring plans no change and editing a
gate plans a replace.
"""

from qiskit import QuantumCircuit
from qiskit.circuit import Parameter


def build() -> QuantumCircuit:
    theta, phi = Parameter("theta"), Parameter("phi")
    circuit = QuantumCircuit(3, name="ghz")
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.cx(1, 2)
    circuit.rz(theta, 0)  # a phase on the GHZ state...
    circuit.ry(phi, 2)  # ...and a tilt of the last qubit
    circuit.measure_all()
    return circuit


def pair() -> list[QuantumCircuit]:
    """Two circuits, one multi-circuit job: a Bell pair and a single-qubit rotation."""
    bell = QuantumCircuit(2, name="bell")
    bell.h(0)
    bell.cx(0, 1)
    bell.measure_all()
    rotation = QuantumCircuit(1, name="rotation")
    rotation.rx(Parameter("theta"), 0)
    rotation.measure_all()
    return [bell, rotation]
