import pytest

from runner.domain.fingerprint import canonical, digest, seed_from


def test_canonical_json_ignores_key_order() -> None:
    assert canonical({"b": 1, "a": [1.0, "x"]}) == b'{"a":[1.0,"x"],"b":1}'
    assert digest({"b": 1, "a": 2}) == digest({"a": 2, "b": 1})


def test_int_and_float_differ() -> None:
    assert digest({"a": 1}) != digest({"a": 1.0})


def test_nan_is_refused() -> None:
    with pytest.raises(ValueError):
        canonical({"a": float("nan")})


def test_seed_is_a_32_bit_function_of_the_fingerprint() -> None:
    fp = digest({"x": 1})
    assert seed_from(fp) == int(fp[:8], 16)
    assert 0 <= seed_from(fp) < 2**32


def test_flat_canonical_is_exactly_canonical() -> None:
    from runner.domain.fingerprint import flat_canonical

    cases = [
        {},
        {"b": 1, "a": 0.1},
        {"x": True, "y": None, "z": 'é\\n"q"'},
        {"f": 1e-300, "g": -0.0, "h": 10**20},
        {"nested": {"a": 1}},
        {"list": [1, 2]},
    ]
    for value in cases:
        assert flat_canonical(value) == canonical(value), value
