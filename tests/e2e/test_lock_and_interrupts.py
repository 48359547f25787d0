"""Concurrent applies, lease takeover, and Ctrl-C, with real processes against a slow emulator."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))
import census
import chaos

pytestmark = pytest.mark.slow  # real processes racing for the lock and interrupted by signals: ~35 s for the file


@pytest.fixture
def slow_azure() -> Iterator[str]:
    """An Azure emulator answering every request after 0.15 s, jobs left queued."""
    cmd = [
        sys.executable,
        "-m",
        "runner",
        "emulate",
        "azure",
        "--port",
        "0",
        "--latency",
        "0.15",
        "--queue-delay",
        "3600",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    yield url
    proc.terminate()
    proc.wait(timeout=30)


def project(tmp_path: Path, url: str, trial: int, jobs: int) -> Path:
    (tmp_path / "rotation.qasm").write_text(chaos.ROTATION)
    manifest = tmp_path / "m.yaml"
    manifest.write_text(chaos.manifest("azure", url, trial, jobs, "v0.2.0"))
    return manifest


def start(manifest: Path, *extra: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    cmd = [sys.executable, "-m", "runner", "apply", str(manifest), "--yes", "--parallelism", "2", *extra]
    return subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, **chaos.ENV, **(env or {})}
    )


def finish(manifest: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "runner", "apply", str(manifest), "--yes", "--parallelism", "8", *extra]
    return subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **chaos.ENV}, timeout=300)


def db(manifest: Path) -> Path:
    return manifest.parent / ".runner" / "state.db"


def wait_for(condition: Callable[[], object], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError("condition not reached")


def query(manifest: Path, sql: str) -> list[tuple[Any, ...]]:
    if not db(manifest).exists():
        return []
    conn = sqlite3.connect(f"file:{db(manifest)}?mode=ro", uri=True)
    try:
        return list(conn.execute(sql))
    except sqlite3.Error:
        return []
    finally:
        conn.close()


def exact(url: str, trial: int, jobs: int) -> bool:
    mine = {a: n for a, n in census.azure(url).items() if chaos.belongs(a, trial)}
    return len(mine) == jobs and set(mine.values()) == {1}


def test_second_apply_waits_then_fails_naming_the_holder_and_a_dead_holder_is_taken_over(
    tmp_path: Path, slow_azure: str
) -> None:
    # 40 jobs at 3 calls of 0.15 s, two at a time: the holder needs ~9 s, well past the second's
    # start-up and 1 s wait even on a loaded machine (with 12 jobs it once finished first: exit 3)
    manifest = project(tmp_path, slow_azure, 1, 40)
    holder = start(manifest)
    wait_for(lambda: query(manifest, "SELECT 1 FROM intents"))
    second = finish(manifest, "--lock-timeout", "1")
    assert second.returncode == 4
    assert second.stderr.startswith("error: the state is locked: apply by ")
    assert f"(pid {holder.pid} on " in second.stderr
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    third = finish(manifest, "--lock-timeout", "5")
    assert third.returncode == 0, third.stdout + third.stderr
    assert exact(slow_azure, 1, 40)
    assert query(manifest, "SELECT * FROM lock") == []


def test_a_silent_holder_loses_its_lease_when_it_expires_and_cannot_write_after(
    tmp_path: Path, slow_azure: str
) -> None:
    manifest = project(tmp_path, slow_azure, 2, 12)
    holder = start(manifest, env={"RUNNER_LOCK_TTL": "2"})
    wait_for(lambda: query(manifest, "SELECT 1 FROM intents"))
    holder.send_signal(signal.SIGSTOP)  # alive, but no more heartbeats
    try:
        started = time.monotonic()
        taker = finish(manifest, "--lock-timeout", "20")
        waited = time.monotonic() - started
        assert taker.returncode == 0, taker.stdout + taker.stderr
        assert waited >= 1.0  # it waited for the lease to expire
    finally:
        holder.send_signal(signal.SIGCONT)
    out, err = holder.communicate(timeout=120)
    assert holder.returncode == 4, out + err
    assert "error: this process lost the state lock (taken over" in err
    assert exact(slow_azure, 2, 12)


def test_first_ctrl_c_finishes_calls_in_flight_and_records_them(tmp_path: Path, slow_azure: str) -> None:
    manifest = project(tmp_path, slow_azure, 3, 20)
    proc = start(manifest)
    wait_for(lambda: query(manifest, "SELECT 1 FROM resources WHERE remote_id IS NOT NULL"))
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, out + err
    assert "interrupt: no new submissions; finishing calls in flight" in err
    assert "Apply interrupted:" in out
    assert query(manifest, "SELECT count(*) FROM intents WHERE state = 'open'") == [(0,)]
    created = query(manifest, "SELECT count(*) FROM resources WHERE remote_id IS NOT NULL")[0][0]
    assert 0 < created < 20
    assert query(manifest, "SELECT * FROM lock") == []
    rest = finish(manifest)
    assert rest.returncode == 0 and f"{20 - created} created" in rest.stdout
    assert exact(slow_azure, 3, 20)


def test_second_ctrl_c_exits_at_once_and_the_next_apply_reconciles(tmp_path: Path, slow_azure: str) -> None:
    manifest = project(tmp_path, slow_azure, 4, 20)
    proc = start(manifest)
    wait_for(lambda: query(manifest, "SELECT 1 FROM resources WHERE remote_id IS NOT NULL"))
    proc.send_signal(signal.SIGINT)
    time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert "interrupted again: exiting now; the next apply reconciles what was in flight" in err
    rest = finish(manifest)
    assert rest.returncode == 0, rest.stdout + rest.stderr
    assert exact(slow_azure, 4, 20)


def test_lock_is_released_after_an_error_and_after_a_stale_plan(tmp_path: Path, slow_azure: str) -> None:
    manifest = project(tmp_path, slow_azure, 5, 2)
    assert finish(manifest).returncode == 0
    plan = subprocess.run(
        [sys.executable, "-m", "runner", "plan", str(manifest), "--out", str(tmp_path / "p.json")],
        capture_output=True,
        text=True,
        env={**os.environ, **chaos.ENV},
        timeout=120,
    )
    assert plan.returncode == 0
    manifest.write_text(manifest.read_text().replace("0.02]", "0.03]"))
    assert finish(manifest).returncode == 0
    stale = finish(tmp_path / "p.json")
    assert stale.returncode == 3
    assert query(manifest, "SELECT * FROM lock") == []
    manifest.write_text(manifest.read_text().replace("0.03]", "0.04]"))
    broken = subprocess.run(
        [sys.executable, "-m", "runner", "apply", str(manifest), "--yes"],
        capture_output=True,
        text=True,
        env={**os.environ, "AZURE_QUANTUM_API_KEY": "wrong"},
        timeout=120,
    )
    assert broken.returncode == 1
    assert "401" in broken.stdout + broken.stderr and "wrong" not in broken.stdout + broken.stderr
    assert query(manifest, "SELECT * FROM lock") == []
