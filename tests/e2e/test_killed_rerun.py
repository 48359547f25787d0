"""A rerun killed halfway strands nothing: the next command reconciles what it left open, says what never ran,
and the next rerun sends exactly that (the bug: 15 of 30 jobs stayed `submitting` with no remote job, the next
`rerun --failed` and `wait` exited 0 "15/15 finished", and the history showed the rerun running forever)."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import ROOT

from runner import emulators
from runner.emulators.server import Faults

sys.path.insert(0, str(ROOT / "benchmarks"))
import census
import chaos

pytestmark = pytest.mark.slow  # real processes, one killed mid-rerun: ~30 s per provider


def runner(folder: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "runner", *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300, cwd=folder)


def rows(folder: Path, sql: str) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(f"file:{folder / 's.db'}?mode=ro", uri=True)
    try:
        return list(conn.execute(sql))
    finally:
        conn.close()


@pytest.mark.parametrize("provider", ["azure", "pasqal"])
def test_a_killed_rerun_is_reconciled_reported_and_finished_by_the_next_rerun(tmp_path: Path, provider: str) -> None:
    server = emulators.start(provider, faults=Faults(job_failure_rate=1.0))  # every first run fails
    try:
        jobs = 12 if provider == "azure" else 15
        (tmp_path / "rotation.qasm").write_text(chaos.ROTATION)
        (tmp_path / "rabi.json").write_text(chaos.SEQUENCE)
        (tmp_path / "m.yaml").write_text(chaos.manifest(provider, server.url, 41, jobs, "v0.2.0"))
        env = {**os.environ, **chaos.ENV}
        state = ["--state", str(tmp_path / "s.db")]
        assert runner(tmp_path, "apply", "m.yaml", "--yes", *state, env=env).returncode in (0, 1)
        waited = runner(tmp_path, "wait", "-m", "m.yaml", *state, "--timeout", "120", env=env)
        assert waited.returncode == 0, waited.stderr
        assert {r[0] for r in rows(tmp_path, "SELECT status FROM resources WHERE kind != 'batch'")} == {"failed"}

        # the rerun's creates meet 503s and back off: killed then, they have intents and no remote job
        # (each answer also takes 2 s: a create that is not retried, such as Pasqal's rebatch, must still be in
        # flight when the kill lands, not already recorded as failed)
        faults = {"job_failure_rate": 0, "error_rate": 1.0, "latency": 2.0}
        httpx.post(f"{server.url}/_admin/faults", json=faults).raise_for_status()
        cmd = [sys.executable, "-m", "runner", "rerun", "--failed", "-m", "m.yaml", *state, "--yes"]
        killed = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not rows(tmp_path, "SELECT 1 FROM intents WHERE state = 'open'"):
            time.sleep(0.02)
        time.sleep(0.5)  # its calls are retrying
        assert killed.poll() is None  # still running: the kill lands amid the rerun
        killed.send_signal(signal.SIGKILL)
        killed.wait()
        opened = rows(tmp_path, "SELECT count(*) FROM intents WHERE state = 'open'")[0][0]
        assert opened > 0  # the kill landed amid the rerun
        httpx.post(f"{server.url}/_admin/faults", json={"error_rate": 0, "latency": 0}).raise_for_status()

        after = runner(tmp_path, "wait", "-m", "m.yaml", *state, "--timeout", "120", env=env)
        assert rows(tmp_path, "SELECT count(*) FROM intents WHERE state = 'open'")[0][0] == 0  # wait reconciled
        assert rows(tmp_path, "SELECT count(*) FROM applies WHERE outcome = 'running'")[0][0] == 0
        assert rows(tmp_path, "SELECT outcome FROM applies WHERE operation = 'rerun'") == [("interrupted",)]
        never = rows(tmp_path, "SELECT count(*) FROM resources WHERE status IN ('submitting', 'submit_failed')")[0][0]
        assert never == opened  # nothing of the killed rerun reached the service
        assert after.returncode == 1  # wait says so and fails, instead of "all finished"
        assert f"error: {never} selected resource(s) did not run: " in after.stderr
        assert "never sent (interrupted); `runner apply` (or `runner rerun --failed`) sends it" in after.stderr

        again = runner(tmp_path, "rerun", "--failed", "-m", "m.yaml", *state, "--yes", env=env)
        assert again.returncode == 0, again.stdout + again.stderr
        final = runner(tmp_path, "wait", "-m", "m.yaml", *state, "--timeout", "120", "--fail-on-failed", env=env)
        assert final.returncode == 0, final.stdout + final.stderr
        statuses = {r[0] for r in rows(tmp_path, "SELECT status FROM resources WHERE kind != 'batch'")}
        assert statuses == {"succeeded"}
        live = {a: n for a, n in census.live(provider, server.url).items() if chaos.belongs(a, 41)}
        expected = jobs if provider != "pasqal" else (jobs // chaos.PER_BATCH) * chaos.PER_BATCH
        assert len(live) == expected  # every job has run (or runs), none missing
        if provider == "azure":  # one rerun per failed job, never two: ids come from the tokens
            assert set(census.azure(server.url).values()) == {2}  # the failed first run and its one rerun
    finally:
        server.stop()
