"""Sweeps: the cartesian product of a matrix, with GitHub Actions include/exclude semantics."""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping

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
