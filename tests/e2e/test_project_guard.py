"""Every command that opens a state with a manifest keeps to its project: another project's state is refused,
byte-identical afterwards (the bugs: destroy cancelled and forgot another project's jobs, import wrote into
another project's state, rerun and cancel ran with no check)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import Ran, write

Cli = Callable[..., Ran]
MINE = "version: 1\nproject: mine\njobs:\n  bell: {program: bell.qasm, shots: 20}\n"
OTHER = "version: 1\nproject: other\njobs:\n  bell: {program: bell.qasm, shots: 20}\n"
BELL = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\nh q[0];\ncx q[0], q[1];\nmeasure q -> c;\n'


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize(
    "command",
    [
        ["plan", "{other}", "--state", "{state}"],
        ["apply", "{other}", "--state", "{state}", "--yes"],
        ["destroy", "-m", "{other}", "--state", "{state}", "--yes"],
        ["import", "job.bell", "local-abc", "-m", "{other}", "--state", "{state}"],
        ["import", "--tag", "x", "-m", "{other}", "--state", "{state}"],
        ["rerun", "--failed", "-m", "{other}", "--state", "{state}", "--yes"],
        ["cancel", "job.bell", "-m", "{other}", "--state", "{state}"],
        ["refresh", "-m", "{other}", "--state", "{state}"],
        ["wait", "-m", "{other}", "--state", "{state}", "--timeout", "5"],
        ["status", "-m", "{other}", "--state", "{state}"],
        ["state", "rm", "job.bell", "-m", "{other}", "--state", "{state}"],
    ],
    ids=lambda c: " ".join(c[:2]) if c[0] in ("import", "state") else c[0],
)
def test_another_projects_state_is_refused_and_left_untouched(tmp_path: Path, cli: Cli, command: list[str]) -> None:
    write(tmp_path, "bell.qasm", BELL)
    mine = write(tmp_path, "mine.yaml", MINE)
    other = write(tmp_path, "other.yaml", OTHER)
    state = tmp_path / "shared.db"
    assert cli("apply", str(mine), "--state", str(state), "--yes").code == 0
    before = digest(state)
    ran = cli(*[part.format(other=other, state=state) for part in command])
    assert ran.code == 1, ran.out + ran.err
    assert ran.err.splitlines()[-1] == (
        f"error: {state} holds the state of project 'mine', not 'other': give this manifest its own state "
        "(--state PATH, or a folder of its own)"
    )
    assert digest(state) == before
