import time
from typing import Any

import pytest

from runner.domain import address
from runner.domain.model import Matrix
from runner.expand.matrix import SweepError, combinations, generated, size_bound


def test_product_in_declaration_order() -> None:
    m = Matrix({"a": (1, 2), "b": ("x", "y")})
    assert combinations(m) == [{"a": 1, "b": "x"}, {"a": 1, "b": "y"}, {"a": 2, "b": "x"}, {"a": 2, "b": "y"}]


def test_exclude_removes_partial_matches() -> None:
    m = Matrix({"a": (1, 2), "b": (3, 4)}, exclude=({"a": 1, "b": 4}, {"b": 3, "a": 2}))
    assert combinations(m) == [{"a": 1, "b": 3}, {"a": 2, "b": 4}]


def test_include_follows_github_actions_documented_example() -> None:
    # the example from GitHub's "Expanding or adding matrix configurations" documentation
    m = Matrix(
        {"fruit": ("apple", "pear"), "animal": ("cat", "dog")},
        include=(
            {"color": "green"},
            {"color": "pink", "animal": "cat"},
            {"fruit": "apple", "shape": "circle"},
            {"fruit": "banana"},
            {"fruit": "banana", "animal": "cat"},
        ),
    )
    assert combinations(m) == [
        {"fruit": "apple", "animal": "cat", "color": "pink", "shape": "circle"},
        {"fruit": "apple", "animal": "dog", "color": "green", "shape": "circle"},
        {"fruit": "pear", "animal": "cat", "color": "pink"},
        {"fruit": "pear", "animal": "dog", "color": "green"},
        {"fruit": "banana"},
        {"fruit": "banana", "animal": "cat"},
    ]


def test_include_applied_after_exclude() -> None:
    m = Matrix({"a": (1, 2)}, include=({"a": 1, "extra": True},), exclude=({"a": 1},))
    assert combinations(m) == [{"a": 2}, {"a": 1, "extra": True}]


def test_include_only_matrix_lists_its_entries() -> None:
    assert combinations(Matrix({}, include=({"a": 1}, {"a": 2}))) == [{"a": 1}, {"a": 2}]


def test_true_and_one_are_different_values() -> None:
    m = Matrix({"a": (1, True)}, exclude=({"a": True},))
    assert combinations(m) == [{"a": 1}]


def test_size_bound_does_not_expand() -> None:
    huge = Matrix({k: tuple(range(100)) for k in "abcde"}, include=({"a": -1},))
    assert size_bound(huge) == 100**5 + 1


# generated axes ----------------------------------------------------------------------------------
def values(spec: dict[str, Any], precision: int = 6) -> tuple[Any, ...]:
    return generated(spec, precision).values()


def test_linspace_includes_both_ends_rounded_to_six_significant_digits() -> None:
    assert values({"linspace": [0, 6.2832, 5]}) == (0.0, 1.5708, 3.1416, 4.7124, 6.2832)
    assert values({"linspace": [0, 6.2832, 21]})[1:4] == (0.31416, 0.62832, 0.94248)
    assert values({"linspace": [2, 2, 1]}) == (2.0,)
    assert values({"linspace": [1, -1, 3]}) == (1.0, 0.0, -1.0)


def test_range_excludes_stop_and_keeps_whole_numbers_whole() -> None:
    assert values({"range": [0, 10, 2]}) == (0, 2, 4, 6, 8)
    assert values({"range": [5, 0, -2]}) == (5, 3, 1)
    assert [type(v) for v in values({"range": [0, 3, 1]})] == [int, int, int]


def test_range_with_float_steps_has_no_arithmetic_noise() -> None:
    # 0.1 * 3 is 0.30000000000000004 and -1 + 10 * 0.1 is 1.1e-16 in floating point
    assert values({"range": [0, 1, 0.1]}) == (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
    assert values({"range": [-1, 1, 0.1]})[10] == 0.0
    assert values({"range": [1, 0, -0.25]}) == (1.0, 0.75, 0.5, 0.25)
    assert [address.format_value(v) for v in values({"range": [0, 0.5, 0.1]})] == ["0.0", "0.1", "0.2", "0.3", "0.4"]


def test_logspace_is_base_ten_unless_told_and_rounds_each_value() -> None:
    assert values({"logspace": [-3, 0, 4]}) == (0.001, 0.01, 0.1, 1.0)
    assert values({"logspace": [0, 4, 5], "base": 2}) == (1.0, 2.0, 4.0, 8.0, 16.0)
    assert values({"logspace": [0, 1, 3]}) == (1.0, 3.16228, 10.0)


def test_precision_comes_from_the_axis_then_the_matrix() -> None:
    # significant digits of the axis' largest magnitude (1): two digits keep one decimal
    assert values({"linspace": [0, 1, 4]}, precision=2) == (0.0, 0.3, 0.7, 1.0)
    assert values({"linspace": [0, 1, 4], "precision": 3}, precision=2) == (0.0, 0.33, 0.67, 1.0)


def test_the_same_spec_always_gives_the_same_values() -> None:
    spec = {"linspace": [0.1, 0.7, 7]}
    assert values(spec) == values(dict(spec)) == (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7)


def test_size_is_counted_without_making_values() -> None:
    started = time.perf_counter()
    assert generated({"linspace": [0, 1, 10**9]}, 6).size() == 10**9
    assert generated({"range": [0, 10**12, 1]}, 6).size() == 10**12
    assert generated({"range": [0, 1e9, 1e-9]}, 6).size() > 10**15
    assert generated({"logspace": [0, 9, 10**9]}, 6).size() == 10**9
    assert time.perf_counter() - started < 0.1


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"range": [0, 1, 0]}, "range step must not be 0"),
        ({"range": [1, 0, 0.1]}, "range [1, 0, 0.1] has no values: the step must go from start towards stop"),
        ({"range": [0, 0, 1]}, "range [0, 0, 1] has no values: the step must go from start towards stop"),
        ({"linspace": [0, 1, 3], "base": 2}, "base applies to logspace only"),
    ],
)
def test_axes_that_yield_nothing_are_refused(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(SweepError) as caught:
        generated(spec, 6)
    assert str(caught.value) == message


def test_values_that_repeat_once_rounded_are_refused() -> None:
    with pytest.raises(SweepError) as caught:
        values({"linspace": [0, 1, 1000]}, precision=2)
    assert str(caught.value) == "values repeat once rounded to 2 significant digits: raise precision"


def test_logspace_past_float_range_is_refused() -> None:
    with pytest.raises(SweepError) as caught:
        values({"logspace": [0, 400, 2]})
    assert str(caught.value) == "10^400 is too large for a number"
