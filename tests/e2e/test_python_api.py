"""runner.load / plan / apply / results: the CLI's semantics from Python."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import runner
from runner.applying.execute import Report
from runner.errors import ManifestError


def test_the_notebook_workflow(examples: Path) -> None:
    path = str(examples / "quickstart.yaml")
    manifest = runner.load(path)
    assert sorted(manifest.jobs) == ["bell", "rotation"]
    planned = runner.plan(path)
    assert planned.plan.summary() == {
        "create": 5,
        "update": 0,
        "record": 0,
        "replace": 0,
        "delete": 0,
        "move": 0,
        "noop": 0,
    }
    report = runner.apply(path)
    assert isinstance(report, Report) and report.outcome == "ok" and report.summary["create"] == 5
    again = runner.apply(path)
    assert not isinstance(again, Report) and not again.plan.has_changes()  # nothing submitted the second time
    rows = runner.results(manifest=path)
    assert [r["address"] for r in rows][:1] == ["job.bell"] and sum(rows[0]["counts"][0].values()) == 1000


def test_errors_are_the_same_exceptions_the_cli_reports(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nproject: p\njobs:\n  a: {shots: 0}\n")
    with pytest.raises(ManifestError) as caught:
        runner.load(str(bad))
    assert [str(p) for p in caught.value.problems] == [
        f"{bad}:4:6: jobs.a: needs one of 'program', 'programs'",
        f"{bad}:4:14: jobs.a.shots: must be >= 1 (got 0)",
    ]


def test_importing_runner_loads_nothing_heavy() -> None:
    heavy = "('qiskit', 'httpx', 'click', 'jsonschema', 'yaml')"
    code = f"import sys, runner; print(sorted(m for m in {heavy} if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
