from runner.domain.model import Matrix
from runner.expand.matrix import combinations, size_bound


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
