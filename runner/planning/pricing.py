"""What one job costs: a target's price table, or the formula runner knows for it. Pure, no qiskit.

Azure stopped estimating before a run in October 2024 (azure-quantum-python PR #646); the IonQ and
Quantinuum formulas below are the ones its client used, with IonQ's last published default prices.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from runner.domain.model import Target

EXACT, FORMULA, UNKNOWN = "exact", "formula", "unknown"
ZERO = Decimal(0)
IONQ_1Q, IONQ_2Q, IONQ_MINIMUM = Decimal("0.0002205"), Decimal("0.00098"), Decimal("97.50")
HQC_BASE, HQC_PER_1Q, HQC_PER_2Q, HQC_PER_SPAM = Decimal(5), Decimal("0.0002"), Decimal("0.002"), Decimal("0.001")
GATE_PRICES = ("per_1q_gate_shot", "per_2q_gate_shot")
IONQ_SOURCE = "Azure IonQ formula: max(97.50, (0.0002205 x 1q + 0.00098 x 2q gate-shots)), last published prices"
HQC_SOURCE = "Azure Quantinuum formula: 5 + shots x (N1q + 10 N2q + 5 Nm) / 5000"
_SYNTAX_CHECKER = re.compile(r"(-apival|-\d+sc)$")
_EMULATOR = re.compile(r"(-sim|-\d+e)$")


@dataclass(frozen=True)
class Line:
    """One priced dimension of a job, like an Azure UsageEvent: quantity x unit_price = amount."""

    dimension: str
    unit: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal


@dataclass(frozen=True)
class Estimate:
    """What one job should cost in one currency; `currency` is None when the cost is unknown."""

    address: str
    currency: str | None
    amount: Decimal
    basis: str  # exact | formula | unknown
    lines: tuple[Line, ...] = ()
    source: str = ""


@dataclass(frozen=True)
class Gates:
    """Operations in a job's circuits, counted in the gate set runner submits."""

    one_q: int = 0
    two_q: int = 0
    multi: tuple[int, ...] = ()  # qubits touched by each gate acting on three or more
    spam: int = 0  # measurements and resets

    def __add__(self, other: Gates) -> Gates:
        return Gates(
            self.one_q + other.one_q, self.two_q + other.two_q, self.multi + other.multi, self.spam + other.spam
        )

    @property
    def any_2q(self) -> int:
        """Gates on two or more qubits, each counted once."""
        return self.two_q + len(self.multi)

    @property
    def ionq_2q(self) -> int:
        """IonQ bills a gate on N >= 3 qubits as 6 x (N - 2) two-qubit gates (Azure pricing page)."""
        return self.two_q + sum(6 * (n - 2) for n in self.multi)


@dataclass(frozen=True)
class Work:
    """What one job asks of its target: shots per circuit, circuits, and their gates when counted."""

    shots: int
    circuits: int = 1
    gates: Gates | None = None


def lowering(target: Target) -> str | None:
    """The gate set to count in for this target's price ("ionq" or "qasm2"), or None if gates do not matter."""
    ionq = target.provider == "azure" and target.target.startswith("ionq.")
    if target.price:
        return ("ionq" if ionq else "qasm2") if any(k in target.price for k in GATE_PRICES) else None
    if ionq and not _ionq_simulator(target.target):
        return "ionq"
    if _quantinuum(target) and not _SYNTAX_CHECKER.search(target.target):
        return "qasm2"
    return None


def currency_of(target: Target) -> str | None:
    """The currency a target's jobs cost in, or None when runner knows no price for it."""
    if target.price:
        return str(target.price["currency"])
    if target.provider == "local" or (target.provider == "azure" and target.target.startswith("ionq.")):
        return "USD"
    if _quantinuum(target):
        return "EHQC" if _EMULATOR.search(target.target) else "HQC"
    return None


def price(address: str, target: Target, work: Work) -> Estimate:
    """One job's estimate by the first rule that applies: price table, Azure formula, local, unknown."""
    if target.price:
        return table(address, target.name, target.price, work)
    if target.provider == "azure" and target.target.startswith(("ionq.", "quantinuum.")):
        return azure(address, target.target, work)
    if target.provider == "local":
        return Estimate(address, "USD", ZERO, EXACT, source="local simulator: free")
    why = f"no price known for {target.provider} target {target.target}: add a price table to targets.{target.name}"
    return unknown(address, why)


def unknown(address: str, why: str) -> Estimate:
    return Estimate(address, None, ZERO, UNKNOWN, source=why)


def table(address: str, name: str, prices: Mapping[str, Any], work: Work) -> Estimate:
    """Price table x jobs, shots and gate-shots; `minimum` tops a job up to its smallest charge."""
    gates = work.gates or Gates()
    quantities = {
        "per_job": ("job", "job", 1),
        "per_shot": ("shot", "shot", work.shots * work.circuits),
        "per_1q_gate_shot": ("1q_gate_shot", "gate-shot", gates.one_q * work.shots),
        "per_2q_gate_shot": ("2q_gate_shot", "gate-shot", gates.any_2q * work.shots),
    }
    lines = [_line(dim, unit, qty, _dec(prices[key])) for key, (dim, unit, qty) in quantities.items() if key in prices]
    lines += _top_up(lines, _dec(prices["minimum"])) if "minimum" in prices else []
    return _estimate(address, str(prices["currency"]), EXACT, lines, f"targets.{name}.price")


def azure(address: str, target: str, work: Work) -> Estimate:
    """The formula for an Azure `ionq.*` or `quantinuum.*` target (free: simulators and syntax checkers)."""
    if target.startswith("ionq."):
        if _ionq_simulator(target):
            return Estimate(address, "USD", ZERO, FORMULA, source=f"{target} is free")
        return ionq(address, work)
    currency = "EHQC" if _EMULATOR.search(target) else "HQC"
    if _SYNTAX_CHECKER.search(target):
        return Estimate(address, currency, ZERO, FORMULA, source=f"{target} is a syntax checker: free")
    return quantinuum(address, currency, work)


def ionq(address: str, work: Work) -> Estimate:
    gates = work.gates or Gates()
    lines = [
        _line("1q_gate_shot", "gate-shot", gates.one_q * work.shots, IONQ_1Q),
        _line("2q_gate_shot", "gate-shot", gates.ionq_2q * work.shots, IONQ_2Q),
    ]
    return _estimate(address, "USD", FORMULA, lines + _top_up(lines, IONQ_MINIMUM), IONQ_SOURCE)


def quantinuum(address: str, currency: str, work: Work) -> Estimate:
    gates = work.gates or Gates()
    lines = [
        _line("job", "job", 1, HQC_BASE),
        _line("1q_gate_shot", "gate-shot", gates.one_q * work.shots, HQC_PER_1Q),
        _line("2q_gate_shot", "gate-shot", gates.any_2q * work.shots, HQC_PER_2Q),
        _line("spam_shot", "operation-shot", gates.spam * work.shots, HQC_PER_SPAM),
    ]
    return _estimate(address, currency, FORMULA, lines, HQC_SOURCE)


def _line(dimension: str, unit: str, quantity: int, unit_price: Decimal) -> Line:
    return Line(dimension, unit, Decimal(quantity), unit_price, quantity * unit_price)


def _top_up(lines: list[Line], minimum: Decimal) -> list[Line]:
    """The line that brings a job up to its minimum charge, if it falls short."""
    short = minimum - sum((line.amount for line in lines), ZERO)
    return [Line("minimum", "job", Decimal(1), short, short)] if short > 0 else []


def _estimate(address: str, currency: str, basis: str, lines: list[Line], source: str) -> Estimate:
    return Estimate(address, currency, sum((line.amount for line in lines), ZERO), basis, tuple(lines), source)


def _dec(value: Any) -> Decimal:
    """A price from YAML as a Decimal; via str so 0.0002205 stays exactly that."""
    return Decimal(str(value))


def _ionq_simulator(target: str) -> bool:
    return target.split(".")[1:2] == ["simulator"]


def _quantinuum(target: Target) -> bool:
    return target.provider == "azure" and target.target.startswith("quantinuum.")
