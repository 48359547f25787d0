"""A budget in the manifest: over it, plan and apply refuse with exit code 5; under it, apply proceeds."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from conftest import Ran, write

MANIFEST = """version: 1
project: priced
budget: {{USD: {limit}}}
targets:
  sim: {{provider: local, price: {{currency: USD, per_job: 0.5, per_shot: 0.001}}}}
jobs:
  bell: {{target: sim, program: circuits/bell.qasm, shots: 1000}}
  rot:
    target: sim
    program: circuits/rotation.qasm
    shots: 500
    matrix: {{theta: [0.1, 0.2]}}
"""


def test_over_budget_plan_and_apply_exit_5_with_totals(project: Path, cli: Callable[..., Ran]) -> None:
    m = write(project, "m.yaml", MANIFEST.format(limit=2))
    planned = cli("plan", str(m))
    assert planned.code == 5
    assert "Estimated cost: USD 3.50 for 3 job(s)" in planned.out  # 3 x 0.5 + 1000 x 0.001 + 2 x 500 x 0.001
    assert "Budget: USD 3.50 of 2 (over)" in planned.out
    assert planned.err == "error: over budget: USD 3.50 planned, budget 2\n"
    as_json = cli("plan", str(m), "--json")
    assert as_json.code == 5 and json.loads(as_json.out)["cost"]["budget"]["exceeded"] == ["USD"]
    applied = cli("apply", str(m), "--yes")
    assert (applied.code, applied.err) == (5, "error: over budget: USD 3.50 planned, budget 2\n")
    assert not (project / ".runner" / "state.db").exists()


def test_under_budget_apply_proceeds_and_only_new_work_counts(project: Path, cli: Callable[..., Ran]) -> None:
    m = write(project, "m.yaml", MANIFEST.format(limit=4))
    applied = cli("apply", str(m), "--yes")
    assert applied.code == 0, applied.err
    assert "Budget: USD 3.50 of 4 (ok)" in applied.out
    m.write_text(m.read_text().replace("[0.1, 0.2]", "[0.1, 0.2, 0.3]"))
    again = cli("plan", str(m))
    assert again.code == 0 and "Estimated cost: USD 1.00 for 1 job(s)" in again.out
