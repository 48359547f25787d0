"""Issue 13 on Azure and Superstaq, through the CLI and the Python API against the emulators: remote jobs and
sessions, a session's view with the service's own status word, import by filters, provider status, waiting for
one circuit, a fixed poll interval bounded by the deadline."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import BELL, EXAMPLES, Ran, write

import runner
from runner import emulators
from runner.domain.model import Attrs, Program
from runner.emulators.azure.app import WS
from runner.emulators.server import EmulatorServer
from runner.errors import UsageError
from runner.providers.azure import provider as azure_provider
from runner.providers.base import Context, Submission

TARGET = """  ionq:
    provider: azure
    target: ionq.simulator
    endpoint: {url}
    workspace: {{subscription_id: 00000000-0000-0000-0000-000000000001, resource_group: rg, name: ws, location: eastus}}
    credentials: {{api_key_env: AZURE_QUANTUM_API_KEY}}
"""
SESSION = """sessions:
  calib: {target: ionq, job_failure_policy: continue, keep_open: true}
jobs:
  a: {session: calib, program: bell.qasm, shots: 100}
  b: {session: calib, program: bell.qasm, shots: 100}
"""


@pytest.fixture
def azure(monkeypatch: pytest.MonkeyPatch) -> Iterator[EmulatorServer]:
    monkeypatch.setenv("AZURE_QUANTUM_API_KEY", "emulator-key")
    server = emulators.start("azure")
    yield server
    server.stop()


def azure_manifest(folder: Path, url: str, body: str = SESSION) -> str:
    write(folder, "bell.qasm", BELL)
    return str(write(folder, "m.yaml", f"version: 1\nproject: remote\ntargets:\n{TARGET.format(url=url)}{body}"))


def by_hand(m: str, name: str, tags: tuple[str, ...] = ()) -> str:
    """A job a colleague's script submits straight to the workspace, outside runner."""
    from runner.manifest.loader import load

    target = load(m).targets["ionq"]
    provider = azure_provider.make(target, Context({"AZURE_QUANTUM_API_KEY": "emulator-key"}, str(Path(m).parent)))
    program = Program("bell.qasm", BELL, "qasm2", "b" * 64)
    token = name.encode().hex().ljust(32, "0")[:32]
    sub = Submission(name, "job", 1, token, "f" * 64, {"shots": 100}, Attrs(tags, name=name), (program,))
    try:
        return provider.create(sub).remote_id
    finally:
        provider.shutdown()


def ok(ran: Ran) -> Any:
    assert ran.code == 0, ran.err
    return json.loads(ran.out)


def until(check: Callable[[], bool], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


def test_a_failing_continue_session_shows_failure_s_beside_runners_status(
    tmp_path: Path, azure: EmulatorServer, cli: Callable[..., Ran]
) -> None:
    azure.emulator.faults.job_failure_rate = 1.0
    m = azure_manifest(tmp_path, azure.url)
    assert cli("apply", m, "--yes").code == 0
    stray = by_hand(m, "stray")
    sessions = ok(cli("remote", "sessions", "ionq", "-m", m, "--json"))
    assert [i["managed_as"] for i in sessions["items"]] == ["session.calib"]
    assert sessions["items"][0]["name"] == f"session-{sessions['items'][0]['remote_id']}"  # the SDK's default name

    def failing() -> bool:
        item = ok(cli("remote", "sessions", "ionq", "-m", m, "--json"))["items"][0]
        return bool(item["raw_status"] == "Failure(s)")

    until(failing)
    listed = cli("remote", "sessions", "ionq", "-m", m)
    assert "running (Failure(s))  " in listed.out and "managed as session.calib" in listed.out
    inside = ok(cli("remote", "jobs", "ionq", "-m", m, "--in", "session.calib", "--json"))
    assert sorted(i["managed_as"] for i in inside["items"]) == ["job.a", "job.b"]
    assert {i["raw_status"] for i in inside["items"]} == {"Failed"}
    every = ok(cli("remote", "jobs", "ionq", "-m", m, "--json"))
    assert {i["remote_id"]: i["managed_as"] for i in every["items"]}[stray] is None
    shown = cli("show", "session.calib", "-m", m)
    assert shown.code == 0, shown.err
    assert "  service:     running (Failure(s))  (as the service reports it now)" in shown.out
    assert "    job_failure_policy:   Continue" in shown.out
    # what the recorded service sends for a session, and what it leaves out (never guessed)
    assert "    not sent:             created_by, begin_execution_time, end_execution_time, session_cost, usage" in (
        shown.out
    )
    assert "  jobs at the service (2):" in shown.out and "failed  managed as job.a" in shown.out
    doc = runner.show("session.calib", manifest=m)
    assert doc["remote"]["item"]["raw_status"] == "Failure(s)"
    assert sorted(j["managed_as"] for j in doc["remote"]["jobs"]) == ["job.a", "job.b"]
    assert [j["address"] for j in doc["jobs"]] == ["job.a", "job.b"]
    # refresh records the service's word beside runner's; a job's error and cost show in text mode
    assert cli("refresh", "-m", m).code == 0
    rows = {r["address"]: r for r in runner.status(manifest=m)}
    assert (rows["session.calib"]["status"], rows["session.calib"]["raw_status"]) == ("running", "Failure(s)")
    assert (rows["job.a"]["status"], rows["job.a"]["raw_status"], rows["job.a"]["parent"]) == (
        "failed",
        "Failed",
        "session.calib",
    )
    status_text = cli("status", "-m", m).out
    assert "running (Failure(s))" in status_text and "session.calib" in status_text
    job_text = cli("show", "job.a", "-m", m, "--offline").out
    assert "  error:       " in job_text  # the failure's message, in text mode too


def test_show_text_has_the_cost(tmp_path: Path, azure: EmulatorServer, cli: Callable[..., Ran]) -> None:
    m = azure_manifest(tmp_path, azure.url, "jobs:\n  a: {target: ionq, program: bell.qasm, shots: 100}\n")
    assert cli("apply", m, "--yes").code == 0
    assert cli("wait", "-m", m, "--timeout", "30").code == 0
    detail = runner.show("job.a", manifest=m, remote=False)["detail"]
    text = cli("show", "job.a", "-m", m).out
    assert f"  cost:        {detail['cost']['amount']} {detail['cost']['currency']}" in text
    assert "  service:     succeeded  (as the service reports it now)" in text


def test_import_takes_the_listing_filters(tmp_path: Path, azure: EmulatorServer, cli: Callable[..., Ran]) -> None:
    azure.emulator.faults.queue_delay = 3600  # what is submitted stays waiting
    job = "{target: ionq, program: bell.qasm, shots: 100}"
    jobs = f"jobs:\n  a: {job}\n  b: {job}\n"
    m = azure_manifest(tmp_path, azure.url, jobs)
    a, b = by_hand(m, "job.a"), by_hand(m, "job.b")
    by_hand(m, "stray")
    nothing = cli("import", "--status", "failed", "-m", m)
    assert (nothing.code, nothing.out.splitlines()[-1]) == (0, "Imported 0 resource(s).")
    ran = cli("import", "--status", "pending", "--name", "job.", "-m", m)
    assert ran.code == 0, ran.err
    assert ran.out.splitlines()[-1] == "Imported 2 resource(s)."
    assert {r["address"]: r["remote_id"] for r in runner.status(manifest=m)} == {"job.a": a, "job.b": b}
    again = runner.import_(m, status=["pending"])
    assert sorted(s[0] for s in again.skipped) == ["job.a", "job.b"] and len(again.unmatched) == 1
    with pytest.raises(UsageError, match="give either ADDRESS REMOTE_ID, or filters"):
        runner.import_(m)


def test_provider_status_is_described(tmp_path: Path, azure: EmulatorServer, cli: Callable[..., Ran]) -> None:
    m = azure_manifest(tmp_path, azure.url)
    found = ok(cli("targets", m, "ionq", "--describe", "--json"))
    assert [(d["target"], d["source"]) for d in found] == [("ionq", "service")]
    assert found[0]["description"]["currentAvailability"] in ("Available", "Degraded", "Unavailable")
    assert isinstance(found[0]["description"]["averageQueueTime"], (int, float))
    text = cli("targets", m, "ionq", "--describe").out
    assert "  currentAvailability: " in text and "  averageQueueTime: " in text
    azure.stop()
    unreachable = runner.describe_targets(["ionq"], manifest=m)
    assert unreachable[0].source == "none" and "the service could not be asked" in (unreachable[0].error or "")


def test_poll_interval_is_fixed_bounded_below_and_never_past_the_deadline(
    tmp_path: Path, azure: EmulatorServer, cli: Callable[..., Ran]
) -> None:
    azure.emulator.faults.queue_delay = 3600
    m = azure_manifest(tmp_path, azure.url, "jobs:\n  a: {target: ionq, program: bell.qasm, shots: 100}\n")
    assert cli("apply", m, "--yes").code == 0
    route = f"GET {WS}/jobs/(?P<id>[^/:]+)"
    before = httpx.get(f"{azure.url}/_admin/stats").json().get(route, 0)
    started = time.monotonic()
    ran = cli("wait", "-m", m, "--timeout", "1.2", "--poll-interval", "0.3")
    took = time.monotonic() - started
    polls = httpx.get(f"{azure.url}/_admin/stats").json().get(route, 0) - before
    assert ran.code == 6 and "timed out after 1.2s" in ran.err
    assert took < 2.5 and 4 <= polls <= 6  # one GET every 0.3 s for 1.2 s: not the growing back-off
    assert cli("wait", "-m", m, "--poll-interval", "0.05").code == 64
    with pytest.raises(UsageError, match=r"--poll-interval must be at least 0\.1 s"):
        runner.wait(manifest=m, poll_interval=0.01)


# superstaq ---------------------------------------------------------------------------------------
@pytest.fixture
def superstaq(monkeypatch: pytest.MonkeyPatch) -> Iterator[EmulatorServer]:
    monkeypatch.setenv("SUPERSTAQ_API_KEY", "emulator-key")
    server = emulators.start("superstaq", seed=11)
    yield server
    server.stop()


def superstaq_manifest(folder: Path, url: str) -> str:
    shutil.copytree(EXAMPLES / "superstaq", folder / "superstaq")
    path = folder / "superstaq" / "superstaq.yaml"
    path.write_text(path.read_text().replace("http://127.0.0.1:8767", url))
    return str(path)


@pytest.mark.slow
def test_wait_for_one_circuit_returns_its_counts_before_the_job_ends(
    tmp_path: Path, superstaq: EmulatorServer, cli: Callable[..., Ran]
) -> None:
    superstaq.emulator.faults.run_time = 1.5  # circuit 0 completes 1.5 s in, circuit 1 at 3 s
    m = superstaq_manifest(tmp_path, superstaq.url)
    assert cli("apply", m, "--yes").code == 0
    seen = ok(cli("wait", "job.pair", "-m", m, "--index", "0", "--poll-interval", "0.1", "--json", "--timeout", "20"))
    assert (seen["index"], seen["raw_status"], seen["status"]) == (0, "Done", "succeeded")
    assert seen["job_status"] in ("pending", "running") and seen["statuses"][1] != "Done"
    assert sum(seen["counts"].values()) == seen["shots"] and set(seen["counts"]) <= {"00", "11"}
    assert runner.status(["job.pair"], manifest=m)[0]["status"] != "succeeded"  # the job itself has not ended
    last = runner.wait_circuit("job.pair", 1, manifest=m, poll_interval=0.1, timeout=20)
    assert last.status == "succeeded" and last.job_status == "succeeded" and last.result is not None
    recorded = runner.status(["job.pair"], manifest=m)[0]
    assert (recorded["status"], recorded["raw_status"]) == ("succeeded", "Done")  # the job's end was recorded
    text = cli("wait", "job.pair", "-m", m, "--index", "1")
    assert text.out.splitlines()[0] == "job.pair circuit 1: succeeded (Done)"
    assert cli("wait", "job.pair", "-m", m, "--index", "5").code == 1
    assert cli("wait", "job.pair", "job.rotation*", "-m", m, "--index", "0").code == 64


def test_superstaq_remote_jobs_and_a_jobs_circuits(
    tmp_path: Path, superstaq: EmulatorServer, cli: Callable[..., Ran]
) -> None:
    m = superstaq_manifest(tmp_path, superstaq.url)
    assert cli("apply", m, "--yes").code == 0
    assert cli("wait", "-m", m, "--timeout", "60").code == 0
    found = ok(cli("remote", "jobs", "ss", "-m", m, "--status", "succeeded", "--json"))
    managed = sorted(i["managed_as"] for i in found["items"])
    assert managed == [
        "job.pair",
        "job.rotation[theta=0.0]",
        "job.rotation[theta=1.5708]",
        "job.rotation[theta=3.1416]",
    ]
    assert found["requests"] == 1 and "status (overall, not any circuit)" in found["filtered_locally"]
    shown = cli("show", "job.pair", "-m", m)
    assert "  circuits:    0: Done, 1: Done" in shown.out
    assert "    circuit 0: Done" in shown.out and "    circuit 1: Done" in shown.out
    circuits = runner.show("job.pair", manifest=m)["remote"]["item"]["detail"]["circuits"]
    # the example sets shots: 500
    assert [(c["status"], c["has_counts"], c["shots"]) for c in circuits] == [("Done", True, 500)] * 2
    api = runner.remote_jobs("ss", manifest=m, status=["failed"])
    assert api.rows == () and api.total == 0
    (info,) = ok(cli("targets", m, "ss", "--describe", "--json"))
    assert (info["source"], info["description"]["target"], info["description"]["num_qubits"]) == (
        "service",
        "ss_unconstrained_simulator",
        20,
    )
