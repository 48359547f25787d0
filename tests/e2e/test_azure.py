"""End to end: the CLI against `runner emulate azure` on a loopback port, with examples/azure/azure.yaml."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import EXAMPLES, Ran, write

WIDE = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[30];\ncreg c[30];\nh q[0];\nmeasure q -> c;\n'
Emulate = Callable[..., str]


@pytest.fixture
def emulate() -> Iterator[Emulate]:
    """Start `runner emulate azure` with extra flags; returns its URL. Stopped after the test."""
    started: list[subprocess.Popen[str]] = []

    def start(*flags: str) -> str:
        command = [sys.executable, "-m", "runner", "emulate", "azure", "--port", "0", *flags]
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        started.append(proc)
        assert proc.stdout is not None
        return proc.stdout.readline().strip()

    yield start
    for proc in started:
        proc.terminate()
        proc.wait(timeout=10)


def manifest(folder: Path, url: str, extra_jobs: str = "") -> Path:
    for name in ("bell.qasm", "rotation.qasm"):
        write(folder, f"circuits/{name}", (EXAMPLES / "circuits" / name).read_text())
    text = (EXAMPLES / "azure" / "azure.yaml").read_text().replace("http://127.0.0.1:8765", url)
    return write(folder, "azure.yaml", text + extra_jobs)


def remote_state(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{url}/_admin/state", timeout=10) as response:
        state: dict[str, Any] = json.load(response)
    return state


@pytest.fixture(autouse=True)
def api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_QUANTUM_API_KEY", "emulator-key")


def statuses(cli: Callable[..., Ran], m: Path) -> dict[str, str]:
    return {r["address"]: r["status"] for r in json.loads(cli("status", "-m", str(m), "--json").out)}


def test_apply_wait_results_and_nothing_twice(tmp_path: Path, emulate: Emulate, cli: Callable[..., Ran]) -> None:
    url = emulate()
    m = manifest(tmp_path / "proj", url)
    applied = cli("apply", str(m), "--yes")
    assert applied.code == 0, applied.out + applied.err
    assert "Apply complete: 6 created, 0 updated, 0 replaced, 0 deleted, 0 failed" in applied.out
    assert set(statuses(cli, m)) == {
        "session.calibration",
        "job.bell",
        "job.pair",
        "job.rotation[theta=0.0]",
        "job.rotation[theta=1.5708]",
        "job.rotation[theta=3.1416]",
    }
    waited = cli("wait", "-m", str(m), "--timeout", "60")
    assert waited.code == 0, waited.out + waited.err
    assert "All selected resources have finished." in waited.out
    assert statuses(cli, m)["session.calibration"] == "succeeded"  # wait waited for the session too
    refreshed = cli("refresh", "-m", str(m))  # so nothing is left that can still change
    assert refreshed.code == 0
    assert "Refreshed 0 resource(s) in 0 request(s): 0 changed, 0 still running." in refreshed.out
    bell = json.loads(cli("results", "job.bell", "-m", str(m), "--json").out)
    assert sum(bell["counts"].values()) == bell["shots"] == 500
    assert set(bell["counts"]) <= {"00", "11"}
    assert bell["format"] == "ionq.quantum-results.v1"
    flipped = json.loads(cli("results", "job.rotation[theta=0.0]", "-m", str(m), "--json").out)
    assert flipped["counts"] == {"0": 200}
    again = cli("apply", str(m), "--yes")
    assert again.code == 0
    assert "No changes. 6 resource(s) match the manifest; nothing to submit." in again.out
    remote = remote_state(url)
    assert len(remote["jobs"]) == 5 and len(remote["sessions"]) == 1


def test_cancel_a_queued_job(tmp_path: Path, emulate: Emulate, cli: Callable[..., Ran]) -> None:
    url = emulate("--queue-delay", "30")
    m = manifest(tmp_path / "proj", url)
    assert cli("apply", str(m), "--yes").code == 0
    cancelled = cli("cancel", "job.pair", "-m", str(m))
    assert cancelled.code == 0, cancelled.out + cancelled.err
    assert "  - job.pair: cancel requested (cancelled)" in cancelled.out
    assert statuses(cli, m)["job.pair"] == "cancelled"
    pair = [j for j in remote_state(url)["jobs"] if j["name"] == "job.pair"]
    assert [(j["status"], j["cancellationTime"] is not None) for j in pair] == [("Cancelled", True)]


def test_a_job_too_wide_for_the_target_is_refused_before_anything_is_sent(
    tmp_path: Path, emulate: Emulate, cli: Callable[..., Ran]
) -> None:
    url = emulate()
    folder = tmp_path / "proj"
    write(folder, "circuits/wide.qasm", WIDE)
    m = manifest(folder, url, "\n  a_wide:\n    session: calibration\n    program: circuits/wide.qasm\n")
    applied = cli("apply", str(m), "--yes")
    assert (applied.code, applied.out) == (1, "")
    wide = folder / "circuits" / "wide.qasm"
    assert applied.err == f"{m}:55:14: {wide} uses 30 qubits; target 'ionq' (azure ionq.simulator) takes at most 29\n"
    assert remote_state(url)["jobs"] == [] and remote_state(url)["sessions"] == []


def test_abort_session_stops_at_a_job_the_target_refuses(
    tmp_path: Path, emulate: Emulate, cli: Callable[..., Ran]
) -> None:
    url = emulate()
    folder = tmp_path / "proj"
    # more shots than the service takes (the emulator's limit, as IonQ's): valid here, refused remotely
    m = manifest(
        folder, url, "\n  a_greedy:\n    session: calibration\n    program: circuits/bell.qasm\n    shots: 200000\n"
    )
    applied = cli("apply", str(m), "--yes")
    assert applied.code == 1
    assert (
        "error: session.calibration failed (job_failure_policy: abort): job.a_greedy failed (shots must be an integer "
        "from 1 to 100000 (got 200000).); not submitted: job.bell, job.rotation[theta=0.0], "
        "job.rotation[theta=1.5708], job.rotation[theta=3.1416]" in applied.out
    ), applied.out + applied.err
    seen = statuses(cli, m)  # job.pair, outside the session, was submitted as usual
    assert sorted(seen) == ["job.a_greedy", "job.pair", "session.calibration"]
    assert (seen["session.calibration"], seen["job.a_greedy"]) == ("failed", "failed")
    (session,) = remote_state(url)["sessions"]
    assert session["status"] == "Failed"
    assert [j["name"] for j in remote_state(url)["jobs"] if j["sessionId"]] == ["job.a_greedy"]
