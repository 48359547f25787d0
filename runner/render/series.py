"""Sweeps in results: which rows form one, what a plot shows at each point, and its estimates.

A sweep is several addresses of one job (the address up to its `[`) whose parameters differ. The
parameters are the row's `values`: the typed params the state recorded for that generation
(runner.app.resultset), so a value is never read back out of an address string.

Bit order: qiskit (and every provider but Pasqal) writes classical bit 0 rightmost; Pasqal writes
the first atom leftmost and says so in the result's `bit_order`. An outcome or observable given
by the user lines up with the outcome strings character by character, as they are printed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from runner.domain.model import Scalar
from runner.errors import RunnerError

Row = Mapping[str, Any]
QISKIT_ORDER = "bit 0 rightmost (Qiskit order)"
PASQAL_ORDER = "first atom leftmost (Pasqal order)"


def base_of(address: str) -> str:
    """The job an address belongs to: `job.rot[theta=0.5]` -> `job.rot` (names never hold `[`)."""
    return address.partition("[")[0]


def values(row: Row) -> Mapping[str, Any]:
    found = row.get("values")
    return found if isinstance(found, Mapping) else {}


def _same(value: Any) -> tuple[str, str]:
    return (type(value).__name__, repr(value))  # 1, 1.0 and True are different sweep values


def varying(rows: Sequence[Row]) -> list[str] | None:
    """The parameters (sorted) in which rows of one job differ; None when the rows are not one sweep."""
    if len(rows) < 2 or any(len(r["counts"]) != 1 for r in rows):
        return None  # multi-circuit jobs have no single outcome per point: histograms show them
    if len({base_of(r["address"]) for r in rows}) != 1 or len({r["address"] for r in rows}) != len(rows):
        return None  # several jobs, or one address twice (--all-generations)
    keys = sorted({k for r in rows for k in values(r)})
    return [k for k in keys if len({_same(values(r).get(k)) for r in rows}) > 1]


def swept_param(rows: Sequence[Row]) -> str | None:
    """The one parameter in which rows of one job differ, or None when they are not a 1-D sweep."""
    found = varying(rows)
    return found[0] if found and len(found) == 1 else None


def param_values(rows: Sequence[Row], param: str) -> list[Scalar]:
    """Each row's value of a parameter (a clear error when a row lacks it)."""
    out = []
    for r in rows:
        if param not in values(r):
            raise RunnerError(f"{r['address']} has no parameter '{param}' to plot against")
        out.append(values(r)[param])
    return out


def default_outcome(rows: Sequence[Row]) -> str:
    """The most frequent outcome over the whole sweep that is not all zeros (all zeros if nothing else)."""
    totals: dict[str, int] = {}
    for r in rows:
        for bits, n in r["counts"][0].items():
            totals[bits] = totals.get(bits, 0) + n
    ranked = sorted(totals.items(), key=lambda kv: (set(kv[0]) <= {"0", " "}, -kv[1], kv[0]))
    if not ranked:
        raise RunnerError("the results hold no counts, so there is no outcome to plot")
    return ranked[0][0]


def bit_order(rows: Sequence[Row]) -> str:
    """How the outcome strings of these rows are ordered, for an axis label."""
    orders = {
        PASQAL_ORDER if "leftmost" in str((r.get("data") or {}).get("bit_order", "")) else QISKIT_ORDER for r in rows
    }
    return orders.pop() if len(orders) == 1 else "bit order differs between these results"


@dataclass(frozen=True)
class Estimate:
    """A quantity estimated from shots, with its standard error."""

    value: float
    error: float

    @classmethod
    def of(cls, hits: int, total: int) -> Estimate:
        """A proportion, with its binomial standard error."""
        p = hits / total if total else 0.0
        return cls(p, math.sqrt(p * (1 - p) / total) if total else 0.0)


@dataclass(frozen=True)
class Quantity:
    """What a plot shows at each point: P(outcome), or the expectation of a Z/I observable."""

    outcome: str | None = None
    observable: str | None = None

    @classmethod
    def expectation(cls, observable: str) -> Quantity:
        letters = observable.upper()
        if not letters or set(letters) - {"Z", "I"}:
            raise RunnerError(
                f"--observable takes Z and I only, one per measured bit (got '{observable}'): counts are measured "
                "in the Z basis, so X and Y need a basis change in the circuit"
            )
        return cls(observable=letters)

    @classmethod
    def probability(cls, outcome: str) -> Quantity:
        if not outcome or set(outcome) - {"0", "1", " "}:
            raise RunnerError(f"--outcome takes a bit string such as 011 (got '{outcome}')")
        return cls(outcome=outcome)

    @property
    def label(self) -> str:
        return f"⟨{self.observable}⟩" if self.observable else f"P({self.outcome})"

    @property
    def limits(self) -> tuple[float, float]:
        return (-1.0, 1.0) if self.observable else (0.0, 1.0)

    def estimate(self, row: Row) -> Estimate:
        """The quantity from a row's counts (its first circuit), with its standard error."""
        counts = {bits.replace(" ", ""): n for bits, n in row["counts"][0].items()}
        total = sum(counts.values())
        wanted = (self.observable or self.outcome or "").replace(" ", "")
        widths = {len(bits) for bits in counts}
        if widths and widths != {len(wanted)}:
            measured = " or ".join(str(w) for w in sorted(widths))
            raise RunnerError(f"{self.label} has {len(wanted)} bit(s) but {row['address']} measured {measured}")
        if self.observable is None:
            return Estimate.of(counts.get(wanted, 0), total)
        # each outcome is an eigenstate of a Z/I string: +1 for an even number of ones under the Zs, else -1
        signed = sum(
            n * (-1) ** sum(b == "1" for b, p in zip(bits, wanted, strict=True) if p == "Z")
            for bits, n in counts.items()
        )
        e = signed / total if total else 0.0
        return Estimate(e, math.sqrt(max(0.0, 1 - e * e) / total) if total else 0.0)


@dataclass(frozen=True)
class Point:
    """One sweep point: P(outcome) and <Z> of classical bit 0, each with its standard error."""

    value: Scalar
    shots: int
    probability: Estimate
    z: Estimate


def first_bit(bitstring: str, data: Mapping[str, Any]) -> str:
    """Classical bit 0: rightmost in qiskit's little-endian keys, leftmost where the result says so (Pasqal)."""
    bits = bitstring.replace(" ", "")
    leftmost = "leftmost" in str(data.get("bit_order", ""))
    return (bits[:1] if leftmost else bits[-1:]) or "0"


def points(rows: Sequence[Row], param: str, outcome: str) -> list[Point]:
    """Sweep points sorted by parameter value (numbers numerically, anything else by its text)."""
    out = []
    for row, value in zip(rows, param_values(rows, param), strict=True):
        counts: Mapping[str, int] = row["counts"][0]
        total = sum(counts.values())
        ones = sum(n for bits, n in counts.items() if first_bit(bits, row.get("data") or {}) == "1")
        p_one = Estimate.of(ones, total)
        # <Z> = P(0) - P(1) = 1 - 2 P(1); its error is twice that of P(1)
        z = Estimate(1 - 2 * p_one.value, 2 * p_one.error)
        out.append(Point(value, total, Estimate.of(counts.get(outcome, 0), total), z))
    return sorted(out, key=lambda p: sort_key(p.value))


@dataclass(frozen=True)
class Grid:
    """A 2-D sweep: sorted values along x and y, and the estimate at each (y, x); None where nothing ran."""

    x: str
    y: str
    xs: tuple[Scalar, ...]
    ys: tuple[Scalar, ...]
    cells: tuple[tuple[Estimate | None, ...], ...]


def axes(rows: Sequence[Row], names: Sequence[str]) -> tuple[str, str]:
    """(x, y) of a 2-D sweep: x the parameter with more distinct values (a finer sweep reads better across)."""
    a, b = names
    count = {n: len({_same(v) for v in param_values(rows, n)}) for n in names}
    return (b, a) if count[b] > count[a] else (a, b)


def grid(rows: Sequence[Row], x: str, y: str, quantity: Quantity) -> Grid:
    xs = sorted({_same(v): v for v in param_values(rows, x)}.values(), key=sort_key)
    ys = sorted({_same(v): v for v in param_values(rows, y)}.values(), key=sort_key)
    at = {(_same(values(r)[y]), _same(values(r)[x])): quantity.estimate(r) for r in rows}
    cells = tuple(tuple(at.get((_same(vy), _same(vx))) for vx in xs) for vy in ys)
    return Grid(x, y, tuple(xs), tuple(ys), cells)


def numeric(found: Sequence[Scalar]) -> bool:
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in found)


def sort_key(value: Scalar) -> tuple[int, float, str]:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (0, float(value), "")
    return (1, 0.0, str(value))


def label(value: Scalar) -> str:
    """A parameter value as a tick label: floats to 4 significant digits."""
    return f"{value:.4g}" if isinstance(value, float) else str(value)
