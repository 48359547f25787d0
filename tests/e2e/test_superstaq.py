"""End to end: `runner emulate superstaq` in a subprocess, the CLI in-process against it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import ROOT, Ran

ADDRESSES = ["job.pair", "job.rotation[theta=0.0]", "job.rotation[theta=1.5708]", "job.rotation[theta=3.1416]"]


@contextmanager
def emulator(*flags: str) -> Iterator[str]:
    """The emulator as `runner emulate` serves it; its first stdout line is its URL."""
    command = [sys.executable, "-m", "runner", "emulate", "superstaq", "--port", "0", *flags]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT)
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), url
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def manifest(examples: Path, url: str) -> str:
    path = examples / "superstaq" / "superstaq.yaml"
    path.write_text(path.read_text().replace("http://127.0.0.1:8767", url))
    return str(path)


def remote_jobs(url: str) -> dict[str, dict[str, Any]]:
    jobs: dict[str, dict[str, Any]] = httpx.get(f"{url}/_admin/state").json()["jobs"]
    return jobs


@pytest.fixture(autouse=True)
def api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUPERSTAQ_API_KEY", "emulator-key")


def test_apply_wait_results_and_reapply(examples: Path, cli: Callable[..., Ran]) -> None:
    with emulator() as url:
        m = manifest(examples, url)
        applied: Ran = cli("apply", m, "--yes")
        assert applied.code == 0, applied.err
        assert "Apply complete: 4 created, 0 updated, 0 replaced, 0 deleted, 0 failed" in applied.out
        rows = json.loads(cli("status", "-m", m, "--json").out)
        assert [r["address"] for r in rows] == ADDRESSES
        assert [len(r["remote_id"].split(",")) for r in rows] == [2, 1, 1, 1]  # one id per circuit (v0.2.0)
        assert {r["status"] for r in rows} <= {"pending", "running", "succeeded"}

        waited: Ran = cli("wait", "-m", m, "--timeout", "60")
        assert (waited.code, waited.out.splitlines()[-1]) == (0, "All selected resources have finished.")
        assert [r["status"] for r in json.loads(cli("status", "-m", m, "--json").out)] == ["succeeded"] * 4

        pair = json.loads(cli("results", "job.pair", "-m", m, "--json").out)
        bell, rotation = pair["counts"]  # a multi-circuit job: one mapping per circuit
        assert set(bell) <= {"00", "11"} and sum(bell.values()) == 500
        assert set(rotation) <= {"0", "1"} and sum(rotation.values()) == 500
        assert (pair["shots"], pair["provider"], pair["api_version"], pair["target"]) == (
            500,
            "superstaq",
            "v0.2.0",
            "ss_unconstrained_simulator",
        )
        flipped = json.loads(cli("results", "job.rotation[theta=3.1416]", "-m", m, "--json").out)
        assert flipped["counts"].get("1", 0) >= 495  # rx(pi) flips the qubit: little-endian key "1"

        again: Ran = cli("apply", m, "--yes")
        assert again.code == 0
        assert "No changes. 4 resource(s) match the manifest; nothing to submit." in again.out
        assert len(remote_jobs(url)) == 4  # nothing was submitted twice


def test_cancel_one_circuit_then_whole_queued_jobs(examples: Path, cli: Callable[..., Ran]) -> None:
    with emulator("--queue-delay", "30") as url:
        m = manifest(examples, url)
        assert cli("apply", m, "--yes").code == 0

        one: Ran = cli("cancel", "job.pair", "-m", m, "--index", "1")
        assert (one.code, one.out) == (0, "  - job.pair: cancel requested (pending)\n")
        whole: Ran = cli("cancel", "job.pair", "job.rotation[theta=0.0]", "-m", m)
        assert (whole.code, whole.out) == (
            0,
            "  - job.pair: cancel requested (cancelled)\n  - job.rotation[theta=0.0]: cancel requested (cancelled)\n",
        )

        status = {r["address"]: r["status"] for r in json.loads(cli("status", "-m", m, "--json").out)}
        assert status == dict(zip(ADDRESSES, ["cancelled", "cancelled", "pending", "pending"], strict=True))
        statuses = sorted(job["statuses"] for job in remote_jobs(url).values())
        assert statuses == [["awaiting_simulation"], ["awaiting_simulation"], ["cancelled"], ["cancelled"] * 2]


@pytest.mark.slow
def test_fresh_processes_with_a_warm_program_cache_convert_programs_on_worker_threads(
    examples: Path, tmp_path: Path
) -> None:
    """The first-import race: with validate's verdicts cached, qiskit's OpenQASM 3 modules were first imported
    by several worker threads at once, and most creates failed with "cannot import name '_ExprBuilder' from
    partially initialized module 'qiskit.qasm3.exporter'". Each apply must be a fresh process to see it."""
    env = {**os.environ, "SUPERSTAQ_API_KEY": "emulator-key", "XDG_CACHE_HOME": str(tmp_path / "cache")}
    with emulator() as url:
        m = manifest(examples, url)
        runner = [sys.executable, "-m", "runner"]
        warmed = subprocess.run([*runner, "validate", m], env=env, capture_output=True, text=True, timeout=120)
        assert warmed.returncode == 0, warmed.stderr
        for attempt in range(3):
            state = tmp_path / f"fresh-{attempt}.db"
            ran = subprocess.run(
                [*runner, "apply", m, "--yes", "--state", str(state)],
                env=env,
                capture_output=True,
                text=True,
                timeout=180,
            )
            assert ran.returncode == 0, ran.stdout + ran.stderr
            assert "Apply complete: 4 created, 0 updated, 0 replaced, 0 deleted, 0 failed" in ran.stdout
            assert "partially initialized" not in ran.stdout + ran.stderr


@pytest.mark.slow
def test_results_of_the_circuits_that_ran_after_one_was_cancelled(examples: Path, cli: Callable[..., Ran]) -> None:
    with emulator("--queue-delay", "3") as url:  # long enough to cancel circuit 1 before the job starts
        m = manifest(examples, url)
        assert cli("apply", m, "--yes").code == 0
        one: Ran = cli("cancel", "job.pair", "-m", m, "--index", "1")
        assert (one.code, one.out) == (0, "  - job.pair: cancel requested (pending)\n")
        waited: Ran = cli("wait", "-m", m, "--timeout", "60")
        assert waited.code == 0, waited.out + waited.err
        status = {r["address"]: r["status"] for r in json.loads(cli("status", "-m", m, "--json").out)}
        assert status["job.pair"] == "cancelled"

        pair = json.loads(cli("results", "job.pair", "-m", m, "--json").out)
        bell, rotation = pair["counts"]  # circuit 0 ran; circuit 1 was cancelled and has no counts
        assert set(bell) <= {"00", "11"} and sum(bell.values()) == 500
        assert rotation == {}
        assert (pair["partial"], pair["statuses"], pair["shots"]) == (True, ["Done", "Cancelled"], 500)
        table: Ran = cli("results", "job.pair", "-m", m)
        assert table.code == 0 and "job.pair" in table.out
