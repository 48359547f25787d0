"""On a terminal, apply shows the plan and asks; only 'yes' proceeds."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

RUNNER = str(Path(sys.executable).with_name("runner"))


def run_on_tty(args: list[str], answer: str, cwd: Path) -> tuple[int, str]:
    master, slave = pty.openpty()
    proc = subprocess.Popen([RUNNER, *args], stdin=slave, stdout=slave, stderr=slave, cwd=cwd, close_fds=True)
    os.close(slave)
    seen, answered, deadline = b"", False, time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
        if not answered and b"Only 'yes' will be accepted" in seen:
            os.write(master, answer.encode() + b"\n")
            answered = True
        if proc.poll() is not None and not ready:
            break
    os.close(master)
    return proc.wait(timeout=30), seen.decode(errors="replace")


@pytest.mark.parametrize(("answer", "code", "expect"), [("no", 1, "Apply cancelled"), ("yes", 0, "Apply complete")])
def test_terminal_confirmation(answer: str, code: int, expect: str, examples: Path) -> None:
    status, coloured = run_on_tty(["apply", "quickstart.yaml"], answer, examples)
    assert "\x1b[32m+\x1b[0m job.bell" in coloured  # a terminal gets colour
    out = re.sub(r"\x1b\[[0-9;]*m", "", coloured)
    assert "Plan: 5 to create" in out
    assert (status, expect in out) == (code, True), out
    assert (examples / ".runner" / "state.db").exists() == (answer == "yes")
