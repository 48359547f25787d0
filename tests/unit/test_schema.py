import json

from conftest import ROOT

from runner.manifest import schema
from runner.manifest.source import parse


def problems(text: str) -> list[str]:
    return [str(p) for p in sorted(schema.check(parse(text, "m.yaml")), key=lambda p: p.sort_key())]


def test_schema_is_2020_12_with_an_id_and_shipped_identically() -> None:
    doc = schema.schema()
    assert doc["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert doc["$id"] == "urn:runner:schema:manifest:v1"
    assert json.loads((ROOT / "schemas" / "manifest.v1.json").read_text()) == doc


def test_minimal_manifest_is_valid() -> None:
    assert problems("version: 1\nproject: p\n") == []


def test_messages_are_located_and_specific() -> None:
    text = (
        "version: 2\n"
        "project: my proj\n"
        "shotz: 1\n"
        "targets:\n"
        "  sim: {provider: lokal}\n"
        "jobs:\n"
        "  a:\n"
        "    shots: many\n"
        "    program: x.qasm\n"
        "    tagz: [t]\n"
        "  b: {shots: 0, program: x.qasm, programs: [y.qasm]}\n"
        "  c: {matrix: {amp: []}}\n"
    )
    assert problems(text) == [
        "m.yaml:1:10: version: must be 1 (got 2)",
        "m.yaml:2:10: project: invalid name 'my proj': use letters, digits, '_' and '-', starting with a letter",
        "m.yaml:3:1: unknown key 'shotz'",
        "m.yaml:5:19: targets.sim.provider: must be one of: local, azure, superstaq, pasqal (got 'lokal')",
        "m.yaml:8:12: jobs.a.shots: expected an integer, got 'many'",
        "m.yaml:10:5: jobs.a: unknown key 'tagz' (did you mean 'tags'?)",
        "m.yaml:11:6: jobs.b: give only one of 'program', 'programs'",
        "m.yaml:11:14: jobs.b.shots: must be >= 1 (got 0)",
        "m.yaml:12:6: jobs.c: needs one of 'program', 'programs'",
        "m.yaml:12:21: jobs.c.matrix.amp: needs at least 1 item(s)",
    ]


def test_missing_required_points_at_the_key() -> None:
    assert problems("version: 1\nproject: p\nsessions:\n  s: {priority: high}\n") == [
        "m.yaml:4:3: sessions.s: missing required key 'target'"
    ]
