"""Sweeps in results: addresses read back, sweeps recognised, estimates and their errors."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from runner.domain import address
from runner.errors import RunnerError
from runner.render import series


def row(addr: str, *counts: dict[str, int], generation: int = 1, **data: Any) -> dict[str, Any]:
    return {"address": addr, "generation": generation, "counts": list(counts), "shots": 1000, "data": data}


ROTATION = [
    row("job.rotation[theta=3.1416]", {"1": 1000}),
    row("job.rotation[theta=0.0]", {"0": 1000}),
    row("job.rotation[theta=10.0]", {"0": 500, "1": 500}),
    row("job.rotation[theta=0.7854]", {"0": 852, "1": 148}),
]


def test_split_address_reads_every_kind_of_value() -> None:
    assert series.split_address("job.rotation[theta=0.7854]") == ("job.rotation", {"theta": 0.7854})
    assert series.split_address('job.r[a=1,b="x,y]",c=true,d=plain]') == (
        "job.r",
        {"a": 1, "b": "x,y]", "c": True, "d": "plain"},
    )
    assert series.split_address("batch.b.job[amp=0.1]") == ("batch.b.job", {"amp": 0.1})
    assert series.split_address("job.bell") == ("job.bell", {})
    assert series.split_address("job.odd[no pairs here]") == ("job.odd[no pairs here]", {})


scalars = st.one_of(
    st.integers(),
    st.floats(allow_nan=False),
    st.booleans(),
    st.text(min_size=1, max_size=12),
)


@given(st.dictionaries(st.from_regex(r"[a-z_][a-z0-9_]{0,6}", fullmatch=True), scalars, min_size=1, max_size=4))
def test_split_address_inverts_address_formatting(values: dict[str, Any]) -> None:
    # a plain string that reads as a number or boolean ("1", "true") is written unquoted, so it cannot
    # come back as a string: the address format itself does not tell them apart
    for v in values.values():
        if isinstance(v, str):
            assume(isinstance(series._scalar(address.format_value(v)), str))
    base, back = series.split_address(address.job("scan", values))
    assert base == "job.scan"
    assert back == values and [type(v) for v in back.values()] == [type(values[k]) for k in back]


def test_one_varying_matrix_value_of_one_job_is_a_sweep() -> None:
    assert series.swept_param(ROTATION) == "theta"
    two_d = [row(f"job.r[phi={p},theta={t}]", {"0": 1}) for p in (0.1, 0.2) for t in (1.0, 2.0)]
    assert series.swept_param(two_d) is None
    assert series.swept_param([r for r in two_d if "phi=0.1" in r["address"]]) == "theta"


@pytest.mark.parametrize(
    "rows",
    [
        [ROTATION[0]],  # one point
        [ROTATION[0], row("job.other[theta=0.0]", {"0": 1})],  # two jobs
        [ROTATION[0], row("job.rotation[theta=0.0]", {"0": 1}, {"1": 1})],  # multi-circuit
        [ROTATION[0], {**ROTATION[0], "generation": 2}],  # --all-generations: one address twice
        [row("job.bell", {"00": 1}), row("job.ghz", {"000": 1})],  # no matrix at all
    ],
)
def test_what_is_not_a_sweep(rows: list[dict[str, Any]]) -> None:
    assert series.swept_param(rows) is None


def test_default_outcome_is_the_most_frequent_not_all_zeros() -> None:
    assert series.default_outcome(ROTATION) == "1"
    assert series.default_outcome([row("job.a[x=1]", {"00": 900, "11": 60, "01": 40})]) == "11"
    assert series.default_outcome([row("job.a[x=1]", {"01": 5, "10": 5})]) == "01"  # ties: by bitstring
    assert series.default_outcome([row("job.a[x=1]", {"0 00": 9})]) == "0 00"  # nothing else was seen
    with pytest.raises(RunnerError) as caught:
        series.default_outcome([row("job.a[x=1]", {})])
    assert caught.value.message == "the results hold no counts, so there is no outcome to plot"


def test_points_are_sorted_by_value_with_binomial_errors() -> None:
    pts = series.points(ROTATION, "theta", "1")
    assert [p.value for p in pts] == [0.0, 0.7854, 3.1416, 10.0]  # numerically, not as text
    quarter = pts[1]
    err = math.sqrt(0.148 * 0.852 / 1000)
    assert quarter.probability == series.Estimate(pytest.approx(0.148), pytest.approx(err))  # type: ignore[arg-type]
    assert quarter.z == series.Estimate(pytest.approx(0.704), pytest.approx(2 * err))  # type: ignore[arg-type]
    assert (pts[0].probability.error, pts[0].z.value, pts[2].z.value) == (0.0, 1.0, -1.0)
    words = [row(f'job.b[b="{b}"]', {"0": 1}) for b in ("z", "x y", "a")]
    assert [p.value for p in series.points(words, "b", "0")] == ["a", "x y", "z"]


def test_z_is_of_classical_bit_zero_in_each_providers_order() -> None:
    qiskit = row("job.a[x=1]", {"01": 30, "00": 70})  # rightmost character is bit 0
    pasqal = row("job.a[x=2]", {"01": 30, "00": 70}, bit_order="register order (leftmost = first atom)")
    (q,) = series.points([qiskit], "x", "01")
    (p,) = series.points([pasqal], "x", "01")
    assert q.z.value == pytest.approx(0.4) and p.z.value == 1.0
    assert series.first_bit("1 0", {}) == "0"


def test_a_row_without_the_parameter_is_named() -> None:
    with pytest.raises(RunnerError) as caught:
        series.points([row("job.bell", {"00": 1})], "theta", "00")
    assert caught.value.message == "job.bell has no matrix value 'theta' to plot against"
