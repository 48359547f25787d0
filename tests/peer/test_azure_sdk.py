"""The official azure-quantum SDK against runner's Azure emulator: proof the emulator speaks the real protocol."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator

import pytest

pytest.importorskip("azure.quantum")

from azure.core.credentials import AzureKeyCredential
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError
from azure.quantum import Workspace
from azure.quantum.job import Job

from runner import emulators
from runner.emulators.server import EmulatorServer

BELL_JSON = {"qubits": 2, "circuit": [{"gate": "h", "target": 0}, {"gate": "cnot", "control": 0, "target": 1}]}
BELL_QASM = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\nh q[0];\ncx q[0],q[1];\nmeasure q -> c;\n'
WIDE_JSON = {"qubits": 30, "circuit": [{"gate": "h", "target": 0}]}


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    started = emulators.start("azure")
    yield started
    started.stop()


def workspace(server: EmulatorServer, key: str = "emulator-key") -> Workspace:
    return Workspace(
        subscription_id="00000000-0000-0000-0000-000000000001",
        resource_group="rg",
        name="ws",
        location="eastus",
        credential=AzureKeyCredential(key),
        _quantum_endpoint=f"{server.url}/",
    )


@pytest.fixture
def ws(server: EmulatorServer) -> Workspace:
    server.emulator.faults.queue_delay = 0
    return workspace(server)


def ionq_job(ws: Workspace, name: str, circuit: dict[str, object] = BELL_JSON, **kwargs: object) -> Job:
    return Job.from_input_data(
        ws,
        name=name,
        target="ionq.simulator",
        input_data=json.dumps(circuit).encode(),
        provider_id="ionq",
        input_data_format="ionq.circuit.v1",
        output_data_format="ionq.quantum-results.v1",
        input_params={"shots": 100},
        **kwargs,
    )


def test_submit_wait_and_read_results(ws: Workspace) -> None:
    job = ionq_job(ws, "bell")
    assert job.details.status == "Waiting"
    job.wait_until_completed(timeout_secs=30)
    assert job.has_succeeded()
    results = job.get_results()
    assert set(results["histogram"]) <= {"0", "3"}
    assert sum(results["histogram"].values()) == pytest.approx(1.0)
    fetched = ws.get_job(job.id)
    assert (fetched.details.status, fetched.details.target, fetched.details.input_params) == (
        "Succeeded",
        "ionq.simulator",
        {"shots": 100},
    )


def test_quantinuum_job_returns_every_shot_per_register(ws: Workspace) -> None:
    target = ws.get_targets("quantinuum.sim.h1-1e")
    job = target.submit(BELL_QASM, name="bell-h1", shots=40)
    job.wait_until_completed(timeout_secs=30)
    results = job.get_results()
    assert list(results) == ["c"]
    assert len(results["c"]) == 40
    assert set(results["c"]) <= {"00", "11"}


def test_list_jobs_with_filters_and_paging(ws: Workspace) -> None:
    made = [ionq_job(ws, f"listed-{i}") for i in range(3)]
    for job in made:
        job.wait_until_completed(timeout_secs=30)
    ids = {j.id for j in made}
    yesterday = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=1)
    listed = ws.list_jobs(
        name_match="listed-",
        target=["ionq.simulator"],
        status=["Succeeded"],
        created_after=yesterday,
        orderby_property="CreationTime",
        is_asc=False,
    )
    assert [j.id for j in listed if j.id in ids] == [j.id for j in reversed(made)]
    paged = list(ws.list_jobs_paginated(name_match="listed-", top=1))  # one item per page: follows nextLink
    assert {d.id for d in paged} >= ids
    assert ws.list_jobs(name_match="no-such-name-") == []


def test_cancel_a_queued_job(server: EmulatorServer, ws: Workspace) -> None:
    server.emulator.faults.queue_delay = 30
    job = ionq_job(ws, "to-cancel")
    cancelled = ws.cancel_job(job)
    assert cancelled.details.status == "Cancelled"
    assert cancelled.details.cancellation_time is not None
    assert cancelled.has_completed()


def test_update_job_name_and_tags(ws: Workspace) -> None:
    job = ionq_job(ws, "before", tags=["a"])
    ws.update_job(job, name="after", tags=["a", "b"])
    fetched = ws.get_job(job.id)
    assert (fetched.details.name, fetched.details.tags) == ("after", ["a", "b"])


def test_session_open_submit_list_close(ws: Workspace) -> None:
    target = ws.get_targets("ionq.simulator")
    with target.open_session(name="calibration", job_failure_policy="Continue") as session:
        job = target.submit(BELL_JSON, name="in-session", shots=50)
        assert job.details.session_id == session.id
        job.wait_until_completed(timeout_secs=30)
        assert [j.id for j in session.list_jobs()] == [job.id]
        assert [j.id for j in ws.list_session_jobs(session.id)] == [job.id]
    assert session.details.status == "Succeeded"
    assert session.is_in_terminal_state()
    assert ws.get_session(session.id).details.job_failure_policy == "Continue"
    top = {item.id for item in ws.list_top_level_items()}
    assert session.id in top and job.id not in top


def test_abort_session_fails_with_its_first_failed_job_and_refuses_more(ws: Workspace) -> None:
    target = ws.get_targets("ionq.simulator")
    session = target.open_session(name="strict", job_failure_policy="Abort")
    wide = target.submit(WIDE_JSON, name="too-wide", shots=10)
    assert wide.details.status == "Failed"
    assert wide.details.error_data.message == "The circuit uses 30 qubits but target 'ionq.simulator' has 29."
    session.refresh()
    assert session.details.status == "Failed"
    with pytest.raises(HttpResponseError) as caught:
        target.submit(BELL_JSON, name="after-failure", shots=10)
    assert caught.value.status_code == 400
    assert caught.value.error is not None and caught.value.error.code == "InvalidJobDefinition"
    assert "Session is already in a terminal state." in str(caught.value)


def test_targets_and_quotas(ws: Workspace) -> None:
    names = {t.name for t in ws.get_targets()}
    assert {"ionq.simulator", "ionq.qpu.aria-1", "quantinuum.sim.h1-1e", "quantinuum.qpu.h1-1"} <= names
    assert {q["providerId"] for q in ws.get_quotas()} == {"ionq", "quantinuum"}


def test_a_wrong_key_is_refused(server: EmulatorServer) -> None:
    with pytest.raises(ClientAuthenticationError) as caught:
        workspace(server, key="wrong").list_jobs()
    # as recorded: an empty body (the reason is only in WWW-Authenticate), so the SDK can say no more
    assert (caught.value.status_code, str(caught.value)) == (401, "Operation returned an invalid status 'Unauthorized'")


def test_continue_session_reports_failures_while_open_and_ends_failed(ws: Workspace) -> None:
    """The recorded Continue sequence, read through the official SDK: Failure(s) while open, Failed once closed."""
    target = ws.get_targets("ionq.simulator")
    session = target.open_session(name="lenient", job_failure_policy="Continue")
    wide = target.submit(WIDE_JSON, name="too-wide", shots=10)
    assert wide.details.status == "Failed"
    session.refresh()
    assert (session.details.status, session.is_in_terminal_state()) == ("Failure(s)", False)
    after = target.submit(BELL_JSON, name="after-failure", shots=10)  # still taken
    after.wait_until_completed(timeout_secs=30)
    assert after.has_succeeded()
    session.refresh()
    assert session.details.status == "Failure(s)"
    session.close()
    assert (session.details.status, session.is_in_terminal_state()) == ("Failed", True)


def test_a_jobs_container_lists_its_blobs_through_azure_storage_blob(ws: Workspace) -> None:
    """List Blobs (`?restype=container&comp=list`) on the container URL the workspace hands out."""
    from azure.storage.blob import ContainerClient

    job = ionq_job(ws, "listed-blobs")
    job.wait_until_completed(timeout_secs=30)
    container = ContainerClient.from_container_url(ws.get_container_uri(job_id=job.id))
    blobs = {b.name: b for b in container.list_blobs()}
    assert sorted(blobs) == ["inputData", "rawOutputData"]
    assert blobs["inputData"].size == len(json.dumps(BELL_JSON).encode())
    assert blobs["rawOutputData"].content_settings.content_type == "application/json"
    assert [b.name for b in container.list_blobs(name_starts_with="raw")] == ["rawOutputData"]


def test_a_listed_session_lacks_the_job_priority_its_get_shows(ws: Workspace) -> None:
    """As recorded (api-version 2025-12-01-preview): GET /sessions items carry no jobPriority."""
    session = ws.get_targets("ionq.simulator").open_session(name="priority")
    listed = {s.id: s.details.as_dict() for s in ws.list_sessions()}
    assert "jobPriority" not in listed[session.id]
    assert listed[session.id]["jobFailurePolicy"] == "Abort"
    assert ws.get_session(session.id).details.as_dict()["jobPriority"] == "Basic"
    session.close()
