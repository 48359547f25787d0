"""The verdict cache: an unchanged manifest skips jsonschema and qiskit, and never hides a problem."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from runner.domain.fingerprint import digest_bytes
from runner.errors import ManifestError
from runner.manifest import loader as manifest_mod
from runner.manifest import schema, verdicts

PROBE = """
import os, sys
from runner.manifest import loader as manifest
try:
    manifest.load(sys.argv[1], env=os.environ)
    verdict = "ok"
except Exception as exc:
    verdict = type(exc).__name__
print(verdict, "jsonschema" in sys.modules, "qiskit" in sys.modules)
"""

BELL = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\nh q[0];\ncx q[0],q[1];\nmeasure q -> c;\n'


def _probe(path: Path, **extra: str) -> list[str]:
    env = {**os.environ, **extra}
    out = subprocess.run([sys.executable, "-c", PROBE, str(path)], env=env, capture_output=True, text=True, check=True)
    return out.stdout.split()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "bell.qasm").write_text(BELL)
    m = tmp_path / "m.yaml"
    m.write_text("version: 1\nproject: p\njobs:\n  bell: {program: bell.qasm, shots: 10}\n")
    return m


def test_second_load_imports_neither_jsonschema_nor_qiskit(project: Path) -> None:
    assert _probe(project) == ["ok", "True", "True"]
    assert _probe(project) == ["ok", "False", "False"]


def test_no_cache_always_validates(project: Path) -> None:
    _probe(project)
    assert _probe(project, RUNNER_NO_CACHE="1") == ["ok", "True", "True"]


def test_an_edit_is_validated_again_and_its_errors_are_reported(project: Path) -> None:
    _probe(project)
    project.write_text("version: 1\nproject: p\njobs:\n  bell: {program: bell.qasm, shots: ten}\n")
    assert _probe(project)[0] == "ManifestError"
    with pytest.raises(ManifestError) as caught:
        manifest_mod.load(str(project), env=os.environ)
    assert "shots: expected an integer" in str(caught.value.problems[0])
    assert _probe(project)[:2] == ["ManifestError", "True"]  # an invalid text is never remembered


def test_verdicts_are_keyed_by_schema_digest_too(project: Path) -> None:
    root = verdicts.cache_root(os.environ)
    digest = digest_bytes(project.read_bytes())
    assert not verdicts.known_valid(root, digest, schema.schema_digest())
    manifest_mod.load(str(project), env=os.environ)
    assert verdicts.known_valid(root, digest, schema.schema_digest())
    assert not verdicts.known_valid(root, digest, "another-schema")


def test_a_corrupt_program_entry_is_ignored(project: Path) -> None:
    manifest_mod.load(str(project), env=os.environ)
    folder = verdicts.cache_dir(os.environ)
    assert folder is not None
    entries = list(Path(folder).glob("*.json"))
    assert len(entries) == 1
    entries[0].write_text("{not json")
    assert _probe(project) == ["ok", "False", "True"]  # re-parsed with qiskit, schema verdict still cached
    assert json.loads(entries[0].read_text())["info"][2] == 2  # and rewritten: two qubits


def test_an_unwritable_cache_only_costs_time(project: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    assert _probe(project, RUNNER_CACHE_DIR=str(blocker)) == ["ok", "True", "True"]
    assert _probe(project, RUNNER_CACHE_DIR=str(blocker)) == ["ok", "True", "True"]
