"""A paused holder cannot leave duplicates behind: it stops sending once it cannot prove its lease, and what
it still manages to send after waking is found by its token on the next run and cancelled.

Real processes: apply A is frozen with SIGSTOP while its creates are in flight, apply B takes the expired
lease over and finishes the work, A is thawed. To make the race's worst case happen every time (A frozen
between its last lease check and its send), the test then sends, with runner's own provider and A's token,
exactly what A would have sent. Apply C must find it and cancel it, leaving one live remote object per job.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT

from runner import emulators
from runner.emulators.server import EmulatorServer, Faults

sys.path.insert(0, str(ROOT / "benchmarks"))
import census
import chaos

pytestmark = pytest.mark.slow  # three applies per provider, one of them frozen past its lease: ~40 s in all
JOBS = {"azure": 6, "superstaq": 6, "pasqal": 10}


@pytest.fixture
def slow(request: pytest.FixtureRequest) -> Iterator[tuple[str, EmulatorServer]]:
    """The provider's emulator answering after 0.3 s, so creates are in flight long enough to freeze A amid them."""
    server = emulators.start(request.param, faults=Faults(latency=0.3, queue_delay=3600))
    try:
        yield request.param, server
    finally:
        server.stop()


def command(folder: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "runner",
        "apply",
        str(folder / "m.yaml"),
        "--yes",
        "--state",
        str(folder / "s.db"),
        *extra,
    ]


def query(folder: Path, sql: str) -> list[tuple[Any, ...]]:
    if not (folder / "s.db").exists():
        return []
    conn = sqlite3.connect(f"file:{folder / 's.db'}?mode=ro", uri=True)
    try:
        return list(conn.execute(sql))
    except sqlite3.Error:
        return []
    finally:
        conn.close()


def send_as_the_woken_holder(folder: Path, env: dict[str, str]) -> str:
    """What A would send had it been frozen right after its lease check: a create carrying its token."""
    script = f"""
import dataclasses
import json
from runner.applying.reconcile import submission_for
from runner.expand.expansion import expand
from runner.manifest.loader import load
from runner.providers.pool import ProviderPool
from runner.state import open_store
store = open_store({str(folder / "s.db")!r})
stale = [s for s in store.stale_sends() if store.resource(s["address"]).kind != "batch_job"][0]
rec = store.resource(stale["address"])
gen = [g for g in store.generations(stale["address"]) if g["generation"] == stale["generation"]][0]
intent = {{"token": stale["token"], "fingerprint": gen["fingerprint"], "created_at": stale["noted_at"]}}
programs = expand(load({str(folder / "m.yaml")!r})).programs
with ProviderPool(store.targets(), __import__("os").environ) as pool:
    sub = submission_for(rec, gen, intent, programs)
    if rec.kind == "batch":  # a new batch is sent with its jobs inside
        kids = []
        for child in store.recorded().values():
            if child.parent == rec.address:
                cgen = [g for g in store.generations(child.address) if g["generation"] == child.generation][0]
                kids.append(submission_for(child, cgen, {{"token": cgen["token"], "fingerprint": cgen["fingerprint"],
                                                         "created_at": stale["noted_at"]}}, programs))
        sub = dataclasses.replace(sub, children=tuple(kids), parent=None)
    made = pool.get(rec.target).create(sub)
print(json.dumps({{"address": stale["address"], "remote_id": made.remote_id}}))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def live(provider: str, url: str, trial: int) -> dict[str, int]:
    return {a: n for a, n in census.live(provider, url).items() if chaos.belongs(a, trial)}


@pytest.mark.parametrize("slow", sorted(JOBS), indirect=True)
def test_a_frozen_holder_leaves_one_live_remote_object_per_job(
    slow: tuple[str, EmulatorServer], tmp_path: Path
) -> None:
    provider, server = slow
    trial, jobs = 31, JOBS[provider]
    (tmp_path / "rotation.qasm").write_text(chaos.ROTATION)
    (tmp_path / "rabi.json").write_text(chaos.SEQUENCE)
    (tmp_path / "m.yaml").write_text(chaos.manifest(provider, server.url, trial, jobs, "v0.3.0"))
    env = {**os.environ, **chaos.ENV, "RUNNER_LOCK_TTL": "1.5"}
    a = subprocess.Popen(
        command(tmp_path, "--parallelism", "2"), stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True
    )
    deadline = time.monotonic() + 60
    while not query(tmp_path, "SELECT 1 FROM intents WHERE state = 'open'") and time.monotonic() < deadline:
        time.sleep(0.01)
    a.send_signal(signal.SIGSTOP)  # frozen with creates in flight: alive, no more heartbeats
    try:
        time.sleep(2.0)  # past its lease
        b = subprocess.run(
            command(tmp_path, "--lock-timeout", "30"), capture_output=True, text=True, env=env, timeout=300
        )
        assert b.returncode == 0, b.stdout + b.stderr
        assert query(tmp_path, "SELECT count(*) FROM stale_sends WHERE closed_at IS NULL")[0][0] >= 1
    finally:
        a.send_signal(signal.SIGCONT)
    out, err = a.communicate(timeout=120)
    assert a.returncode in (0, 4), out + err  # it wakes up, cannot prove its lease, stops (or had finished)
    woken = json.loads(send_as_the_woken_holder(tmp_path, env))
    if provider == "azure":  # ids are derived from the token: the same create lands on the same job
        assert live(provider, server.url, trial) == dict.fromkeys(live(provider, server.url, trial), 1)
    plan = subprocess.run(
        [sys.executable, "-m", "runner", "plan", str(tmp_path / "m.yaml"), "--state", str(tmp_path / "s.db"), "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert plan.returncode == 0, plan.stderr
    dups = json.loads(plan.stdout)["duplicates"]
    if provider != "azure":
        assert woken["remote_id"] in {d["remote_id"] for d in dups}  # plan reports it
        assert all(d["action"] == "cancel" for d in dups)
    c = subprocess.run(command(tmp_path), capture_output=True, text=True, env=env, timeout=300)
    assert c.returncode == 0, c.stdout + c.stderr
    counts = live(provider, server.url, trial)
    expected = jobs if provider != "pasqal" else (jobs // chaos.PER_BATCH) * chaos.PER_BATCH
    assert len(counts) == expected and set(counts.values()) == {1}, counts  # one live object per job, none missing
