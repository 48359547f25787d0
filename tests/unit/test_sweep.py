"""Sweeps in results: sweeps recognised from typed values, the plotted quantities and their errors."""

from __future__ import annotations

import math
from typing import Any

import pytest

from runner.errors import RunnerError
from runner.render import series


def row(
    addr: str, *counts: dict[str, int], generation: int = 1, values: dict[str, Any] | None = None, **data: Any
) -> dict[str, Any]:
    return {
        "address": addr,
        "generation": generation,
        "counts": list(counts),
        "shots": 1000,
        "data": data,
        "values": values or {},
    }


def rot(theta: float, counts: dict[str, int]) -> dict[str, Any]:
    return row(f"job.rotation[theta={theta}]", counts, values={"theta": theta})


ROTATION = [
    rot(3.1416, {"1": 1000}),
    rot(0.0, {"0": 1000}),
    rot(10.0, {"0": 500, "1": 500}),
    rot(0.7854, {"0": 852, "1": 148}),
]


def test_the_values_decide_and_the_address_is_never_parsed_for_them() -> None:
    # the address says theta=1 for both, the recorded values differ: the values are believed
    rows = [
        row("job.r[theta=1]", {"0": 1}, values={"theta": 1}),
        row("job.r[theta=1 ]", {"0": 1}, values={"theta": 1.0}),
    ]
    assert series.varying(rows) == ["theta"]  # 1 and 1.0 are different values
    assert series.base_of('batch.b.job[amp=0.1,x="a[b"]') == "batch.b.job"


def test_one_varying_value_of_one_job_is_a_sweep_two_a_grid() -> None:
    assert series.swept_param(ROTATION) == "theta"
    fixed = [row(f"job.r[t={t}]", {"0": 1}, values={"t": t, "n": 3}) for t in (1.0, 2.0)]
    assert series.varying(fixed) == ["t"]  # a fixed param is a column, not a sweep axis
    two_d = [
        row(f"job.r[phi={p},theta={t}]", {"0": 1}, values={"phi": p, "theta": t})
        for p in (0.1, 0.2)
        for t in (1.0, 2.0)
    ]
    assert series.varying(two_d) == ["phi", "theta"] and series.swept_param(two_d) is None
    assert series.swept_param([r for r in two_d if r["values"]["phi"] == 0.1]) == "theta"


@pytest.mark.parametrize(
    "rows",
    [
        [ROTATION[0]],  # one point
        [ROTATION[0], row("job.other[theta=0.0]", {"0": 1}, values={"theta": 0.0})],  # two jobs
        [ROTATION[0], row("job.rotation[theta=0.0]", {"0": 1}, {"1": 1}, values={"theta": 0.0})],  # multi-circuit
        [ROTATION[0], {**ROTATION[0], "generation": 2}],  # --all-generations: one address twice
        [row("job.bell", {"00": 1}), row("job.ghz", {"000": 1})],  # no matrix at all
    ],
)
def test_what_is_not_a_sweep(rows: list[dict[str, Any]]) -> None:
    assert series.swept_param(rows) is None and not series.varying(rows)


def test_default_outcome_is_the_most_frequent_not_all_zeros() -> None:
    assert series.default_outcome(ROTATION) == "1"
    assert series.default_outcome([row("job.a", {"00": 900, "11": 60, "01": 40})]) == "11"
    assert series.default_outcome([row("job.a", {"01": 5, "10": 5})]) == "01"  # ties: by bitstring
    assert series.default_outcome([row("job.a", {"0 00": 9})]) == "0 00"  # nothing else was seen
    with pytest.raises(RunnerError) as caught:
        series.default_outcome([row("job.a", {})])
    assert caught.value.message == "the results hold no counts, so there is no outcome to plot"


def test_points_are_sorted_by_value_with_binomial_errors() -> None:
    pts = series.points(ROTATION, "theta", "1")
    assert [p.value for p in pts] == [0.0, 0.7854, 3.1416, 10.0]  # numerically, not as text
    quarter = pts[1]
    err = math.sqrt(0.148 * 0.852 / 1000)
    assert quarter.probability == series.Estimate(pytest.approx(0.148), pytest.approx(err))  # type: ignore[arg-type]
    assert quarter.z == series.Estimate(pytest.approx(0.704), pytest.approx(2 * err))  # type: ignore[arg-type]
    assert (pts[0].probability.error, pts[0].z.value, pts[2].z.value) == (0.0, 1.0, -1.0)
    words = [row(f'job.b[b="{b}"]', {"0": 1}, values={"b": b}) for b in ("z", "x y", "a")]
    assert [p.value for p in series.points(words, "b", "0")] == ["a", "x y", "z"]


def test_z_is_of_classical_bit_zero_in_each_providers_order() -> None:
    qiskit = row("job.a[x=1]", {"01": 30, "00": 70}, values={"x": 1})  # rightmost character is bit 0
    pasqal = row(
        "job.a[x=2]", {"01": 30, "00": 70}, values={"x": 2}, bit_order="register order (leftmost = first atom)"
    )
    (q,) = series.points([qiskit], "x", "01")
    (p,) = series.points([pasqal], "x", "01")
    assert q.z.value == pytest.approx(0.4) and p.z.value == 1.0
    assert series.first_bit("1 0", {}) == "0"
    assert series.bit_order([qiskit]) == "bit 0 rightmost (Qiskit order)"
    assert series.bit_order([pasqal]) == "first atom leftmost (Pasqal order)"
    assert series.bit_order([qiskit, pasqal]) == "bit order differs between these results"


def test_a_row_without_the_parameter_is_named() -> None:
    with pytest.raises(RunnerError) as caught:
        series.points([row("job.bell", {"00": 1})], "theta", "00")
    assert caught.value.message == "job.bell has no parameter 'theta' to plot against"


def test_parity_and_probability_of_chosen_outcomes() -> None:
    bell = row("job.b", {"00": 450, "11": 450, "01": 60, "10": 40})
    zz = series.Quantity.expectation("zz").estimate(bell)
    assert zz.value == pytest.approx(0.8) and zz.error == pytest.approx(math.sqrt((1 - 0.64) / 1000))
    assert series.Quantity.expectation("IZ").estimate(bell).value == pytest.approx((450 + 40 - 450 - 60) / 1000)
    assert series.Quantity.expectation("ZI").estimate(bell).value == pytest.approx((450 + 60 - 450 - 40) / 1000)
    assert series.Quantity.probability("11").estimate(bell) == series.Estimate.of(450, 1000)
    spaced = row("job.r", {"1 01": 10, "0 00": 30})  # two registers: spaces are not bits
    assert series.Quantity.expectation("ZII").estimate(spaced).value == pytest.approx(0.5)
    assert series.Quantity.probability("101").estimate(spaced).value == pytest.approx(0.25)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: series.Quantity.expectation("ZX"), "--observable takes Z and I only, one per measured bit (got 'ZX')"),
        (lambda: series.Quantity.probability("12"), "--outcome takes a bit string such as 011 (got '12')"),
        (
            lambda: series.Quantity.expectation("ZZZ").estimate(row("job.b", {"00": 1})),
            "⟨ZZZ⟩ has 3 bit(s) but job.b measured 2",
        ),
    ],
)
def test_a_quantity_that_does_not_fit_is_a_clear_error(make: Any, message: str) -> None:
    with pytest.raises(RunnerError) as caught:
        make()
    assert caught.value.message.startswith(message)


def test_a_grid_has_sorted_axes_and_holes_where_nothing_ran() -> None:
    rows = [
        row(f"job.g[a={a},b={b}]", {"1": n, "0": 100 - n}, values={"a": a, "b": b})
        for a, b, n in ((2, "y", 10), (1, "y", 20), (1, "x", 30), (3, "x", 40), (3, "y", 50))
    ]
    assert series.axes(rows, ["a", "b"]) == ("a", "b")  # three values of a, two of b: a across
    g = series.grid(rows, "a", "b", series.Quantity.probability("1"))
    assert (g.xs, g.ys) == ((1, 2, 3), ("x", "y"))
    assert [[None if c is None else c.value for c in line] for line in g.cells] == [[0.3, None, 0.4], [0.2, 0.1, 0.5]]
