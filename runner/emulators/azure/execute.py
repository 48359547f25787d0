"""What the emulated Azure targets do with a job: check its input, simulate it, write its results.

IonQ jobs arrive as ionq.circuit.v1 JSON (every qubit is measured at the end; results are
probabilities per basis state, keyed by the state as an integer with qubit 0 as the lowest
bit). Quantinuum jobs arrive as OpenQASM 2 (results list every shot's value per classical
register). Circuits run on runner's simulator, so results are real.
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

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


def provider_of(target: str) -> str:
    return target.split(".", 1)[0]


def prepare(target: str, input_format: str, params: Mapping[str, Any], data: bytes) -> Work:
    """Check a job the way the service does at submission; raise JobError for a job that must fail."""
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
    circuit = ionq_circuit(data) if provider == "ionq" else qasm_circuit(data)
    width = TARGETS[target]
    if circuit.num_qubits > width:
        raise JobError(
            "InvalidInputData", f"The circuit uses {circuit.num_qubits} qubits but target '{target}' has {width}."
        )
    return Work(provider, circuit, shots)


def qasm_circuit(data: bytes) -> QuantumCircuit:
    """OpenQASM 2 text as a circuit."""
    from runner.quantum.qasm import ProgramError, parse

    try:
        return parse(data.decode())
    except (ProgramError, UnicodeDecodeError) as exc:
        raise JobError("InvalidInputData", f"The OpenQASM program does not parse: {exc}") from None


def ionq_circuit(data: bytes) -> QuantumCircuit:
    """ionq.circuit.v1 JSON (optionally wrapped in {"input": ...}) as a circuit."""
    from qiskit import QuantumCircuit

    try:
        document = json.loads(data)
        document = document.get("input", document)
        circuit = QuantumCircuit(int(document["qubits"]))
        for gate in document["circuit"]:
            _append(circuit, gate)
    except JobError:
        raise
    except (ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
        raise JobError("InvalidInputData", f"The IonQ circuit is not valid: {type(exc).__name__}: {exc}") from None
    return circuit


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
    from runner.quantum.simulator import run_circuit

    if work.provider == "ionq":
        circuit = work.circuit.copy()
        circuit.measure_all()
        counts = run_circuit(circuit, work.shots, seed)
        histogram = {str(int(key.replace(" ", ""), 2)): n / work.shots for key, n in counts.items()}
        return json.dumps({"histogram": histogram}).encode()
    counts = run_circuit(work.circuit, work.shots, seed)
    return json.dumps(_per_shot(counts, [r.name for r in work.circuit.cregs], seed)).encode()


def cost_estimate(target: str, work: Work) -> dict[str, Any] | None:
    """The CostEstimate the service reports for a finished job, by runner's own formulas; None when free."""
    from runner.planning.gates import count
    from runner.planning.pricing import Work as Priced
    from runner.planning.pricing import azure

    estimate = azure("", target, Priced(work.shots, gates=count(work.circuit)))
    if not estimate.amount:
        return None  # simulators and syntax checkers
    events = [
        {
            "dimensionId": line.dimension,
            "dimensionName": line.dimension,
            "measureUnit": line.unit,
            "amountBilled": float(line.amount),
            "amountConsumed": float(line.quantity),
            "unitPrice": float(line.unit_price),
        }
        for line in estimate.lines
    ]
    return {"currencyCode": estimate.currency, "estimatedTotal": float(estimate.amount), "events": events}


def _per_shot(counts: Mapping[str, int], registers: Sequence[str], seed: int) -> dict[str, list[str]]:
    """qiskit counts ('d c' keys) as Quantinuum's per-register lists of every shot, in shuffled order."""
    shots = [key for key, n in sorted(counts.items()) for _ in range(n)]
    random.Random(seed).shuffle(shots)
    values = [list(reversed(key.split(" "))) for key in shots]
    return {name: [v[i] for v in values] for i, name in enumerate(registers)}
