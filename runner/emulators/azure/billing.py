"""What the emulated Azure targets bill for a finished job: gate counts taken from the submitted input,
priced by the formulas IonQ and Quantinuum publish for Azure Quantum.

Written from the published facts, not from runner's planner (the emulator checks that planner):
- IonQ QPUs: max(97.50, 0.0002205 x 1q gate-shots + 0.00098 x 2q gate-shots) USD, the last
  default prices azure-quantum's client shipped (../shared/background/quantum-job-tools.md, (d)).
  Azure's pricing page: "multi-controlled two-qubit gates are billed as 6 * (N - 2) two-qubit
  gates, where N is the number of qubits involved in the gate". `ionq.simulator` is free.
- Quantinuum: HQC = 5 + shots x (N1q + 10 N2q + 5 Nm) / 5000, Nm counting measurements and
  resets; emulators (names ending `-sim` or `-<n>e`) bill the same amount in EHQC, syntax
  checkers (`-apival`, `-<n>sc`) nothing.

The events keep the emulator's own names (`1q_gate_shot`, ...). The real service's differ (IonQ
`gs1q`/`gs2q`, Quantinuum one `hqc`/`ehqc` event, currencyCode `USD`; see the recordings).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from qiskit import QuantumCircuit

IONQ_1Q, IONQ_2Q, IONQ_MINIMUM = Decimal("0.0002205"), Decimal("0.00098"), Decimal("97.50")
HQC_PER_JOB, HQC_DIVISOR = Decimal(5), Decimal(5000)
HQC_WEIGHTS = {"1q": Decimal(1), "2q": Decimal(10), "spam": Decimal(5)}
_QUANTINUUM_EMULATOR = re.compile(r"(-sim|-\d+e)$")
_QUANTINUUM_CHECKER = re.compile(r"(-apival|-\d+sc)$")
_NO_OPERATION = {"barrier", "id"}  # not operations on the machine
_SPAM = {"measure", "reset"}


@dataclass(frozen=True)
class Gates:
    """Billable operations in one job's input."""

    one_q: int = 0
    two_q: int = 0  # already weighted: IonQ bills a gate on N >= 3 qubits as 6 x (N - 2) of these
    spam: int = 0


def ionq_gates(gates: Iterable[Mapping[str, Any]]) -> Gates:
    """Count an ionq.circuit.v1 gate list: a gate entry acts once per target, on its controls and that target."""
    one_q = two_q = 0
    for gate in gates:
        controls, targets = _qubits(gate, "control", "controls"), _qubits(gate, "target", "targets")
        sizes = [len(controls) + len(targets)] if gate.get("gate") == "swap" else [len(controls) + 1] * len(targets)
        for size in sizes:
            if size == 1:
                one_q += 1
            else:
                two_q += 1 if size == 2 else 6 * (size - 2)
    return Gates(one_q, two_q)


def _qubits(gate: Mapping[str, Any], one: str, many: str) -> Sequence[Any]:
    if one in gate:
        return [gate[one]]
    found = gate.get(many, [])
    return found if isinstance(found, list) else []


def circuit_gates(circuit: QuantumCircuit) -> Gates:
    """Count a parsed OpenQASM program: each instruction once; measurements and resets are SPAM."""
    one_q = two_q = spam = 0
    for instruction in circuit.data:
        name, width = instruction.operation.name, len(instruction.qubits)
        if name in _NO_OPERATION:
            continue
        if name in _SPAM:
            spam += width
        elif width == 1:
            one_q += 1
        elif width > 1:
            two_q += 1
    return Gates(one_q, two_q, spam)


def cost_estimate(target: str, shots: int, gates: Gates) -> dict[str, Any] | None:
    """The job's CostEstimate document, or None for a target that does not bill."""
    if target.startswith("ionq."):
        if target.split(".")[1] == "simulator":
            return None
        return _document("USD", _ionq_events(shots, gates))
    if target.startswith("quantinuum.") and not _QUANTINUUM_CHECKER.search(target):
        currency = "EHQC" if _QUANTINUUM_EMULATOR.search(target) else "HQC"
        return _document(currency, _hqc_events(shots, gates))
    return None


def _event(dimension: str, unit: str, consumed: int | Decimal, unit_price: Decimal) -> dict[str, Any]:
    billed = Decimal(consumed) * unit_price
    return {
        "dimensionId": dimension,
        "dimensionName": dimension,
        "measureUnit": unit,
        "amountBilled": billed,
        "amountConsumed": Decimal(consumed),
        "unitPrice": unit_price,
    }


def _ionq_events(shots: int, gates: Gates) -> list[dict[str, Any]]:
    events = [
        _event("1q_gate_shot", "gate-shot", gates.one_q * shots, IONQ_1Q),
        _event("2q_gate_shot", "gate-shot", gates.two_q * shots, IONQ_2Q),
    ]
    short = IONQ_MINIMUM - sum(e["amountBilled"] for e in events)
    return events + ([_event("minimum", "job", 1, short)] if short > 0 else [])


def _hqc_events(shots: int, gates: Gates) -> list[dict[str, Any]]:
    per_op = {kind: weight / HQC_DIVISOR for kind, weight in HQC_WEIGHTS.items()}
    return [
        _event("job", "job", 1, HQC_PER_JOB),
        _event("1q_gate_shot", "gate-shot", gates.one_q * shots, per_op["1q"]),
        _event("2q_gate_shot", "gate-shot", gates.two_q * shots, per_op["2q"]),
        _event("spam_shot", "operation-shot", gates.spam * shots, per_op["spam"]),
    ]


def _document(currency: str, events: list[dict[str, Any]]) -> dict[str, Any]:
    total = sum((e["amountBilled"] for e in events), Decimal(0))
    wire = [{k: float(v) if isinstance(v, Decimal) else v for k, v in e.items()} for e in events]
    return {"currencyCode": currency, "estimatedTotal": float(total), "events": wire}
