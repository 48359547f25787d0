"""What the emulated Azure targets do with a job: check its input, simulate it, write its results.

IonQ jobs arrive as ionq.circuit.v1 JSON (every qubit is measured at the end; results are
probabilities per basis state, keyed by the state as an integer with qubit 0 as the lowest
bit). Quantinuum jobs arrive as OpenQASM 2 (results list every shot's value per classical
register). Circuits run on the emulators' own seeded qiskit-aer helper, so results are real, and
what a job bills is counted from the input as it arrived (see billing).
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from runner.emulators import simulate
from runner.emulators.azure import billing

if TYPE_CHECKING:
    from qiskit import QuantumCircuit

FORMATS = {  # provider -> (input format, output format)
    "ionq": ("ionq.circuit.v1", "ionq.quantum-results.v1"),
    "quantinuum": ("honeywell.openqasm.v1", "honeywell.quantum-results.v1"),
}
TARGETS = {  # target -> qubits
    "ionq.simulator": 29,
    "ionq.qpu.aria-1": 25,
    "ionq.qpu.forte-1": 36,
    "quantinuum.sim.h1-1e": 20,
    "quantinuum.qpu.h1-1": 20,
    "quantinuum.sim.h2-1e": 56,
    "quantinuum.qpu.h2-1": 56,
}
MAX_SHOTS = 100_000
_POSITION = re.compile(r"^<input>:(\d+),(\d+):")
_QREG = re.compile(r"\bqreg\s+\w+\s*\[\s*(\d+)\s*\]")
_COMMENT = re.compile(r"//[^\n]*")
_INCLUDE = re.compile(r'\binclude\s+"([^"]*)"')
_ONE_QUBIT = {"x", "y", "z", "h", "s", "si", "t", "ti", "v", "vi", "rx", "ry", "rz", "not"}


class JobError(Exception):
    """Why a job fails: an Azure error code and message for its errorData."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


@dataclass(frozen=True)
class Work:
    """A validated job, ready to simulate."""

    provider: str
    circuit: Any  # qiskit QuantumCircuit
    shots: int
    gates: billing.Gates | None = None  # counted from the submitted input; None: count the circuit
    unreadable_output: bool = False  # the job asked for an output format its target does not write


def provider_of(target: str) -> str:
    return target.split(".", 1)[0]


def prepare(
    target: str, input_format: str, params: Mapping[str, Any], data: bytes, output_format: str | None = None
) -> Work:
    """Check a job the way the service does at submission; raise JobError for a job that must fail.

    An output format the target does not write is not refused here: the recorded service runs such
    a job and fails it at the end (CannotTranslateOutputData), so the work says so.
    """
    if target not in TARGETS:
        raise JobError("InvalidTarget", f"Target '{target}' is not available in this workspace.")
    provider = provider_of(target)
    expected = FORMATS[provider][0]
    if input_format != expected:
        raise JobError(
            "InvalidInputDataFormat", f"Target '{target}' accepts input data format '{expected}', not '{input_format}'."
        )
    shots = params.get("shots", params.get("count", 100))
    if not isinstance(shots, int) or isinstance(shots, bool) or not 1 <= shots <= MAX_SHOTS:
        raise JobError("InvalidInputParams", f"shots must be an integer from 1 to {MAX_SHOTS} (got {shots!r}).")
    if provider == "ionq":
        circuit, gates = ionq_circuit(data, target)
    else:
        circuit = qasm_circuit(data, target)
        gates = billing.circuit_gates(circuit)
    unreadable = output_format is not None and output_format != FORMATS[provider][1]
    return Work(provider, circuit, shots, gates, unreadable)


def _check_width(qubits: int, target: str) -> None:
    """Before anything is allocated: a circuit wider than the target fails the job."""
    if qubits > TARGETS[target]:
        raise JobError(
            "InvalidInputData", f"The circuit uses {qubits} qubits but target '{target}' has {TARGETS[target]}."
        )


def qasm_circuit(data: bytes, target: str) -> QuantumCircuit:
    """honeywell.openqasm.v1 input: OpenQASM 2.0 text, qelib1.inc its only include.

    Register sizes are read before parsing, so `qreg q[2000000000];` fails the job instead of
    allocating two billion qubits; includes are refused rather than read from this machine.
    """
    import qiskit.qasm2

    try:
        text = data.decode()
    except UnicodeDecodeError as exc:
        raise JobError("InvalidInputData", f"The OpenQASM program is not UTF-8: {exc}") from None
    code = _COMMENT.sub("", text)
    _check_width(sum(int(n) for n in _QREG.findall(code)), target)
    other = sorted(set(_INCLUDE.findall(code)) - {"qelib1.inc"})
    if other:
        raise JobError("InvalidInputData", f"The OpenQASM program includes '{other[0]}': only qelib1.inc is available.")
    try:
        return qiskit.qasm2.loads(text, include_path=(), custom_instructions=qiskit.qasm2.LEGACY_CUSTOM_INSTRUCTIONS)
    except qiskit.qasm2.QASM2ParseError as exc:
        message = _POSITION.sub(r"line \1, column \2:", str(exc).strip().strip('"'), count=1)
        raise JobError("InvalidInputData", f"The OpenQASM program does not parse: {message}") from None


def ionq_circuit(data: bytes, target: str) -> tuple[QuantumCircuit, billing.Gates]:
    """ionq.circuit.v1 JSON (optionally wrapped in {"input": ...}) as a circuit, and its billable gates."""
    from qiskit import QuantumCircuit
    from qiskit.exceptions import QiskitError

    try:
        document = json.loads(data)
        document = document.get("input", document)
        qubits = int(document["qubits"])
        _check_width(qubits, target)
        circuit = QuantumCircuit(qubits)
        for gate in document["circuit"]:
            _append(circuit, gate)
        gates = billing.ionq_gates(document["circuit"])
    except JobError:
        raise
    except (ValueError, KeyError, TypeError, IndexError, AttributeError, QiskitError) as exc:
        raise JobError("InvalidInputData", f"The IonQ circuit is not valid: {type(exc).__name__}: {exc}") from None
    return circuit, gates


def _append(circuit: QuantumCircuit, gate: Mapping[str, Any]) -> None:
    from qiskit.circuit import library as lib

    name = str(gate["gate"])
    targets = _ints(gate, "target", "targets")
    controls = _ints(gate, "control", "controls")
    angle = float(gate.get("rotation", 0.0))
    single = {
        "x": lib.XGate(),
        "not": lib.XGate(),
        "y": lib.YGate(),
        "z": lib.ZGate(),
        "h": lib.HGate(),
        "s": lib.SGate(),
        "si": lib.SdgGate(),
        "t": lib.TGate(),
        "ti": lib.TdgGate(),
        "v": lib.SXGate(),
        "vi": lib.SXdgGate(),
        "rx": lib.RXGate(angle),
        "ry": lib.RYGate(angle),
        "rz": lib.RZGate(angle),
    }
    if name == "cnot":
        op, name = lib.XGate(), "x"
    elif name == "swap":
        circuit.append(lib.SwapGate().control(len(controls)) if controls else lib.SwapGate(), controls + targets)
        return
    elif name in _ONE_QUBIT:
        op = single[name]
    else:
        raise JobError("InvalidInputData", f"The IonQ circuit uses unknown gate '{name}'.")
    for qubit in targets:
        circuit.append(op.control(len(controls)) if controls else op, [*controls, qubit])


def _ints(gate: Mapping[str, Any], one: str, many: str) -> list[int]:
    if one in gate:
        return [int(gate[one])]
    return [int(q) for q in gate.get(many, [])]


def execute(work: Work, seed: int) -> bytes:
    """Simulate and encode the results in the target's output format."""
    if work.provider == "ionq":
        circuit = work.circuit.copy()
        circuit.measure_all()
        counts = simulate.counts(circuit, work.shots, seed)
        histogram = {str(int(key.replace(" ", ""), 2)): n / work.shots for key, n in counts.items()}
        return json.dumps({"histogram": histogram}).encode()
    counts = simulate.counts(work.circuit, work.shots, seed)
    return json.dumps(_per_shot(counts, [r.name for r in work.circuit.cregs], seed)).encode()


def cost_estimate(target: str, work: Work) -> dict[str, Any] | None:
    """The CostEstimate the service reports for a finished job (see billing); None when the target is free."""
    gates = work.gates if work.gates is not None else billing.circuit_gates(work.circuit)
    return billing.cost_estimate(target, work.shots, gates)


def _per_shot(counts: Mapping[str, int], registers: Sequence[str], seed: int) -> dict[str, list[str]]:
    """qiskit counts ('d c' keys) as Quantinuum's per-register lists of every shot, in shuffled order."""
    shots = [key for key, n in sorted(counts.items()) for _ in range(n)]
    random.Random(seed).shuffle(shots)
    values = [list(reversed(key.split(" "))) for key in shots]
    return {name: [v[i] for v in values] for i, name in enumerate(registers)}
