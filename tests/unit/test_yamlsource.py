from runner.errors import Location
from runner.manifest.source import parse


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
