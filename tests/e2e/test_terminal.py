"""The terminal reads at a glance: colour in a real terminal (tmux) and nowhere else, summaries for big applies."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import Ran, write

TMUX = shutil.which("tmux")
RUNNER = f"{shlex.quote(sys.executable)} -m runner"
X = """OPENQASM 3.0;
include "stdgates.inc";
input float a;
input float b;
qubit[1] q;
bit[1] c;
rx(a) q[0];
rz(b) q[0];
c[0] = measure q[0];
"""


def sweep(folder: Path, a: int, b: int) -> str:
    """A manifest of a * b one-qubit jobs on the local target."""
    write(folder, "circuits/x.qasm", X)
    values = ", ".join(str(i / 100) for i in range(a))
    text = (
        "version: 1\nproject: big\ndefaults: {shots: 4}\ntargets:\n  sim: {provider: local}\n"
        f"jobs:\n  x:\n    target: sim\n    program: circuits/x.qasm\n    matrix:\n      a: [{values}]\n"
        f"      b: [{', '.join(str(i) for i in range(b))}]\n"
    )
    return str(write(folder, "big.yaml", text))


@pytest.fixture
def tmux(tmp_path: Path) -> Iterator[Callable[[str], str]]:
    """Run a shell command in a real terminal (a private tmux server) and return the screen with its escapes."""
    if TMUX is None:
        pytest.skip("tmux is not installed (.ci/run installs Debian's tmux)")
    socket = f"runner-test-{os.getpid()}"
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR", "TMUX")}

    # a session that lives as long as the fixture: the server would exit with its last session, racing the next one
    subprocess.run([TMUX, "-L", socket, "new-session", "-d", "-s", "keep", "sleep 600"], env=env, check=True)

    def screen(command: str) -> str:
        name = f"s{time.monotonic_ns()}"
        script = f"cd {shlex.quote(str(tmp_path))} && {command}; echo __done__; sleep 30"
        base = [TMUX, "-L", socket]
        subprocess.run([*base, "new-session", "-d", "-s", name, "-x", "160", "-y", "50", script], env=env, check=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            shown = subprocess.run(
                [*base, "capture-pane", "-e", "-p", "-t", name], capture_output=True, text=True, check=True
            ).stdout
            if "__done__" in shown:
                subprocess.run([*base, "kill-session", "-t", name], check=False)
                return shown
            time.sleep(0.2)
        raise AssertionError(f"{command} did not finish in a minute")

    yield screen
    subprocess.run([TMUX, "-L", socket, "kill-server"], check=False, capture_output=True)


@pytest.mark.slow
def test_colour_in_a_terminal_and_not_when_asked_or_piped(tmux: Callable[[str], str], tmp_path: Path) -> None:
    manifest = sweep(tmp_path, 2, 1)
    plan = f"{RUNNER} plan {shlex.quote(manifest)}"
    coloured = tmux(plan)
    assert "\x1b[32m+" in coloured  # a green + before each create
    assert "Plan:" in coloured and "\x1b[32m2 to create" in coloured
    for quiet in (f"NO_COLOR=1 {plan}", f"{plan} --no-color", f"{RUNNER} --no-color plan {manifest}", f"{plan} | cat"):
        shown = tmux(quiet)
        assert "+ job.x[a=0.0,b=0]" in shown and "\x1b[" not in shown, quiet
    applied = tmux(f"{RUNNER} apply {shlex.quote(manifest)} --yes")
    assert "Apply complete" in applied and "\x1b[32mApply complete:" in applied


def test_a_big_apply_prints_a_summary_not_a_line_per_job(tmp_path: Path, cli: Callable[..., Ran]) -> None:
    manifest = sweep(tmp_path, 30, 2)
    done = cli("apply", manifest, "--yes", "--list-limit", "10")
    assert done.code == 0, done.err
    lines = done.out.splitlines()
    assert "  + job.x[*]  create x 60     not in state" in lines
    assert "60 of 60 change(s) carried out: 60 create succeeded" in lines
    assert not any(line.startswith("  + job.x[a=") for line in lines)
    assert len(lines) < 40  # the plan, the summary and at most 20 results
    every = cli("destroy", "-m", manifest, "--yes", "--list-limit", "0")  # 0: list each one
    assert sum(line.startswith("  - job.x[a=") for line in every.out.splitlines()) == 120  # plan and apply lines


@pytest.mark.slow
def test_a_10000_job_apply_prints_a_summary(tmp_path: Path) -> None:
    manifest = sweep(tmp_path, 100, 100)
    done = subprocess.run(
        [sys.executable, "-m", "runner", "apply", manifest, "--yes"], capture_output=True, text=True, timeout=1800
    )
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    assert "10000 of 10000 change(s) carried out: 10000 create succeeded" in lines
    assert len(lines) < 60 and "  + job.x[*]  create x 10000  not in state" in lines


def test_help_starts_fast() -> None:
    """`runner --help` under 0.25 s: the best of five, so a busy machine does not decide it."""
    times = []
    for _ in range(5):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "runner", "--help"], capture_output=True, check=True, timeout=60)
        times.append(time.perf_counter() - started)
    assert min(times) < 0.25, times
