"""Sweeps in results: which rows form one, and the estimates a sweep plot draws.

A sweep is several addresses of one job that differ in exactly one matrix value, read back
from the address (`job.rotation[theta=0.7854]`): the address holds exactly the matrix values
and formats numbers with repr, so they round-trip, whereas the spec's params also hold the
fixed ones.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from runner.domain.model import Scalar
from runner.errors import RunnerError

Row = Mapping[str, Any]
_PAIR = re.compile(r'([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|[^,]*)(?:,|$)')


def split_address(address: str) -> tuple[str, dict[str, Scalar]]:
    """`job.rot[theta=0.7854]` -> ("job.rot", {"theta": 0.7854}); without brackets, no values."""
    base, bracket, rest = address.partition("[")
    if not bracket or not rest.endswith("]"):
        return address, {}
    inner = rest[:-1]
    values: dict[str, Scalar] = {}
    pos = 0
    while pos < len(inner):
        found = _PAIR.match(inner, pos)
        if found is None:  # not an address runner wrote: treat it as a plain name
            return address, {}
        values[found.group(1)] = _scalar(found.group(2))
        pos = found.end()
    return base, values


def _scalar(text: str) -> Scalar:
    if text.startswith('"'):
        return str(json.loads(text))
    if text in ("true", "false"):
        return text == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def swept_param(rows: Sequence[Row]) -> str | None:
    """The one matrix value in which rows of one job differ, or None when they are not a sweep."""
    if len(rows) < 2 or any(len(r["counts"]) != 1 for r in rows):
        return None  # multi-circuit jobs have no single outcome per point: histograms show them
    split = [split_address(r["address"]) for r in rows]
    bases = {base for base, _ in split}
    keys = {tuple(sorted(values)) for _, values in split}
    if len(bases) != 1 or len(keys) != 1 or len({r["address"] for r in rows}) != len(rows):
        return None
    varying = [k for k in next(iter(keys)) if len({repr(v[k]) for _, v in split}) > 1]
    return varying[0] if len(varying) == 1 else None


def param_values(rows: Sequence[Row], param: str) -> list[Scalar]:
    """Each row's value of the swept parameter (a clear error when a row lacks it)."""
    out = []
    for r in rows:
        values = split_address(r["address"])[1]
        if param not in values:
            raise RunnerError(f"{r['address']} has no matrix value '{param}' to plot against")
        out.append(values[param])
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


@dataclass(frozen=True)
class Estimate:
    """A proportion estimated from shots, with its binomial standard error."""

    value: float
    error: float

    @classmethod
    def of(cls, hits: int, total: int) -> Estimate:
        p = hits / total if total else 0.0
        return cls(p, math.sqrt(p * (1 - p) / total) if total else 0.0)


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


def numeric(values: Sequence[Scalar]) -> bool:
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


def sort_key(value: Scalar) -> tuple[int, float, str]:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (0, float(value), "")
    return (1, 0.0, str(value))
