import time

import pytest
import yaml

from runner.errors import Location
from runner.manifest.source import oversized, parse


def test_positions_of_keys_and_values() -> None:
    s = parse("a: 1\nb:\n  c: [x, y]\n", "m.yaml")
    assert s.data == {"a": 1, "b": {"c": ["x", "y"]}}
    assert s.keys[("b", "c")] == Location("m.yaml", 3, 3)
    assert s.values[("b", "c", 1)] == Location("m.yaml", 3, 10)


def test_duplicate_keys_are_located() -> None:
    s = parse("a: 1\nb: 2\na: 3\n", "m.yaml")
    assert [str(p) for p in s.problems] == ["m.yaml:3:1: duplicate key 'a' (first defined at line 1)"]


def test_syntax_error_is_located() -> None:
    s = parse("a: [1, 2\nb: 3\n", "m.yaml")
    assert s.data is None
    assert [str(p) for p in s.problems] == [
        "m.yaml:2:2: invalid YAML: did not find expected ',' or ']' "
        "(while parsing a flow sequence started at line 1, column 4)"
    ]


def test_timestamps_stay_text_and_merge_keys_work() -> None:
    s = parse("base: &b {k: 1}\nd: 2024-01-02\nx:\n  <<: *b\n  z: 2\n", "m.yaml")
    assert s.data["d"] == "2024-01-02"
    assert s.data["x"] == {"k": 1, "z": 2}


def test_empty_and_multi_document() -> None:
    assert [str(p) for p in parse("", "m.yaml").problems] == ["m.yaml:1:1: the manifest is empty"]
    assert [str(p) for p in parse("a: 1\n---\nb: 2\n", "m.yaml").problems] == [
        "m.yaml:3:1: expected one YAML document, found several"
    ]


def test_where_falls_back_to_nearest_ancestor() -> None:
    s = parse("jobs:\n  a: {x: 1}\n", "m.yaml")
    assert s.where(("jobs", "a", "missing")) == Location("m.yaml", 2, 6)


# YAML 1.2 core schema ----------------------------------------------------------------------------
def test_numbers_as_scientists_write_them() -> None:
    s = parse("a: 1e-3\nb: 2.5E+2\nc: .5\nd: -1.5e-7\ne: 5.\nf: +3\ng: 017\nh: 0o17\ni: 0x1F\nj: 1_000\n", "m.yaml")
    assert s.problems == []
    assert s.data == {
        "a": 0.001,
        "b": 250.0,
        "c": 0.5,
        "d": -1.5e-07,
        "e": 5.0,
        "f": 3,
        "g": 17,
        "h": 15,
        "i": 31,
        "j": "1_000",
    }
    assert [type(v) for v in s.data.values()] == [float] * 5 + [int] * 4 + [str]


def test_booleans_and_nulls_follow_the_core_schema() -> None:
    s = parse("a: true\nb: True\nc: FALSE\nd: yes\ne: no\nf: on\ng: off\nh: y\ni: ~\nj: null\nk:\n", "m.yaml")
    assert s.data == {
        "a": True,
        "b": True,
        "c": False,
        "d": "yes",
        "e": "no",
        "f": "on",
        "g": "off",
        "h": "y",
        "i": None,
        "j": None,
        "k": None,
    }


def test_keys_are_the_strings_written() -> None:
    s = parse("on: 1\nyes: 2\nno: 3\noff: 4\n~: 5\nnull: 6\n.inf: 7\n1e3: 8\ntrue: 9\n0x1F: 10\n'q': 11\n", "m.yaml")
    assert s.problems == []
    assert list(s.data) == ["on", "yes", "no", "off", "~", "null", ".inf", "1e3", "true", "0x1F", "q"]


def test_quoted_and_tagged_scalars() -> None:
    s = parse("a: '1e-3'\nb: !!str 12\nc: !!float 1\nd: !!int '12'\ne: !!bool true\nf: !!null ''\n", "m.yaml")
    assert s.data == {"a": "1e-3", "b": "12", "c": 1.0, "d": 12, "e": True, "f": None}
    assert s.problems == []


TAGS = "runner reads plain YAML (tags !!str, !!int, !!float, !!bool, !!null)"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "a: !foo 1\n",
            f"m.yaml:1:4: unknown tag '!foo': {TAGS}",
        ),
        (
            "a: !foo {x: 1}\n",
            f"m.yaml:1:4: unknown tag '!foo': {TAGS}",
        ),
        (
            "a: !!binary aGk=\n",
            f"m.yaml:1:4: unknown tag '!!binary': {TAGS}",
        ),
        (
            "a: !!timestamp 2024-01-02\n",
            f"m.yaml:1:4: unknown tag '!!timestamp': {TAGS}",
        ),
        ("a: !!int x\n", "m.yaml:1:4: 'x' cannot be read as !!int"),
        ("a: .nan\n", "m.yaml:1:4: .nan is not a finite number: runner takes finite numbers only"),
        ("a: -.Inf\n", "m.yaml:1:4: -.Inf is not a finite number: runner takes finite numbers only"),
        ("a: 1e999\n", "m.yaml:1:4: 1e999 is too large for a number (it overflows to infinity)"),
        ("a: " + "9" * 5000 + "\n", "m.yaml:1:4: an integer of 5000 digits is too large (at most 100 digits)"),
        ("a: {<<: 1}\n", "m.yaml:1:9: a merge key (<<) takes a mapping or a list of mappings"),
    ],
)
def test_values_runner_will_not_read_are_located(text: str, message: str) -> None:
    s = parse(text, "m.yaml")
    assert [str(p) for p in s.problems] == [message]
    assert s.data == {"a": None} or s.data == {"a": {}}


def test_merge_keys_let_written_keys_win_and_earlier_sources_first() -> None:
    s = parse("a: &a {k: 1, j: 1}\nb: &b {k: 2, m: 2}\nc:\n  <<: [*a, *b]\n  j: 3\n", "m.yaml")
    assert s.problems == []
    assert s.data["c"] == {"j": 3, "k": 1, "m": 2}


def test_an_alias_bomb_is_refused_before_anything_is_built() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    started = time.perf_counter()
    s = parse("\n".join(lines) + "\n", "m.yaml")
    assert time.perf_counter() - started < 0.5
    assert s.data is None and s.values == {}
    # a5 is the first value past the limit: 9^6 = 531,441 scalars (a4 holds 59,049)
    assert [str(p) for p in s.problems] == [
        "m.yaml:6:5: this value holds more than 200,000 values, counting every use of an alias "
        "(an alias bomb?): use fewer aliases or split the manifest"
    ]


def test_a_merge_bomb_is_refused_too() -> None:
    lines = ["m0: &m0 {k0: 1, k1: 2}"]
    lines += [f"m{i}: &m{i} {{<<: [{', '.join([f'*m{i - 1}'] * 9)}]}}" for i in range(1, 12)]
    s = parse("\n".join(lines) + "\n", "m.yaml")
    assert s.data is None and len(s.problems) == 1 and "more than 200,000 values" in s.problems[0].message


def test_aliases_within_the_limit_are_expanded() -> None:
    s = parse("base: &b [1, 2, 3]\nx: [*b, *b]\n", "m.yaml")
    assert s.data == {"base": [1, 2, 3], "x": [[1, 2, 3], [1, 2, 3]]}
    # keys count as values: the mapping, its key 'a', the list and its item
    node = yaml.compose("a: [1]\n")
    assert node is not None
    assert oversized(node, limit=4) is None
    assert oversized(node, limit=3) is not None


def test_a_recursive_alias_is_an_error() -> None:
    s = parse("a: &a [1, *a]\n", "m.yaml")
    assert [str(p) for p in s.problems] == [
        "m.yaml:1:4: an alias here refers to a value that contains it: YAML aliases must not be recursive"
    ]


def test_too_many_values_are_counted_before_any_node_is_kept() -> None:
    # composing two million values kept 875 MB of nodes and took 32 s before they were counted
    started = time.perf_counter()
    s = parse("x: [" + ",".join(["1"] * 2_000_000) + "]\n", "m.yaml")
    assert time.perf_counter() - started < 3.0
    assert s.data is None
    assert [str(p) for p in s.problems] == ["m.yaml:1:399999: the manifest holds more than 200,000 values: split it"]
