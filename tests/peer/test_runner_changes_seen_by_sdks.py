"""What runner's apply does (create, retag, rename, close, cancel), read back through the official SDKs: the
check that a change runner reports is a change the service shows, made by a client that shares no code with ours."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("azure.quantum")
pytest.importorskip("pasqal_cloud")

from azure.core.credentials import AzureKeyCredential
from azure.quantum import Workspace
from conftest import EXAMPLES, Ran
from pasqal_cloud.authentication import TokenProvider
from pasqal_cloud.endpoints import Endpoints
from pasqal_cloud.pasqal_cloud_client import PasqalCloudClient

from runner import emulators
from runner.emulators.server import EmulatorServer, Faults

Cli = Callable[..., Ran]
PROJECT = "00000000-0000-0000-0000-0000000000aa"
AZURE = (
    "{{provider: azure, target: ionq.simulator, endpoint: '{url}', workspace: {{subscription_id: "
    "00000000-0000-0000-0000-000000000001, resource_group: rg, name: ws, location: eastus}}, "
    "credentials: {{api_key_env: AZURE_QUANTUM_API_KEY}}}}"
)
PASQAL = (
    "{{provider: pasqal, target: EMU_FREE, endpoint: '{url}/core', project_id: " + PROJECT + ", "
    "credentials: {{token_env: PASQAL_TOKEN}}}}"
)


class StaticToken(TokenProvider):
    def get_token(self) -> str:
        return "peer-token"


@pytest.fixture
def queued(request: pytest.FixtureRequest) -> Iterator[EmulatorServer]:
    server = emulators.start(request.param, faults=Faults(queue_delay=3600))  # everything stays cancellable
    try:
        yield server
    finally:
        server.stop()


def remote_id(cli: Cli, m: Path, address: str) -> str:
    rows = json.loads(cli("status", address, "-m", str(m), "--json").out)  # a batch's address selects its jobs too
    return next(str(r["remote_id"]) for r in rows if r["address"] == address)


@pytest.mark.parametrize("queued", ["azure"], indirect=True)
def test_azure_sdk_sees_runners_jobs_renames_retags_closes_and_cancels(
    queued: EmulatorServer, tmp_path: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AZURE_QUANTUM_API_KEY", "emulator-key")
    shutil.copytree(EXAMPLES / "circuits", tmp_path / "circuits")
    ws = Workspace(
        subscription_id="00000000-0000-0000-0000-000000000001",
        resource_group="rg",
        name="ws",
        location="eastus",
        credential=AzureKeyCredential("emulator-key"),
        _quantum_endpoint=f"{queued.url}/",
    )
    head = f"version: 1\nproject: peer\ntargets:\n  t: {AZURE.format(url=queued.url)}\n"
    body = (
        "sessions:\n  s: {{target: t, job_failure_policy: continue}}\n"
        "jobs:\n  j: {{target: t, session: s, program: circuits/bell.qasm, shots: 10, tags: {tags}, name: {name}}}\n"
    )
    m = tmp_path / "m.yaml"
    m.write_text(head + body.format(tags="[a]", name="first"))
    assert cli("apply", str(m), "--yes").code == 0
    job = ws.get_job(remote_id(cli, m, "job.j"))
    session = ws.get_session(remote_id(cli, m, "session.s"))
    assert (job.details.name, job.details.tags, job.details.session_id) == ("first", ["a"], session.id)
    assert session.details.status in ("Succeeded", "Executing", "Waiting")  # closed by apply once its job was in

    m.write_text(head + body.format(tags="[a, b]", name="second"))
    assert cli("apply", str(m), "--yes").code == 0
    job = ws.get_job(job.id)
    assert (job.details.name, sorted(job.details.tags or [])) == ("second", ["a", "b"])

    assert cli("cancel", "job.j", "-m", str(m)).code == 0
    assert ws.get_job(job.id).details.status in ("Cancelled", "CancellationRequested", "Cancelling")


@pytest.mark.parametrize("queued", ["pasqal"], indirect=True)
def test_pasqal_sdk_sees_runners_batches_grow_retag_close_and_cancel(
    queued: EmulatorServer, tmp_path: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PASQAL_TOKEN", "peer-token")
    shutil.copy(EXAMPLES / "pasqal" / "sequences" / "one_atom.json", tmp_path / "one_atom.json")
    sdk = PasqalCloudClient(
        token_provider=StaticToken(),
        endpoints=Endpoints(core=queued.url + "/core", account=queued.url + "/account"),
        project_id=PROJECT,
    )
    head = f"version: 1\nproject: peer\ntargets:\n  t: {PASQAL.format(url=queued.url)}\n"
    body = (
        "batches:\n  b:\n    target: t\n    sequence: one_atom.json\n    open: {open}\n    tags: {tags}\n"
        "    runs: 10\n    matrix: {{omega: {omegas}}}\n"
    )
    m = tmp_path / "m.yaml"
    m.write_text(head + body.format(open="true", tags="[a]", omegas="[1.0, 2.0]"))
    assert cli("apply", str(m), "--yes").code == 0
    batch_id = remote_id(cli, m, "batch.b")
    seen: Any = sdk.get_batch(batch_id)
    user_tags = [t for t in seen.tags or [] if not t.startswith("runner-token:")]
    assert (seen.open, user_tags, len(seen.ordered_jobs)) == (True, ["a"], 2)

    m.write_text(head + body.format(open="false", tags="[b]", omegas="[1.0, 2.0, 3.0]"))
    assert cli("apply", str(m), "--yes").code == 0  # one apply: a job added, retagged, closed
    seen = sdk.get_batch(batch_id)
    user_tags = [t for t in seen.tags or [] if not t.startswith("runner-token:")]
    omegas = sorted(float((j.variables or {})["omega"]) for j in seen.ordered_jobs)
    assert (seen.open, user_tags, omegas) == (False, ["b"], [1.0, 2.0, 3.0])

    assert cli("cancel", "batch.b", "-m", str(m)).code == 0
    assert sdk.get_batch(batch_id).status == "CANCELED"
