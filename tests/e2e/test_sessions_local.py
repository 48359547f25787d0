"""Sessions on the local target: open, jobs, close; an abort policy stops at the first failure."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from conftest import Ran, write

# valid everywhere, but the stabilizer method cannot run a T gate: job b fails when it runs
# (a 40-qubit statevector circuit did this before validate learnt the simulator's width)
MAGIC = 'OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[1] q;\nbit[1] c;\nh q[0];\nt q[0];\nc = measure q;\n'


def manifest(project: Path, policy: str) -> Path:
    write(project, "circuits/magic.qasm", MAGIC)
    return write(
        project,
        "m.yaml",
        f"""version: 1
project: s
targets:
  st: {{provider: local, options: {{method: stabilizer}}}}
sessions:
  cal: {{target: st, job_failure_policy: {policy}}}
jobs:
  a: {{session: cal, program: circuits/bell.qasm}}
  b: {{session: cal, program: circuits/magic.qasm}}
  c: {{session: cal, program: circuits/bell.qasm, shots: 10}}
""",
    )


def test_abort_policy_fails_the_session_and_says_what_was_not_submitted(project: Path, cli: Callable[..., Ran]) -> None:
    m = manifest(project, "abort")
    ran: Ran = cli("apply", str(m), "--yes")
    assert ran.code == 1
    assert "error: session.cal failed (job_failure_policy: abort): job.b failed (" in ran.out
    assert 'contains invalid parameters  for "stabilizer" method.); not submitted: job.c' in ran.out
    assert "0 failed, 1 skipped; 1 job(s) ran and failed" in ran.out
    assert "job.c: not created: session.cal failed after job.b failed" in ran.out
    status = {r["address"]: r["status"] for r in json.loads(cli("status", "-m", str(m), "--json").out)}
    assert status == {"session.cal": "failed", "job.a": "succeeded", "job.b": "failed"}
    plan = json.loads(cli("plan", str(m), "--json").out)
    assert [(c["address"], c["action"]) for c in plan["changes"] if c["action"] != "noop"] == [
        ("job.c", "create"),
        ("session.cal", "replace"),
    ]


def test_continue_policy_runs_everything_and_closes_the_session(project: Path, cli: Callable[..., Ran]) -> None:
    m = manifest(project, "continue")
    ran: Ran = cli("apply", str(m), "--yes")
    assert ran.code == 1  # a job failed, so apply reports failure
    status = {r["address"]: r["status"] for r in json.loads(cli("status", "-m", str(m), "--json").out)}
    assert status == {"session.cal": "succeeded", "job.a": "succeeded", "job.b": "failed", "job.c": "succeeded"}
    shown = json.loads(cli("show", "session.cal", "-m", str(m), "--json").out)
    assert shown["lifecycle"] == {"keep_open": False, "closed": True}
    assert cli("plan", str(m), "--detailed-exitcode").code == 0
