"""Local sweeps on a Dask cluster: the same counts as in-process, a lost worker retried, exactly once."""

from __future__ import annotations

import csv
import io
import json
import os
import shlex
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import Ran, write

distributed: Any = pytest.importorskip("distributed")

SWEPT = """OPENQASM 3.0;
include "stdgates.inc";
input float a;
input float b;
qubit[6] q;
bit[6] c;
rx(a) q[0];
ry(b) q[1];
h q[2];
cx q[0], q[3];
cx q[1], q[4];
rz(a) q[4];
cx q[4], q[5];
c = measure q;
"""
MID = """OPENQASM 2.0;
include "qelib1.inc";
qreg q[2];
creg c[2];
h q[0];
measure q[0] -> c[0];
cx q[0], q[1];
measure q[1] -> c[1];
"""


def manifest(folder: Path, options: str, points: int = 12) -> Path:
    values = ", ".join(str(round(0.25 * i, 2)) for i in range(points))
    write(folder, "swept.qasm", SWEPT)
    write(folder, "mid.qasm", MID)
    return write(
        folder,
        "m.yaml",
        f"""version: 1
project: big
max_jobs: 100000
targets:
  sim: {{provider: local, options: {options}}}
jobs:
  sweep:
    target: sim
    program: swept.qasm
    shots: 300
    matrix: {{a: [{values}], b: [0.0, 0.7, 1.4]}}
  mid:
    target: sim
    program: mid.qasm
    shots: 100
""",
    )


def digests(state: Path) -> dict[str, str]:
    conn = sqlite3.connect(state)
    try:
        return dict(conn.execute("SELECT address, digest FROM results").fetchall())
    finally:
        conn.close()


def apply(cli: Callable[..., Ran], m: Path, state: Path) -> None:
    ran = cli("apply", str(m), "--yes", "--state", str(state))
    assert ran.code == 0, ran.out + ran.err


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address="127.0.0.1:0", host="127.0.0.1"
    ) as running:
        yield running


@pytest.fixture
def in_process(tmp_path: Path, cli: Callable[..., Ran]) -> dict[str, str]:
    """Every result's digest as the in-process run gives it."""
    m = manifest(tmp_path / "here", "{}")
    apply(cli, m, tmp_path / "here.db")
    return digests(tmp_path / "here.db")


def test_a_local_cluster_gives_the_in_process_counts(
    tmp_path: Path, cli: Callable[..., Ran], cluster: Any, in_process: dict[str, str]
) -> None:
    m = manifest(tmp_path / "there", f"{{dask: '{cluster.scheduler_address}'}}")
    apply(cli, m, tmp_path / "there.db")
    assert digests(tmp_path / "there.db") == in_process
    assert len(in_process) == 37
    # where a sweep runs is not what it is: the same manifest on the other placement plans no change
    here = manifest(tmp_path / "there", "{}")
    assert cli("plan", str(here), "--state", str(tmp_path / "there.db"), "--detailed-exitcode").code == 0


def test_a_cluster_started_for_the_run(tmp_path: Path, cli: Callable[..., Ran], in_process: dict[str, str]) -> None:
    m = manifest(tmp_path / "own", "{dask: {workers: 1}}")
    apply(cli, m, tmp_path / "own.db")
    assert digests(tmp_path / "own.db") == in_process


def test_a_worker_lost_mid_run_is_retried_and_every_job_runs_once(
    tmp_path: Path, cli: Callable[..., Ran], cluster: Any
) -> None:
    from runner.quantum.simulator import SimJob, run

    m = manifest(tmp_path / "lossy", f"{{dask: '{cluster.scheduler_address}'}}", points=400)
    client = distributed.Client(cluster)
    pids = client.run(os.getpid)
    killed: list[int] = []

    def kill_one_when_busy() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not killed:
            busy = [w for w, tasks in client.processing().items() if tasks]
            if busy:
                os.kill(pids[busy[0]], signal.SIGKILL)
                killed.append(pids[busy[0]])
            time.sleep(0.005)

    killer = threading.Thread(target=kill_one_when_busy)
    killer.start()
    apply(cli, m, tmp_path / "lossy.db")
    killer.join()
    client.close()
    assert killed, "no task was seen running: the worker was never lost"
    conn = sqlite3.connect(tmp_path / "lossy.db")
    try:
        generations = conn.execute("SELECT count(*), count(DISTINCT address) FROM generations").fetchone()
        open_intents = conn.execute("SELECT count(*) FROM intents WHERE state = 'open'").fetchone()[0]
        rows = conn.execute("SELECT address, counts, data FROM results WHERE address LIKE 'job.sweep%'").fetchall()
    finally:
        conn.close()
    assert generations == (1201, 1201) and open_intents == 0
    for address, counts, data in rows[::97]:  # a sample, checked against the job run alone here
        a, b = (float(part.split("=")[1]) for part in address.split("[")[1].rstrip("]").split(","))
        seed = json.loads(data)["seed"]
        assert json.loads(counts)[0] == run(SimJob(SWEPT, 300, seed, {"a": a, "b": b}))["counts"], address


def test_bad_dask_settings_are_located(project: Path, cli: Callable[..., Ran]) -> None:
    for bad, message in (
        ("{dask: 7}", "dask must be a scheduler address (tcp://HOST:8786) or {workers: N}"),
        ("{dask: {workers: 0}}", "dask workers must be a whole number >= 1 (got 0)"),
        ("{dask: {threads: 2}}", "dask takes only 'workers' (got threads)"),
        ("{dask: nowhere}", "dask must be a scheduler address like tcp://HOST:8786 (got 'nowhere')"),
        ("{dask: {workers: 2}, workers: 2}", "give either workers (processes here) or dask (a cluster), not both"),
    ):
        m = manifest(project, bad)
        ran = cli("validate", str(m))
        assert ran.code == 1 and message in ran.out + ran.err, (bad, ran.out + ran.err)
        assert "m.yaml:" in ran.out + ran.err


@pytest.mark.slow
def test_a_separately_started_scheduler_and_worker(
    tmp_path: Path, cli: Callable[..., Ran], in_process: dict[str, str]
) -> None:
    dask = shutil.which("dask", path=str(Path(sys.executable).parent)) or "dask"
    info = tmp_path / "scheduler.json"
    env = {**os.environ, "DASK_DISTRIBUTED__WORKER__DAEMON": "False"}
    scheduler = subprocess.Popen(
        [dask, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard", "--scheduler-file", str(info)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    worker = None
    try:
        deadline = time.monotonic() + 60
        while not info.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        address = json.loads(info.read_text())["address"]
        worker = subprocess.Popen(
            [dask, "worker", address, "--host", "127.0.0.1", "--nthreads", "1", "--no-dashboard"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        with distributed.Client(address, timeout="30s") as client:
            client.wait_for_workers(1, timeout=60)
        m = manifest(tmp_path / "remote", f"{{dask: '{address}'}}")
        apply(cli, m, tmp_path / "remote.db")
        assert digests(tmp_path / "remote.db") == in_process
    finally:
        for proc in (worker, scheduler):
            if proc is not None:
                proc.terminate()
                proc.wait(timeout=30)


@pytest.mark.slow
def test_the_big_sweeps_guide_walkthrough_runs(
    examples: Path, cli: Callable[..., Ran], monkeypatch: pytest.MonkeyPatch
) -> None:
    from conftest import ROOT

    text = (ROOT / "docs" / "big-sweeps.md").read_text()
    block = text.split("<!-- tested:", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    lines = [line for line in block.splitlines() if line.strip()]
    monkeypatch.chdir(examples.parent)
    outputs = []
    for line in lines:
        ran = cli(*shlex.split(line)[1:])
        assert ran.code == 0, (line, ran.out, ran.err)
        outputs.append(ran.out)
    assert len(lines) == 3
    assert outputs[1].splitlines()[0].startswith("address,a,b,circuit,outcome,count,probability")
    assert len({row[0] for row in list(csv.reader(io.StringIO(outputs[1])))[1:]}) == 400
    assert "No changes." in outputs[2]
