"""What the emulated Azure targets bill for a finished job: gate counts taken from the submitted input,
priced by the formulas IonQ and Quantinuum publish for Azure Quantum, reported in the shape the
recorded service uses (../shared/providers/recordings/azure).

Written from the published facts, not from runner's planner (the emulator checks that planner):
- IonQ QPUs: max(97.50, 0.0002205 x 1q gate-shots + 0.00098 x 2q gate-shots) USD, the last
  default prices azure-quantum's client shipped (../shared/background/quantum-job-tools.md, (d)).
  Azure's pricing page: "multi-controlled two-qubit gates are billed as 6 * (N - 2) two-qubit
  gates, where N is the number of qubits involved in the gate". `ionq.simulator` reports the
  same two events with nothing consumed and nothing billed, as recorded.
- Quantinuum: HQC = 5 + shots x (N1q + 10 N2q + 5 Nm) / 5000, Nm counting measurements and
  resets; emulators (names ending `-sim` or `-<n>e`) bill the same amount in EHQC, syntax
  checkers (`-apival`, `-<n>sc`) nothing.

Recorded shapes: currencyCode is always USD. IonQ reports events `gs1q` and `gs2q` ("1Q Gate
Shot", unit "1q gate shot"); Quantinuum one event `hqc` or `ehqc` (unit "hqc") whose
amountBilled and amountConsumed are the HQC count, with unitPrice 0.0 and estimatedTotal 0.0:
amountBilled is a quantity of the event's unit, never money. IonQ's minimum charge is in
estimatedTotal only (no recording shows how the service itemises it).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from qiskit import QuantumCircuit

ZERO = Decimal(0)
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
            return _document(_ionq_events(0, Gates()), Decimal(0))
        events = _ionq_events(shots, gates)
        return _document(events, max(IONQ_MINIMUM, sum((e["amountBilled"] * e["unitPrice"] for e in events), ZERO)))
    if target.startswith("quantinuum.") and not _QUANTINUUM_CHECKER.search(target):
        emulated = bool(_QUANTINUUM_EMULATOR.search(target))
        hqc = HQC_PER_JOB + shots * sum(HQC_WEIGHTS[k] * n for k, n in _hqc_counts(gates).items()) / HQC_DIVISOR
        name = "EHQC" if emulated else "HQC"
        return _document([_event(name.lower(), name, "hqc", hqc, ZERO)], ZERO)
    return None


def _event(dimension: str, name: str, unit: str, quantity: int | Decimal, unit_price: Decimal) -> dict[str, Any]:
    return {
        "dimensionId": dimension,
        "dimensionName": name,
        "measureUnit": unit,
        "amountBilled": Decimal(quantity),
        "amountConsumed": Decimal(quantity),
        "unitPrice": unit_price,
    }


def _ionq_events(shots: int, gates: Gates) -> list[dict[str, Any]]:
    return [
        _event("gs1q", "1Q Gate Shot", "1q gate shot", gates.one_q * shots, IONQ_1Q if shots else ZERO),
        _event("gs2q", "2Q Gate Shot", "2q gate shot", gates.two_q * shots, IONQ_2Q if shots else ZERO),
    ]


def _hqc_counts(gates: Gates) -> dict[str, int]:
    return {"1q": gates.one_q, "2q": gates.two_q, "spam": gates.spam}


def _document(events: list[dict[str, Any]], total: Decimal) -> dict[str, Any]:
    wire = [{k: float(v) if isinstance(v, Decimal) else v for k, v in e.items()} for e in events]
    return {"currencyCode": "USD", "events": wire, "estimatedTotal": float(total)}
