"""Circuits into the formats Azure's hardware partners take, and their results back into runner's counts.

runner's counts keys are what qiskit's `get_counts()` gives for the original circuit: classical
registers in reverse declaration order, separated by spaces, each written from its highest bit.
IonQ measures every qubit at the end and reports probabilities per basis state, so the original
circuit's measure map travels with the job (in its metadata) to rebuild those keys; Quantinuum
reports every shot per classical register, so only the register order is needed.

Neither input format has an idle instruction: a `delay` is left out of both (qiskit would write
it into OpenQASM 2 as `opaque delay(param0) q0;` plus `delay(1.e-07) q[0];`, which an OpenQASM 2
parser refuses, so the job would fail at submission).
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from runner.quantum.circuits import QASM2_BASIS

if TYPE_CHECKING:
    from qiskit import QuantumCircuit

    from runner.domain.model import Program

IONQ_INPUT, IONQ_OUTPUT = "ionq.circuit.v1", "ionq.quantum-results.v1"
QUANTINUUM_INPUT, QUANTINUUM_OUTPUT = "honeywell.openqasm.v1", "honeywell.quantum-results.v1"
# qiskit gate -> IonQ "qis" gate set name
IONQ_GATES = {
    "x": "x",
    "y": "y",
    "z": "z",
    "h": "h",
    "s": "s",
    "sdg": "si",
    "t": "t",
    "tdg": "ti",
    "sx": "v",
    "sxdg": "vi",
    "rx": "rx",
    "ry": "ry",
    "rz": "rz",
    "cx": "cnot",
    "swap": "swap",
}
_IGNORED = {"barrier", "id", "delay"}
_SUMMARY_ENTRIES = 16


class FormatError(ValueError):
    """A circuit the target's input format cannot express, or results that do not parse."""


@dataclass(frozen=True)
class Payload:
    """One job's input blob and how to read its results."""

    data: bytes
    content_type: str
    input_format: str
    output_format: str
    layout: Mapping[str, Any]


def payload(target: str, circuit: QuantumCircuit) -> Payload:
    """The input for an `ionq.*` or `quantinuum.*` target."""
    if circuit.parameters:
        names = ", ".join(sorted(p.name for p in circuit.parameters))
        raise FormatError(f"the circuit still has unbound inputs ({names}); give them in params or matrix")
    if target.startswith("ionq."):
        return ionq_payload(circuit)
    if target.startswith("quantinuum."):
        return quantinuum_payload(circuit)
    raise FormatError(f"runner has no input format for Azure target '{target}'")


def payload_for(target: str, program: Program, params: Mapping[str, Any]) -> Payload:
    """payload() for a program and its params, converting each program once: sweeps only bind values.

    The circuit is parsed and lowered to the target's gate set once per program (with its inputs
    still symbolic); each job then binds its values into that lowered form.
    """
    if not target.startswith(("ionq.", "quantinuum.")):
        raise FormatError(f"runner has no input format for Azure target '{target}'")
    lowered = _lowered(program.text, program.include_dir, target.split(".")[0])
    names = {p.name: p for p in lowered.parameters}
    missing = sorted(set(names) - set(params))
    if missing:
        raise FormatError(f"the circuit still has unbound inputs ({', '.join(missing)}); give them in params or matrix")
    bound = lowered.assign_parameters({names[k]: float(v) for k, v in params.items() if k in names})
    return ionq_payload(bound, lowered=True) if target.startswith("ionq.") else quantinuum_payload(bound)


@lru_cache(maxsize=64)
def _lowered(text: str, include_dir: str | None, family: str) -> QuantumCircuit:
    from qiskit import transpile

    from runner.quantum.qasm import parse

    circuit = parse(text, include_dir)
    basis = [*IONQ_GATES, "id", "measure"] if family == "ionq" else list(QASM2_BASIS)
    return transpile(circuit, basis_gates=basis, optimization_level=0)


def _registers(circuit: QuantumCircuit) -> list[list[Any]]:
    return [[reg.name, reg.size] for reg in circuit.cregs]


def quantinuum_payload(circuit: QuantumCircuit) -> Payload:
    """OpenQASM 2 text; results come back per register, so keep the register order."""
    from runner.quantum.circuits import qasm2_text

    text = qasm2_text(_without(circuit, "delay"))
    layout = {"cregs": _registers(circuit), "clbits": circuit.num_clbits}
    return Payload(text.encode(), "application/qasm", QUANTINUUM_INPUT, QUANTINUUM_OUTPUT, layout)


def _without(circuit: QuantumCircuit, name: str) -> QuantumCircuit:
    """The circuit without its `name` instructions (the same object when it has none)."""
    if not any(instruction.operation.name == name for instruction in circuit.data):
        return circuit
    kept = circuit.copy_empty_like()
    for instruction in circuit.data:
        if instruction.operation.name != name:
            kept.append(instruction)
    return kept


def ionq_payload(circuit: QuantumCircuit, lowered: bool = False) -> Payload:
    """IonQ JSON in the "qis" gate set; the measure map (clbit <- qubit) goes into the layout."""
    sources = _final_measurements(circuit)
    body = circuit.copy_empty_like()
    for instruction in circuit.data:
        if instruction.operation.name not in ("measure", "barrier"):
            body.append(instruction)
    gates = _ionq_gates(body, lowered)
    document = {"gateset": "qis", "qubits": circuit.num_qubits, "circuit": gates}
    layout = {
        "cregs": _registers(circuit),
        "clbits": circuit.num_clbits,
        "qubits": circuit.num_qubits,
        "measure": sorted([c, q] for c, q in sources.items()),
    }
    return Payload(json.dumps(document).encode(), "application/json", IONQ_INPUT, IONQ_OUTPUT, layout)


def _final_measurements(circuit: QuantumCircuit) -> dict[int, int]:
    """clbit -> the qubit last measured into it; IonQ cannot act on a qubit after measuring it."""
    sources: dict[int, int] = {}
    measured: set[int] = set()
    for instruction in circuit.data:
        name = instruction.operation.name
        qubits = [circuit.find_bit(q).index for q in instruction.qubits]
        if name == "barrier":
            continue
        if name == "measure":
            sources[circuit.find_bit(instruction.clbits[0]).index] = qubits[0]
            measured.add(qubits[0])
            continue
        if instruction.clbits or name == "reset":
            raise FormatError(f"{IONQ_INPUT} has no classical control or reset (the circuit uses '{name}')")
        late = sorted(set(qubits) & measured)
        if late:
            raise FormatError(
                f"{IONQ_INPUT} measures every qubit once, at the end: '{name}' acts on qubit {late[0]} "
                "after it was measured"
            )
    return sources


def _ionq_gates(body: QuantumCircuit, already_lowered: bool = False) -> list[dict[str, Any]]:
    from qiskit import transpile

    lowered = body if already_lowered else transpile(body, basis_gates=[*IONQ_GATES, "id"], optimization_level=0)
    gates: list[dict[str, Any]] = []
    for instruction in lowered.data:
        op = instruction.operation
        if op.name in _IGNORED:
            continue
        qubits = [lowered.find_bit(q).index for q in instruction.qubits]
        gates.append(_ionq_gate(op.name, qubits, [float(p) for p in op.params]))
    return gates


def _ionq_gate(name: str, qubits: Sequence[int], params: Sequence[float]) -> dict[str, Any]:
    gate: dict[str, Any] = {"gate": IONQ_GATES[name]}
    if name == "cx":
        gate.update(control=qubits[0], target=qubits[1])
    elif name == "swap":
        gate["targets"] = list(qubits)
    else:
        gate["target"] = qubits[0]
    if params:
        gate["rotation"] = params[0]
    return gate


def counts_key(bits: Sequence[str], sizes: Sequence[int]) -> str:
    """qiskit's counts key for clbit values (bits[i] is clbit i) grouped into registers of `sizes`."""
    if sum(sizes) != len(bits) or not sizes:
        sizes = [len(bits)]
    groups, start = [], 0
    for size in sizes:
        groups.append("".join(reversed(bits[start : start + size])))
        start += size
    return " ".join(reversed(groups))


def integer_counts(probabilities: Mapping[str, float], shots: int) -> dict[str, int]:
    """Probabilities times shots, rounded so they still add up to shots (largest remainder)."""
    exact = {k: float(p) * shots for k, p in probabilities.items()}
    counts = {k: math.floor(v + 1e-9) for k, v in exact.items()}
    left = shots - sum(counts.values())
    for key in sorted(exact, key=lambda k: (counts[k] - exact[k], k))[: max(0, left)]:
        counts[key] += 1
    return {k: v for k, v in counts.items() if v > 0}


@dataclass(frozen=True)
class Read:
    """Counts parsed from a results blob."""

    counts: dict[str, int]
    shots: int
    summary: dict[str, Any]


def read(output_format: str, raw: bytes, layout: Mapping[str, Any], shots: int) -> Read:
    """Parse a results blob of either format into runner's counts."""
    try:
        body = json.loads(raw)
    except ValueError:
        raise FormatError(f"{output_format} results are not JSON") from None
    if output_format == IONQ_OUTPUT:
        return _read_ionq(body, layout, shots)
    if output_format == QUANTINUUM_OUTPUT:
        return _read_quantinuum(body, layout)
    raise FormatError(f"runner cannot read results in the {output_format} format")


def _read_ionq(body: Any, layout: Mapping[str, Any], shots: int) -> Read:
    histogram = body.get("histogram") if isinstance(body, dict) else None
    if not isinstance(histogram, dict):
        raise FormatError(f"{IONQ_OUTPUT} results have no histogram")
    sizes = [int(size) for _, size in layout.get("cregs", [])]
    clbits = int(layout.get("clbits", sum(sizes)))
    measure = [(int(c), int(q)) for c, q in layout.get("measure", [])]
    counts: Counter[str] = Counter()
    for state, n in integer_counts(histogram, shots).items():
        bits = ["0"] * clbits
        for clbit, qubit in measure:
            bits[clbit] = str((int(state) >> qubit) & 1)
        counts[counts_key(bits, sizes)] += n
    summary = {"histogram": dict(list(histogram.items())[:_SUMMARY_ENTRIES]), "entries": len(histogram)}
    return Read(dict(sorted(counts.items())), shots, summary)


def _read_quantinuum(body: Any, layout: Mapping[str, Any]) -> Read:
    if not isinstance(body, dict):
        raise FormatError(f"{QUANTINUUM_OUTPUT} results are not an object of registers")
    registers = {k: v for k, v in body.items() if k != "access_token" and isinstance(v, list)}
    order = [str(name) for name, _ in layout.get("cregs", [])] or list(registers)
    missing = [name for name in order if name not in registers]
    if missing:
        raise FormatError(f"{QUANTINUUM_OUTPUT} results lack register '{missing[0]}'")
    shots = min((len(registers[name]) for name in order), default=0)
    keys = [" ".join(str(registers[name][i]) for name in reversed(order)) for i in range(shots)]
    summary = {"registers": {name: len(registers[name]) for name in order}}
    return Read(dict(sorted(Counter(keys).items())), shots, summary)
