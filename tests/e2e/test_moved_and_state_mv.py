"""Renames that do not rerun: `moved:` entries in the manifest and `runner state mv`, through the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import BELL, ROOT, ROTATION, Ran, write

Cli = Callable[..., Ran]

BEFORE = """version: 1
project: renames
sessions:
  calib: {target: local}
jobs:
  bell: {program: bell.qasm, shots: 100, session: calib}
  rot:
    program: rotation.qasm
    shots: 100
    matrix: {theta: [0.0, 1.5708]}
"""

AFTER = """version: 1
project: renames
sessions:
  calibration: {target: local}
jobs:
  bell_pair: {program: bell.qasm, shots: 100, session: calibration}
  rotation:
    program: rotation.qasm
    shots: 100
    matrix: {theta: [0.0, 1.5708]}
moved:
  - {from: job.bell, to: job.bell_pair}
  - {from: job.rot, to: job.rotation}
  - {from: session.calib, to: session.calibration}
"""

RENAMED = {
    "job.bell": "job.bell_pair",
    "job.rot[theta=0.0]": "job.rotation[theta=0.0]",
    "job.rot[theta=1.5708]": "job.rotation[theta=1.5708]",
    "session.calib": "session.calibration",
}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    write(tmp_path, "p/bell.qasm", BELL)
    write(tmp_path, "p/rotation.qasm", ROTATION)
    write(tmp_path, "p/m.yaml", BEFORE)
    return tmp_path / "p"


def status(cli: Cli, *extra: str) -> dict[str, dict[str, Any]]:
    return {r["address"]: r for r in json.loads(cli("status", "-m", "p/m.yaml", "--json", *extra).out)}


def results(cli: Cli, *extra: str) -> dict[str, Any]:
    return {r["address"]: r["counts"] for r in json.loads(cli("results", "-m", "p/m.yaml", "--json", *extra).out)}


def test_moved_entries_plan_only_moves_and_keep_everything(folder: Path, cli: Cli) -> None:
    assert cli("apply", "p/m.yaml", "--yes").code == 0
    before, counts = status(cli), results(cli)
    (folder / "m.yaml").write_text(AFTER)

    planned = cli("plan", "p/m.yaml", "--json")
    doc = json.loads(planned.out)
    assert doc["summary"] == {"create": 0, "update": 0, "record": 0, "replace": 0, "delete": 0, "move": 4, "noop": 0}
    assert {c["address"]: c["details"]["moved_from"] for c in doc["changes"]} == {v: k for k, v in RENAMED.items()}
    text = cli("plan", "p/m.yaml").out
    assert " -> job.bell_pair               move     moved from job.bell\n" in text
    assert "Plan: 0 to create, 0 to update, 0 to replace, 0 to delete, 4 to move" in text

    summary = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "ci" / "plan_summary.py"), "-"],
        input=planned.out,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert summary.startswith("### runner plan for `p/m.yaml`: 4 to move (renamed, no provider call)\n")
    assert "<details open><summary><b>-> move</b> (4)</summary>" in summary
    assert "| `job.bell_pair` | job | local | moved from job.bell |" in summary

    applied = cli("apply", "p/m.yaml", "--yes")
    assert applied.code == 0, applied.err
    assert " -> job.bell_pair: moved from job.bell (no provider call)\n" in applied.out
    assert "Apply complete: 0 created, 0 updated, 0 replaced, 0 deleted, 4 moved, 0 failed" in applied.out
    after = status(cli)
    assert sorted(after) == sorted(RENAMED.values())
    for old, new in RENAMED.items():  # same generation, remote id and status under the new name
        keep = ("generation", "remote_id", "status")
        assert {k: after[new][k] for k in keep} == {k: before[old][k] for k in keep}
    assert results(cli) == {RENAMED[a]: c for a, c in counts.items()}

    again = cli("plan", "p/m.yaml", "--detailed-exitcode")
    assert again.code == 0
    assert again.out.endswith("\n\nNo changes. 4 resource(s) match the manifest; nothing to submit.\n")
    history = json.loads(cli("history", "-m", "p/m.yaml", "--json").out)
    assert [h["summary"].get("move", 0) for h in history] == [0, 4]


def test_a_moved_job_with_new_shots_is_replaced_under_its_new_name(folder: Path, cli: Cli) -> None:
    assert cli("apply", "p/m.yaml", "--yes").code == 0
    (folder / "m.yaml").write_text(
        AFTER.replace("bell_pair: {program: bell.qasm, shots: 100", "bell_pair: {program: bell.qasm, shots: 50")
    )
    doc = json.loads(cli("plan", "p/m.yaml", "--json").out)
    change = next(c for c in doc["changes"] if c["address"] == "job.bell_pair")
    assert (change["action"], change["reason"], change["details"]) == (
        "replace",
        "moved from job.bell; shots 100 -> 50",
        {"moved_from": "job.bell"},
    )
    assert cli("apply", "p/m.yaml", "--yes").code == 0
    shown = json.loads(cli("show", "job.bell_pair", "-m", "p/m.yaml", "--json").out)
    assert [g["generation"] for g in shown["generations"]] == [1, 2]  # the first run's history moved with it


def test_a_saved_plan_with_moves_applies(folder: Path, cli: Cli) -> None:
    assert cli("apply", "p/m.yaml", "--yes").code == 0
    (folder / "m.yaml").write_text(AFTER)
    assert cli("plan", "p/m.yaml", "--out", "plan.json").code == 0
    applied = cli("apply", "plan.json")
    assert applied.code == 0, applied.err
    assert "4 moved" in applied.out
    assert sorted(status(cli)) == sorted(RENAMED.values())


@pytest.mark.parametrize(
    ("moved", "expected"),
    [
        (
            "[{from: job.bell, to: job.rotation}, {from: job.rot, to: job.rotation}]",
            [
                "p/m.yaml:11:30: moved: more than one resource is moved to job.rotation",
                "p/m.yaml:11:65: moved: more than one resource is moved to job.rotation",
            ],
        ),
        (
            "[{from: job.bell_pair, to: job.rotation}]",
            ["p/m.yaml:11:16: moved: job.bell_pair is still declared; a moved resource is declared under its new name"],
        ),
        (
            "[{from: job.bell, to: job.nowhere}]",
            ["p/m.yaml:11:30: moved: job.nowhere is not declared in the manifest (declare it, then move to it)"],
        ),
        (
            "[{from: job.bell, to: session.calibration}]",
            ["p/m.yaml:11:30: moved: job.bell cannot become session.calibration, a resource of another kind"],
        ),
        (
            "[{from: bell, to: job.bell_pair}]",
            [
                "p/m.yaml:11:16: moved[0].from: 'bell' does not match the pattern "
                "^(session|batch|job|workload)\\.[A-Za-z][A-Za-z0-9_-]*$"
            ],
        ),
    ],
)
def test_moved_entries_are_checked(folder: Path, cli: Cli, moved: str, expected: list[str]) -> None:
    body = AFTER.split("moved:")[0] + f"moved: {moved}\n"
    (folder / "m.yaml").write_text(body)
    ran = cli("validate", "p/m.yaml")
    assert (ran.code, ran.err.splitlines()) == (1, expected)


def test_state_mv_renames_on_every_backend(folder: Path, cli: Cli, location: str) -> None:
    project = location.split("project=", 1)[1] if "project=" in location else "renames"  # a URL names its project
    (folder / "m.yaml").write_text(BEFORE.replace("project: renames", f"project: {project}"))
    assert cli("apply", "p/m.yaml", "--yes", "--state", location).code == 0
    before = status(cli, "--state", location)
    moved = cli("state", "mv", "job.rot", "job.rotation", "-m", "p/m.yaml", "--state", location)
    assert (moved.code, moved.out) == (
        0,
        "moved job.rot[theta=0.0] -> job.rotation[theta=0.0]\n"
        "moved job.rot[theta=1.5708] -> job.rotation[theta=1.5708]\n",
    )
    (folder / "m.yaml").write_text(BEFORE.replace("  rot:", "  rotation:").replace("renames", project))
    plan = cli("plan", "p/m.yaml", "--detailed-exitcode", "--state", location)
    assert plan.code == 0, plan.out
    after = status(cli, "--state", location)
    assert after["job.rotation[theta=0.0]"]["remote_id"] == before["job.rot[theta=0.0]"]["remote_id"]

    refused = [
        (
            ("job.bell", "job.rotation"),
            "error: cannot move job.bell to job.rotation: the state records job.rotation[theta=0.0] already",
        ),
        (("job.rot", "job.x"), "error: no recorded resource matches job.rot (`runner state list` shows them)"),
        (
            ("job.bell", "session.b"),
            "error: cannot move job.bell to session.b: give two addresses of the same kind (job.a job.b)",
        ),
    ]
    for (source, dest), message in refused:
        ran = cli("state", "mv", source, dest, "-m", "p/m.yaml", "--state", location)
        assert (ran.code, ran.err.strip()) == (1, message)


def test_state_mv_refuses_an_address_with_history(folder: Path, cli: Cli) -> None:
    (folder / "m.yaml").write_text(BEFORE + "  pair: {program: bell.qasm, shots: 10}\n")
    assert cli("apply", "p/m.yaml", "--yes").code == 0
    assert cli("state", "rm", "job.bell", "-m", "p/m.yaml").code == 0  # its history stays under job.bell
    ran = cli("state", "mv", "job.pair", "job.bell", "-m", "p/m.yaml")
    assert (ran.code, ran.err.strip()) == (
        1,
        "error: cannot move job.pair to job.bell: the state keeps the history of an earlier job.bell "
        "(deleted or forgotten); choose a name that never ran",
    )
    (folder / "m.yaml").write_text(
        BEFORE.replace("  bell:", "  one:") + "  bell: {program: bell.qasm, shots: 10}\n"
        "moved: [{from: job.pair, to: job.bell}]\n"
    )
    planned = cli("plan", "p/m.yaml")
    assert (planned.code, planned.err.strip()) == (
        1,
        "error: moved: job.pair -> job.bell, but the state keeps the history of an earlier job.bell (deleted or "
        "forgotten): move it to a name that never ran, or remove the moved entry",
    )
