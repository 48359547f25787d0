"""Property: any malformed manifest gets located errors and exit 1, never a traceback, never a state change."""

from __future__ import annotations

import contextlib
import hashlib
import io
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import BELL, ROTATION
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runner.cli import run

BASE: dict[str, Any] = {
    "version": 1,
    "project": "prop",
    "defaults": {"shots": 100, "tags": ["a:b"]},
    "targets": {"sim": {"provider": "local"}},
    "sessions": {"s": {"target": "sim", "job_failure_policy": "abort"}},
    "jobs": {
        "bell": {"target": "sim", "program": "circuits/bell.qasm", "metadata": {"k": "v"}},
        "rot": {"program": "circuits/rotation.qasm", "matrix": {"theta": [0.1, 0.2]}},
    },
}
LOCATED = re.compile(r"^[^\n:]+\.(yaml|qasm):\d+:\d+: \S.*$")

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["local", "sim", "s", "circuits/bell.qasm", "../x.qasm", "abort", "1e9"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=6,
)


def paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += paths(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += paths(v, (*prefix, i))
    return out


@st.composite
def mutated(draw: st.DrawFn) -> str:
    import copy

    doc = copy.deepcopy(BASE)
    for _ in range(draw(st.integers(1, 3))):
        where = draw(st.sampled_from(paths(doc)[1:]))
        parent = doc
        for part in where[:-1]:
            parent = parent[part]
        action = draw(st.sampled_from(["replace", "delete", "add"]))
        if action == "delete" and isinstance(parent, dict):
            parent.pop(where[-1], None)
        elif action == "add" and isinstance(parent, dict):
            parent[draw(st.text(min_size=1, max_size=8))] = draw(values)
        else:
            parent[where[-1]] = draw(values)
    text = yaml.safe_dump(doc, sort_keys=False)
    if draw(st.booleans()):  # corrupt the text itself: YAML syntax errors, duplicate keys, tabs
        pos = draw(st.integers(0, max(0, len(text) - 1)))
        junk = draw(st.sampled_from(["\t", ":", "{", "]", "- ", "\n  x: 1\n", "&a *b", "\x00", "jobs:\n"]))
        text = text[:pos] + junk + text[pos:]
    return text


def cli(*args: str) -> tuple[int, str]:
    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        code = run(list(args))
    return code, err.getvalue() + out.getvalue()


def digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.mark.slow
def test_malformed_manifests_never_crash_and_never_touch_state(tmp_path_factory: Any) -> None:
    root = tmp_path_factory.mktemp("prop")
    (root / "circuits").mkdir()
    (root / "circuits" / "bell.qasm").write_text(BELL)
    (root / "circuits" / "rotation.qasm").write_text(ROTATION)
    (root / "good.yaml").write_text(yaml.safe_dump(BASE))
    state = root / "st" / "state.db"
    assert cli("apply", str(root / "good.yaml"), "--yes", "--state", str(state))[0] == 0
    before = digest(state.parent)
    seen = {"invalid": 0, "valid": 0}
    _checker(root, state, before, seen)()
    assert seen["invalid"] >= 80, seen  # the strategy really produces malformed manifests


def _checker(root: Path, state: Path, before: dict[str, str], seen: dict[str, int]) -> Any:
    @settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(mutated())
    def check(text: str) -> None:
        manifest = root / "m.yaml"
        manifest.write_text(text, encoding="utf-8", errors="surrogateescape")
        code, printed = cli("validate", str(manifest))
        assert "Traceback" not in printed
        if code == 0:
            seen["valid"] += 1
            return  # the mutation happened to stay valid
        seen["invalid"] += 1
        assert code == 1, printed
        lines = [ln for ln in printed.split("\n") if ln]
        assert lines and all(LOCATED.match(ln) for ln in lines), printed
        for args in (["plan"], ["apply", "--yes"]):
            code, printed = cli(args[0], str(manifest), *args[1:], "--state", str(state))
            assert code == 1 and "Traceback" not in printed
        assert digest(state.parent) == before

    return check
