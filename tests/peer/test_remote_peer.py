"""The official SDKs and `runner remote ...` agree on what a service holds.

Each test creates objects with the SDK and lists them with runner, then the other way round: runner
applies a manifest and the SDK's own listing (with its own filters) finds what runner's state names.
"""

from __future__ import annotations

import io
import json
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("azure.quantum")
pytest.importorskip("pasqal_cloud")
pytest.importorskip("general_superstaq")

import general_superstaq as gss
from azure.core.credentials import AzureKeyCredential
from azure.quantum import Workspace
from general_superstaq.serialization import bytes_to_str
from general_superstaq.superstaq_client import _SuperstaqClientV3
from pasqal_cloud.authentication import TokenProvider
from pasqal_cloud.endpoints import Endpoints
from pasqal_cloud.pasqal_cloud_client import PasqalCloudClient
from pasqal_cloud.utils.filters import BatchFilters, JobFilters, PaginationParams
from qiskit import QuantumCircuit, qpy

import runner
from runner import emulators
from runner.emulators.server import EmulatorServer

ROOT = Path(__file__).resolve().parents[2]
PROJECT = "00000000-0000-0000-0000-0000000000aa"
ONE_ATOM = (ROOT / "examples" / "pasqal" / "sequences" / "one_atom.json").read_text()
BELL_JSON = {"qubits": 2, "circuit": [{"gate": "h", "target": 0}, {"gate": "cnot", "control": 0, "target": 1}]}


def until(check: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def applied(folder: Path, example: str, url: str, old: str, edit: Callable[[str], str] = str) -> str:
    shutil.copytree(ROOT / "examples" / example, folder / example)
    path = folder / example / f"{example}.yaml"
    path.write_text(edit(path.read_text().replace(old, url)))
    assert runner.apply(str(path)) is not None
    return str(path)


# pasqal ------------------------------------------------------------------------------------------
class StaticToken(TokenProvider):
    def get_token(self) -> str:
        return "peer-token"


@pytest.fixture
def pasqal(monkeypatch: pytest.MonkeyPatch) -> Iterator[EmulatorServer]:
    monkeypatch.setenv("PASQAL_TOKEN", "t")
    server = emulators.start("pasqal")
    yield server
    server.stop()


def test_pasqal_sdk_and_runner_list_the_same_batches_and_jobs(tmp_path: Path, pasqal: EmulatorServer) -> None:
    sdk = PasqalCloudClient(
        token_provider=StaticToken(),
        endpoints=Endpoints(core=pasqal.url + "/core", account=pasqal.url + "/account"),
        project_id=PROJECT,
    )
    made = [
        sdk.create_batch(ONE_ATOM, jobs=[{"runs": 10 * (i + 1), "variables": {"omega": 1.0}}], tags=["peer"])
        for i in range(3)
    ]
    m = applied(tmp_path, "pasqal", pasqal.url, "http://127.0.0.1:8766")
    # what the SDK made, listed by runner with the same filter
    theirs = sdk.get_batches(BatchFilters(tag="peer"), PaginationParams(limit=100)).results
    listed = runner.remote_batches("emu", manifest=m, tag=["peer"], all_=True)
    assert [r.item.remote_id for r in listed.rows] == [b.id for b in theirs]  # both newest first
    assert sorted(b.id for b in made) == sorted(r.item.remote_id for r in listed.rows)
    assert {r.managed_as for r in listed.rows} == {None}
    # what runner made, found by the SDK's own listing
    batch_id = runner.status(["batch.rabi"], manifest=m)[0]["remote_id"]
    found = sdk.get_batches(BatchFilters(tag="example:pasqal")).results
    assert [b.id for b in found] == [batch_id]
    sdk_jobs = sdk.get_jobs(JobFilters(batch_id=batch_id)).results
    ours = runner.remote_jobs("emu", manifest=m, in_="batch.rabi", all_=True)
    assert sorted(j.id for j in sdk_jobs) == sorted(r.item.remote_id for r in ours.rows)
    assert {r.managed_as for r in ours.rows} == {r["address"] for r in runner.status(["batch.rabi.job"], manifest=m)}
    until(lambda: all(b.status == "DONE" for b in (sdk.get_batch(x.id) for x in made)))
    done = runner.remote_batches("emu", manifest=m, status=["DONE"], tag=["peer"])
    assert sorted(r.item.remote_id for r in done.rows) == sorted(b.id for b in made)


# azure -------------------------------------------------------------------------------------------
@pytest.fixture
def azure(monkeypatch: pytest.MonkeyPatch) -> Iterator[EmulatorServer]:
    monkeypatch.setenv("AZURE_QUANTUM_API_KEY", "emulator-key")
    server = emulators.start("azure")
    yield server
    server.stop()


def workspace(server: EmulatorServer) -> Workspace:
    return Workspace(
        subscription_id="00000000-0000-0000-0000-000000000001",
        resource_group="runner-examples",
        name="runner-workspace",
        location="eastus",
        credential=AzureKeyCredential("emulator-key"),
        _quantum_endpoint=f"{server.url}/",
    )


def test_azure_sdk_and_runner_list_the_same_jobs_and_sessions(tmp_path: Path, azure: EmulatorServer) -> None:
    m = applied(tmp_path, "azure", azure.url, "http://127.0.0.1:8765")
    ws = workspace(azure)
    target = ws.get_targets("ionq.simulator")
    with target.open_session(name="peer-session", job_failure_policy="Continue") as session:
        job = target.submit(BELL_JSON, name="peer-job", shots=50)
        job.wait_until_completed(timeout_secs=30)
    # the SDK's job, listed by runner: by name prefix, and as the session's jobs
    named = runner.remote_jobs("ionq", manifest=m, name="peer-")
    assert [(r.item.remote_id, r.managed_as) for r in named.rows] == [(job.id, None)]
    inside = runner.remote_jobs("ionq", manifest=m, in_=session.id)
    assert [r.item.remote_id for r in inside.rows] == [j.id for j in session.list_jobs()]
    sessions = runner.remote_sessions("ionq", manifest=m, all_=True)
    by_runner = {r.item.remote_id: r.managed_as for r in sessions.rows}
    by_sdk = {s.id for s in ws.list_sessions()}
    assert set(by_runner) == by_sdk and by_runner[session.id] is None
    # runner's jobs and session, found by the SDK's own listing
    recorded = {r["address"]: r["remote_id"] for r in runner.status(manifest=m)}
    assert by_runner[recorded["session.calibration"]] == "session.calibration"
    sdk_all = {j.id for j in ws.list_jobs(target=["ionq.simulator"])}
    ours = {r.item.remote_id for r in runner.remote_jobs("ionq", manifest=m, all_=True).rows}
    assert sdk_all == ours and {v for k, v in recorded.items() if k.startswith("job.")} <= sdk_all
    in_calibration = {j.id for j in ws.list_session_jobs(recorded["session.calibration"])}
    runner_view = runner.show("session.calibration", manifest=m)["remote"]["jobs"]
    assert {j["remote_id"] for j in runner_view} == in_calibration
    assert {j["managed_as"] for j in runner_view} == {a for a in recorded if a.startswith(("job.bell", "job.rotation"))}


# superstaq ---------------------------------------------------------------------------------------
@pytest.fixture
def superstaq(monkeypatch: pytest.MonkeyPatch) -> Iterator[EmulatorServer]:
    monkeypatch.setenv("SUPERSTAQ_API_KEY", "emulator-key")
    server = emulators.start("superstaq")
    yield server
    server.stop()


def bell() -> QuantumCircuit:
    circuit = QuantumCircuit(2, 2, name="bell")
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.measure([0, 1], [0, 1])
    return circuit


def qpy_b64(circuit: QuantumCircuit) -> str:
    buffer = io.BytesIO()
    qpy.dump([circuit], buffer)
    encoded: str = bytes_to_str(buffer.getvalue())
    return encoded


def test_superstaq_sdk_and_runner_list_the_same_jobs(tmp_path: Path, superstaq: EmulatorServer) -> None:
    with pytest.warns(UserWarning, match="v0.3.0 of the Superstaq endpoint"):
        sdk = _SuperstaqClientV3(
            client_name="qiskit-superstaq",
            api_key="emulator-key",
            remote_host=superstaq.url,
            api_version="v0.3.0",
            circuit_type=gss.models.CircuitType.QISKIT,
            max_retry_seconds=1,
        )
    made = [str(sdk.create_job({"qiskit_circuits": qpy_b64(bell())}, repetitions=10, tag="peer")["job_id"])]
    made.append(str(sdk.create_job({"qiskit_circuits": qpy_b64(bell())}, repetitions=10, tag="peer")["job_id"]))
    v3 = applied(
        tmp_path,
        "superstaq",
        superstaq.url,
        "http://127.0.0.1:8767",
        lambda text: text.replace("# api_version: v0.3.0", "api_version: v0.3.0"),
    )
    # the SDK's jobs, listed by runner with the tag filter
    listed = runner.remote_jobs("ss", manifest=v3, tag=["peer"])
    assert sorted(r.item.remote_id for r in listed.rows) == sorted(made)
    # the SDK's own JobQuery (its encoding of the query) finds the same jobs runner lists, and runner's own
    query = gss.models.JobQuery.model_validate({"tags": ["peer"]}).model_dump(exclude_none=True)
    theirs: dict[str, Any] = sdk.get_request("/client/job/qiskit", query)
    assert sorted(theirs) == sorted(made)
    ours = runner.remote_jobs("ss", manifest=v3, all_=True)
    mine = {r["remote_id"] for r in runner.status(manifest=v3)}
    by_sdk = sdk.fetch_jobs(sorted(mine))
    assert set(by_sdk) == mine and mine <= {r.item.remote_id for r in ours.rows}
    managed = {r.item.remote_id: r.managed_as for r in ours.rows}
    assert {managed[i] for i in mine} == {r["address"] for r in runner.status(manifest=v3)}
    assert json.dumps(sorted(managed[i] or "" for i in made)) == '["", ""]'
