"""Sweeps: the cartesian product of a matrix, with GitHub Actions include/exclude semantics.

An axis is a list of values or a generated range (linspace, range, logspace); generated values are
rounded to a declared precision, so the same manifest always gives the same values, addresses and
fingerprints, and arithmetic noise (0.1 + 0.2) never makes an address of its own.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from runner.domain.model import Matrix, Scalar

Combo = dict[str, Scalar]


def size_bound(matrix: Matrix) -> int:
    """An upper bound on the number of combinations, computed without expanding."""
    product = math.prod(len(v) for v in matrix.axes.values()) if matrix.axes else 0
    return product + len(matrix.include)


def _matches(combo: Mapping[str, Scalar], entry: Mapping[str, Scalar]) -> bool:
    return all(k in combo and _same(combo[k], v) for k, v in entry.items())


def _same(a: Scalar, b: Scalar) -> bool:
    # 1 and True must not match each other, though Python says 1 == True.
    return (type(a) is type(b) and a == b) or (
        isinstance(a, (int, float))
        and isinstance(b, (int, float))
        and not isinstance(a, bool)
        and not isinstance(b, bool)
        and a == b
    )


def combinations(matrix: Matrix) -> list[Combo]:
    """Every combination, in declaration order.

    exclude removes product combinations matching all of an entry's pairs. Then each include
    entry is merged into every combination whose original values it does not overwrite; if it
    fits none, it becomes a combination of its own.
    """
    keys = list(matrix.axes)
    base: list[Combo] = []
    if keys:
        for values in itertools.product(*(matrix.axes[k] for k in keys)):
            combo = dict(zip(keys, values, strict=False))
            if not any(_matches(combo, ex) for ex in matrix.exclude):
                base.append(combo)
    originals = set(keys)
    added: list[Combo] = []
    for entry in matrix.include:
        fits = [c for c in base if all(_same(c[k], v) for k, v in entry.items() if k in originals)]
        for combo in fits:
            combo.update({k: v for k, v in entry.items() if k not in originals})
        if not fits:
            added.append(dict(entry))
    return base + added


# Generated axes ----------------------------------------------------------------------------------
GENERATORS = ("linspace", "range", "logspace")
_HUGE = 10**15  # sizes past this are reported as such, never computed further


class SweepError(ValueError):
    """A generated axis that yields no values, or values that are not distinct once rounded."""


@dataclass(frozen=True)
class Generated:
    """An axis written as {linspace: [start, stop, num]}, {range: [start, stop, step]} or
    {logspace: [start_exp, stop_exp, num], base: 10}, its values rounded to `precision` significant
    digits: of the larger of |start| and |stop| for linspace and range (so 0.1 * 3 is 0.3 and
    -1 + 10 * 0.1 is 0.0), of each value for logspace (which spans decades)."""

    kind: str
    start: float
    stop: float
    third: float  # num for linspace and logspace, step for range
    precision: int
    base: float = 10.0

    def size(self) -> int:
        """How many values the axis has, computed without making them (capped at 10^15 + 1)."""
        if self.kind != "range":
            return min(_HUGE + 1, int(self.third))
        if _integers(self.start, self.stop, self.third):
            return min(_HUGE + 1, len(range(int(self.start), int(self.stop), int(self.third))))
        ratio = (self.stop - self.start) / self.third
        if not math.isfinite(ratio) or ratio > _HUGE:
            return _HUGE + 1
        count = max(0, math.ceil(ratio))
        # rounding may move the last value onto or past stop; a step below the rounding quantum makes
        # values repeat, which values() reports, so a couple of corrections in each direction suffice
        for _ in range(2):
            if count > 0 and not self._before(self._at(count - 1)):
                count -= 1
        for _ in range(2):
            if self._before(self._at(count)):
                count += 1
        return count

    def values(self) -> tuple[Scalar, ...]:
        """The axis' values in order; call size() first, this makes every one of them."""
        count = self.size()
        if self.kind == "range" and _integers(self.start, self.stop, self.third):
            out: tuple[Scalar, ...] = tuple(range(int(self.start), int(self.stop), int(self.third)))
        elif self.kind == "range":
            out = tuple(self._at(i) for i in range(count))
        elif self.kind == "linspace":
            out = (*(self._at(i) for i in range(count - 1)), self._round(self.stop))
        else:
            out = self._logspace(count)
        if len(set(out)) != len(out):
            raise SweepError(f"values repeat once rounded to {self.precision} significant digits: raise precision")
        return out

    def _step(self) -> float:
        if self.kind == "range":
            return self.third
        return (self.stop - self.start) / (self.third - 1) if self.third > 1 else 0.0

    def _at(self, i: int) -> float:
        return self._round(self.start + i * self._step())

    def _before(self, value: float) -> bool:
        return value < self.stop if self.third > 0 else value > self.stop

    def _round(self, value: float) -> float:
        scale = max(abs(self.start), abs(self.stop))
        return _rounded(value, self.precision, scale)

    def _logspace(self, count: int) -> tuple[Scalar, ...]:
        out = []
        for i in range(count):
            exponent = self.stop if i == count - 1 and count > 1 else self.start + i * self._step()
            try:
                value = float(self.base**exponent)
            except OverflowError:
                raise SweepError(f"{self.base:g}^{exponent:g} is too large for a number") from None
            out.append(_rounded(value, self.precision, abs(value)))
        return tuple(out)


def _integers(*values: float) -> bool:
    return all(isinstance(v, int) and not isinstance(v, bool) for v in values)


def _rounded(value: float, precision: int, scale: float) -> float:
    if scale == 0 or not math.isfinite(scale):
        return float(value) + 0.0
    digits = precision - 1 - math.floor(math.log10(scale))
    return round(float(value), digits) + 0.0  # + 0.0 turns -0.0 into 0.0: one address, not two


def generated(spec: Mapping[str, Any], precision: int) -> Generated:
    """The generated axis a (schema-valid) mapping describes; SweepError when it yields nothing."""
    kind = next(k for k in GENERATORS if k in spec)
    start, stop, third = spec[kind]
    precision = int(spec.get("precision", precision))
    if "base" in spec and kind != "logspace":
        raise SweepError("base applies to logspace only")
    if kind == "range" and third == 0:
        raise SweepError("range step must not be 0")
    axis = Generated(kind, start, stop, third, precision, float(spec.get("base", 10.0)))
    if axis.size() == 0:
        raise SweepError(f"range {[start, stop, third]} has no values: the step must go from start towards stop")
    return axis
