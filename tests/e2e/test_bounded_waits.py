"""wait's --timeout is a deadline for the whole command, whatever the service does; CI can stop on failed jobs."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from conftest import EXAMPLES, Ran

from runner import emulators
from runner.emulators.server import EmulatorServer, Faults

Cli = Callable[..., Ran]
TARGET = (
    "{{provider: azure, target: ionq.simulator, endpoint: '{url}', workspace: {{subscription_id: "
    "00000000-0000-0000-0000-000000000001, resource_group: rg, name: ws, location: eastus}}, "
    "credentials: {{api_key_env: AZURE_QUANTUM_API_KEY}}}}"
)


@pytest.fixture
def azure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[EmulatorServer]:
    monkeypatch.setenv("AZURE_QUANTUM_API_KEY", "emulator-key")
    shutil.copytree(EXAMPLES / "circuits", tmp_path / "circuits")
    server = emulators.start("azure", faults=Faults(queue_delay=3600))
    try:
        yield server
    finally:
        server.stop()


def manifest(tmp_path: Path, url: str, jobs: str) -> Path:
    m = tmp_path / "m.yaml"
    m.write_text(f"version: 1\nproject: waits\ntargets:\n  t: {TARGET.format(url=url)}\njobs:\n{jobs}")
    return m


@pytest.mark.slow
@pytest.mark.parametrize(
    "faults",
    [
        {"latency": 30.0},  # every request hangs for longer than the whole timeout
        {"error_rate": 0.5, "drop_rate": 0.2, "latency": 2.0},  # the service misbehaves in every way
    ],
    ids=["stalled", "faulty"],
)
def test_wait_returns_within_its_timeout_under_any_fault(
    azure: EmulatorServer, tmp_path: Path, cli: Cli, faults: dict[str, float]
) -> None:
    m = manifest(tmp_path, azure.url, "  bell: {target: t, program: circuits/bell.qasm, shots: 10}\n")
    assert cli("apply", str(m), "--yes").code == 0
    httpx.post(f"{azure.url}/_admin/faults", json=faults).raise_for_status()
    started = time.monotonic()
    ran = cli("wait", "-m", str(m), "--timeout", "5")
    took = time.monotonic() - started
    assert ran.code == 6, ran.err
    assert ran.err.splitlines()[-1] == "error: timed out after 5s with 1 still running: job.bell"
    assert took < 5 + 3, took  # was 61 s against a stalled service, and 306-317 s for --timeout 120 under faults


def test_fail_on_failed_stops_ci_on_a_failed_job(azure: EmulatorServer, tmp_path: Path, cli: Cli) -> None:
    httpx.post(f"{azure.url}/_admin/faults", json={"queue_delay": 0}).raise_for_status()
    # more shots than the target takes: valid to runner, refused by the (emulated) service when it runs
    jobs = (
        "  bell: {target: t, program: circuits/bell.qasm, shots: 10}\n"
        "  wide: {target: t, program: circuits/bell.qasm, shots: 200000}\n"
    )
    m = manifest(tmp_path, azure.url, jobs)
    cli("apply", str(m), "--yes")
    assert cli("wait", "-m", str(m), "--timeout", "60").code == 0  # finished is finished, without the flag
    ran = cli("wait", "-m", str(m), "--timeout", "60", "--fail-on-failed")
    assert ran.code == 7
    assert ran.err.splitlines()[-1] == "error: 1 of 2 did not succeed: job.wide (failed)"


def test_a_service_that_refuses_connections_fails_fast_as_not_reachable(
    tmp_path: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Was: half a minute of retries, reported as "outcome unknown" although nothing was sent."""
    import socket

    monkeypatch.setenv("AZURE_QUANTUM_API_KEY", "emulator-key")
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    shutil.copytree(EXAMPLES / "circuits", tmp_path / "circuits")
    m = manifest(tmp_path, f"http://127.0.0.1:{port}", "  bell: {target: t, program: circuits/bell.qasm, shots: 10}\n")
    started = time.monotonic()
    ran = cli("apply", str(m), "--yes")
    took = time.monotonic() - started
    assert ran.code == 1
    assert f"azure: http://127.0.0.1:{port} is not reachable ([Errno 111] Connection refused)" in ran.out
    assert "nothing was carried out" in ran.out and "outcome unknown" not in ran.out
    assert took < 10, took
    (planned,) = [line for line in cli("plan", str(m)).out.splitlines() if "job.bell" in line]
    assert "the last submission failed (not sent:" in planned  # nothing exists remotely: submitted again
