"""The official general-superstaq client against `runner emulate superstaq`: both API versions.

These prove the emulator speaks the real protocol (paths, bodies, headers, status codes and
the shapes the client's pydantic models validate), so our own client, tested against the same
emulator, speaks it too.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import general_superstaq as gss
import pytest
from general_superstaq.serialization import bytes_to_str
from general_superstaq.superstaq_client import _SuperstaqClient, _SuperstaqClientV3
from qiskit import QuantumCircuit, qpy

from runner import emulators
from runner.emulators.server import EmulatorServer

KEY = "emulator-key"


def qpy_b64(circuits: Sequence[QuantumCircuit]) -> str:
    """The circuits as qiskit-superstaq sends them: a QPY file in general-superstaq's base64 (not runner's helper)."""
    buffer = io.BytesIO()
    qpy.dump(list(circuits), buffer)
    encoded: str = bytes_to_str(buffer.getvalue())
    return encoded


def bell() -> QuantumCircuit:
    circuit = QuantumCircuit(2, 2, name="bell")
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.measure([0, 1], [0, 1])
    return circuit


def flip() -> QuantumCircuit:
    """Measures 1 on qubit 0 and 0 on qubit 1: qiskit key '01', big-endian key '10'."""
    circuit = QuantumCircuit(2, 2, name="flip")
    circuit.x(0)
    circuit.measure([0, 1], [0, 1])
    return circuit


def wide() -> QuantumCircuit:
    circuit = QuantumCircuit(21, 1, name="wide")
    circuit.measure(0, 0)
    return circuit


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    running = emulators.start("superstaq")
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def v2(server: EmulatorServer) -> _SuperstaqClient:
    return _SuperstaqClient(client_name="qiskit-superstaq", api_key=KEY, remote_host=server.url, max_retry_seconds=1)


@pytest.fixture
def v3(server: EmulatorServer) -> _SuperstaqClientV3:
    with pytest.warns(UserWarning, match="v0.3.0 of the Superstaq endpoint is currently under development"):
        return _SuperstaqClientV3(
            client_name="qiskit-superstaq",
            api_key=KEY,
            remote_host=server.url,
            api_version="v0.3.0",
            circuit_type=gss.models.CircuitType.QISKIT,
            max_retry_seconds=1,
        )


def until(fetch: Callable[[], Any], done: Callable[[Any], bool], timeout: float = 20) -> Any:
    deadline = time.monotonic() + timeout
    value = fetch()
    while not done(value) and time.monotonic() < deadline:
        time.sleep(0.05)
        value = fetch()
    return value


# v0.2.0 ------------------------------------------------------------------------------------------
def test_v2_multi_circuit_job_runs_and_reports_big_endian_samples(v2: _SuperstaqClient) -> None:
    created = v2.create_job({"qiskit_circuits": qpy_b64([bell(), flip()])}, repetitions=50, verbatim=False)
    ids = created["job_ids"]
    assert len(ids) == 2 and created["status"] == "Queued"
    jobs = until(lambda: v2.fetch_jobs(ids), lambda js: all(j["status"] == "Done" for j in js.values()))
    first, second = jobs[ids[0]], jobs[ids[1]]
    assert set(first["samples"]) <= {"00", "11"} and sum(first["samples"].values()) == 50
    assert second["samples"] == {"10": 50}
    assert (second["shots"], second["num_qubits"], second["target"]) == (50, 2, "ss_unconstrained_simulator")
    assert second["data"] == {"histogram": {"10": 1.0}}


def test_v2_circuit_too_wide_fails_at_submission_with_its_reason(v2: _SuperstaqClient) -> None:
    created = v2.create_job({"qiskit_circuits": qpy_b64([wide()])}, repetitions=10)
    assert created["status"] == "Failed"
    (job,) = v2.fetch_jobs(created["job_ids"]).values()
    assert job["status"] == "Failed"
    assert job["failure"] == {"error": "circuit 'wide' uses 21 qubits; ss_unconstrained_simulator has 20"}


@pytest.mark.parametrize(
    ("target", "spelling"), [("ibmq_fez_qpu", "Canceled"), ("ss_unconstrained_simulator", "Cancelled")]
)
def test_v2_cancel_one_circuit_spelled_by_vendor(
    v2: _SuperstaqClient, server: EmulatorServer, target: str, spelling: str
) -> None:
    server.emulator.faults.queue_delay = 30
    ids = v2.create_job({"qiskit_circuits": qpy_b64([bell(), bell()])}, repetitions=10, target=target)["job_ids"]
    assert v2.cancel_jobs([ids[1]]) == [ids[1]]
    jobs = v2.fetch_jobs(ids)
    assert [jobs[i]["status"] for i in ids] == ["Queued", spelling]
    assert v2.cancel_jobs([ids[1]]) == []  # already cancelled: nothing left to cancel


def test_v2_targets_info_balance_user_and_version(v2: _SuperstaqClient) -> None:
    simulators = {t.target for t in v2.get_targets(simulator=True)}
    assert simulators == {"ss_unconstrained_simulator", "aws_sv1_simulator"}
    retired = [t.target for t in v2.get_targets(retired=True)]
    assert retired == ["ibmq_brisbane_qpu"]
    info = v2.target_info("ibmq_fez_qpu")["target_info"]
    assert (info["num_qubits"], info["simulator"]) == (16, False)
    assert v2.get_balance() == {"balance": 1000.0}
    assert [u["email"] for u in v2.get_user_info()] == ["emulator@example.com"]
    assert v2.get_superstaq_version() == {"superstaq_version": "runner-emulator"}


def test_v2_bad_requests_get_the_message_the_client_shows(v2: _SuperstaqClient) -> None:
    with pytest.raises(gss.SuperstaqServerException) as info:
        v2.create_job({"cirq_circuits": "[]"}, repetitions=1)
    assert info.value.status_code == 400
    assert "this emulator runs qiskit circuits only: send qiskit_circuits (base64 QPY)" in info.value.message
    with pytest.raises(gss.SuperstaqServerException) as info:
        v2.create_job({"qiskit_circuits": qpy_b64([bell()])}, repetitions=1, target="ibmq_brisbane_qpu")
    assert "'ibmq_brisbane_qpu' is retired and accepts no jobs" in info.value.message


def test_wrong_key_is_401_without_the_terms_of_use_prompt(server: EmulatorServer, monkeypatch: Any) -> None:
    monkeypatch.setattr("builtins.input", lambda *a: pytest.fail("the client prompted on stdin"))
    client = _SuperstaqClient(
        client_name="qiskit-superstaq", api_key="wrong", remote_host=server.url, max_retry_seconds=1
    )
    with pytest.raises(gss.SuperstaqServerException) as info:
        client.get_balance()
    assert info.value.status_code == 401
    assert '"Not authorized" returned by Superstaq API' in info.value.message


# v0.3.0 ------------------------------------------------------------------------------------------
def test_v3_job_with_tags_and_metadata_round_trips(v3: _SuperstaqClientV3) -> None:
    created = v3.create_job(
        {"qiskit_circuits": qpy_b64([bell(), flip()])}, repetitions=40, tag=["study:peer"], metadata={"owner": "runner"}
    )
    assert created["num_circuits"] == 2
    job_id = str(created["job_id"])
    data = until(lambda: v3.fetch_jobs([job_id])[job_id], lambda d: d["statuses"] == ["completed", "completed"])
    assert data["counts"][1] == {"10": 40}
    assert (data["tags"], data["metadata"], data["shots"]) == (["study:peer"], {"owner": "runner"}, [40, 40])
    assert data["circuit_type"] == gss.models.CircuitType.QISKIT


def test_v3_job_class_aggregates_statuses_by_priority(v3: _SuperstaqClientV3, server: EmulatorServer) -> None:
    created = v3.create_job({"qiskit_circuits": qpy_b64([bell(), wide()])}, repetitions=10)
    job = gss.job.Job(v3, str(created["job_id"]))
    job.wait_until_terminal_state(timeout_seconds=20, polling_seconds=0.05)
    assert job.job_data.statuses == ["completed", "failed"]
    assert job._status() == gss.models.CircuitStatus.FAILED  # failed outranks completed
    with pytest.raises(gss.SuperstaqUnsuccessfulJobException) as info:
        job._check_if_unsuccessful()
    assert "Circuit 1 - circuit 'wide' uses 21 qubits; ss_unconstrained_simulator has 20" in str(info.value)

    server.emulator.faults.queue_delay = 30
    queued = gss.job.Job(v3, str(v3.create_job({"qiskit_circuits": qpy_b64([bell()])}, repetitions=5)["job_id"]))
    assert queued._status() == gss.models.CircuitStatus.AWAITING_SIMULATION
    queued.cancel()
    assert gss.job.Job(v3, str(queued.job_id()))._status() == gss.models.CircuitStatus.CANCELLED


def test_v3_cancel_targets_info_balance_user(v3: _SuperstaqClientV3, server: EmulatorServer) -> None:
    server.emulator.faults.queue_delay = 30
    job_id = str(v3.create_job({"qiskit_circuits": qpy_b64([bell()])}, repetitions=5, target="qtm_h2-1_qpu")["job_id"])
    assert v3.fetch_jobs([job_id])[job_id]["statuses"] == ["pending"]
    assert v3.cancel_jobs([job_id]) == [job_id]
    assert v3.fetch_jobs([job_id])[job_id]["statuses"] == ["cancelled"]
    names = [t.target for t in v3.get_targets(simulator=False)]
    assert names == ["ibmq_fez_qpu", "cq_sqale_qpu", "qtm_h2-1_qpu"]  # retired ones hidden by default
    assert v3.target_info("cq_sqale_qpu")["target_info"]["num_qubits"] == 12
    assert v3.get_balance() == {"balance": 1000.0}
    assert [u["email"] for u in v3.get_user_info()] == ["emulator@example.com"]


def test_v3_sees_jobs_submitted_through_v2(v2: _SuperstaqClient, v3: _SuperstaqClientV3) -> None:
    ids = v2.create_job({"qiskit_circuits": qpy_b64([bell(), flip()])}, repetitions=5)["job_ids"]
    job_id = ids[0].rpartition("_")[0]
    data = v3.fetch_jobs([job_id])[job_id]
    assert data["num_circuits"] == 2 and [f"{job_id}_{i}" for i in range(2)] == ids
