"""The local target runs in-process by default; `workers: N` runs jobs in worker processes, same counts."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from conftest import ROTATION, Ran, write

from runner.quantum.simulator import SimJob, run


def sweep(project: Path, options: str) -> Path:
    return write(
        project,
        "m.yaml",
        f"""version: 1
project: w
targets:
  aer: {{provider: local, options: {options}}}
jobs:
  rot:
    target: aer
    program: circuits/rotation.qasm
    shots: 200
    matrix: {{theta: [0.3, 0.9, 1.5, 2.1, 2.7, 3.1, 0.1, 1.0, 2.0]}}
""",
    )


def test_worker_processes_give_the_counts_the_seed_gives_in_process(project: Path, cli: Callable[..., Ran]) -> None:
    m = sweep(project, "{workers: 2}")
    ran: Ran = cli("apply", str(m), "--yes")
    assert ran.code == 0, ran.out + ran.err
    results = json.loads(cli("results", "-m", str(m), "--json").out)
    assert len(results) == 9
    for r in results:
        theta = float(r["address"].split("theta=")[1].rstrip("]"))
        again = run(SimJob(ROTATION, 200, int(r["seed"]), {"theta": theta}))
        assert again["counts"] == r["counts"], r["address"]


def test_workers_must_be_a_whole_number(project: Path, cli: Callable[..., Ran]) -> None:
    for bad in ("0", "two", "1.5", "true"):
        m = sweep(project, f"{{workers: {bad}}}")
        ran: Ran = cli("validate", str(m))
        assert ran.code == 1, bad
        assert "m.yaml:4:" in ran.out + ran.err and "workers must be a whole number >= 1" in ran.out + ran.err, bad
