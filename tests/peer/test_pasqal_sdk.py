"""The official pasqal-cloud SDK (0.24) against our emulator: proof that the emulator speaks the real protocol.

The SDK's own waiting backs off 2 s, 4 s, 8 s..., so these tests create with wait=False and poll briefly.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("pasqal_cloud")

from pasqal_cloud.authentication import TokenProvider
from pasqal_cloud.endpoints import Endpoints, TokenProviderConf
from pasqal_cloud.errors import BatchClosingError, JobCreationError
from pasqal_cloud.job import CreateJob, Job
from pasqal_cloud.pasqal_cloud_client import PasqalCloudClient
from pasqal_cloud.utils.constants import JobStatus
from pasqal_cloud.utils.filters import (
    BatchFilters,
    CancelJobFilters,
    JobFilters,
    PaginationParams,
    RebatchFilters,
)

from runner import emulators
from runner.emulators.pasqal.app import PasqalEmulator
from runner.emulators.server import EmulatorServer

PROJECT = "00000000-0000-0000-0000-0000000000aa"
SEQUENCES = Path(__file__).resolve().parents[2] / "examples" / "pasqal" / "sequences"
ONE_ATOM = (SEQUENCES / "one_atom.json").read_text()
HALF = {"omega": 3.141592653589793}  # a pi/2 pulse on one atom: "0" or "1"
FINAL = {"DONE", "ERROR", "CANCELED", "TIMED_OUT"}


class StaticToken(TokenProvider):
    def get_token(self) -> str:
        return "peer-test-token"


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    running = emulators.start("pasqal")
    try:
        yield running
    finally:
        running.stop()


def endpoints(server: EmulatorServer) -> Endpoints:
    return Endpoints(core=server.url + "/core", account=server.url + "/account")


@pytest.fixture
def client(server: EmulatorServer) -> PasqalCloudClient:
    return PasqalCloudClient(token_provider=StaticToken(), endpoints=endpoints(server), project_id=PROJECT)


def settle(client: PasqalCloudClient, batch_id: str, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        batch = client.get_batch(batch_id)
        if batch.status in FINAL or time.monotonic() > deadline:
            return batch
        time.sleep(0.05)


def jobs(*omegas: float, runs: int = 20) -> list[CreateJob]:
    return [{"runs": runs, "variables": {"omega": w}} for w in omegas]


def omega(job: Job) -> Any:
    """The omega a job was created with (the SDK types a job's variables as optional)."""
    assert job.variables is not None
    return job.variables["omega"]


def test_closed_batch_with_tags_runs_and_gives_results(client: PasqalCloudClient) -> None:
    batch = client.create_batch(ONE_ATOM, jobs=jobs(HALF["omega"], runs=40), tags=["peer", "closed"], wait=False)
    assert batch.status == "PENDING" and batch.tags == ["peer", "closed"] and not batch.open
    assert [j.runs for j in batch.ordered_jobs] == [40]
    done = settle(client, batch.id)
    assert done.status == "DONE"
    assert done.sequence_builder == ONE_ATOM
    job = done.ordered_jobs[0]
    assert job.status == "DONE" and job.variables == HALF
    assert set(job.result) <= {"0", "1"} and sum(job.result.values()) == 40
    assert len(job.full_result["raw"]) == 40
    assert client.get_batch_status(batch.id).value == "DONE"


def test_open_batch_takes_jobs_until_closed(client: PasqalCloudClient) -> None:
    batch = client.create_batch(ONE_ATOM, jobs=jobs(1.0), open=True, wait=False)
    assert batch.open
    grown = client.add_jobs(batch.id, jobs(2.0, 3.0))
    assert [omega(j) for j in grown.ordered_jobs] == [1.0, 2.0, 3.0]
    time.sleep(0.3)
    assert client.get_batch(batch.id).status != "DONE"  # an open batch waits for more jobs
    client.close_batch(batch.id)
    done = settle(client, batch.id)
    assert done.status == "DONE" and not done.open
    assert [j.status for j in done.ordered_jobs] == ["DONE", "DONE", "DONE"]
    with pytest.raises(JobCreationError) as caught:
        client.add_jobs(batch.id, jobs(4.0))
    assert f"batch {batch.id} is closed: it accepts no more jobs" in str(caught.value)


def test_set_batch_tags_replaces_them(client: PasqalCloudClient) -> None:
    batch = client.create_batch(ONE_ATOM, jobs=jobs(1.0), tags=["a"], wait=False)
    updated = client.set_batch_tags(batch.id, ["b", "c"])
    assert updated.tags == ["b", "c"]
    assert client.get_batch(batch.id).tags == ["b", "c"]


def test_cancel_a_queued_batch(server: EmulatorServer, client: PasqalCloudClient) -> None:
    server.emulator.faults.queue_delay = 30
    batch = client.create_batch(ONE_ATOM, jobs=jobs(1.0, 2.0), wait=False)
    cancelled = client.cancel_batch(batch.id)
    assert cancelled.status == "CANCELED"
    assert [j.status for j in cancelled.ordered_jobs] == ["CANCELED", "CANCELED"]
    assert client.get_batch_status(batch.id).value == "CANCELED"
    with pytest.raises(BatchClosingError):
        client.close_batch("00000000-0000-0000-0000-00000000dead")


def test_cancel_jobs_with_a_filter(server: EmulatorServer, client: PasqalCloudClient) -> None:
    server.emulator.faults.queue_delay = 30
    batch = client.create_batch(ONE_ATOM, jobs=[*jobs(1.0, runs=10), *jobs(2.0, 3.0, runs=50)], wait=False)
    answer = client.cancel_jobs(batch.id, CancelJobFilters(min_runs=20))
    assert sorted(omega(j) for j in answer.jobs) == [2.0, 3.0]
    assert answer.errors == {}
    statuses = [j.status for j in client.get_batch(batch.id).ordered_jobs]
    assert statuses == ["PENDING", "CANCELED", "CANCELED"]


def test_rebatch_failed_jobs_keeps_lineage(server: EmulatorServer, client: PasqalCloudClient) -> None:
    server.emulator.faults.job_failure_rate = 1.0
    batch = client.create_batch(ONE_ATOM, jobs=jobs(1.0, 2.0), wait=False)
    failed = settle(client, batch.id)
    assert failed.status == "DONE"  # a batch is DONE even when its jobs failed
    assert [j.errors for j in failed.ordered_jobs] == [["injected failure (job_failure_rate)"]] * 2
    server.emulator.faults.job_failure_rate = 0.0
    retried = client.rebatch(batch.id, RebatchFilters(status=[JobStatus.ERROR]))
    assert retried.id != batch.id and retried.parent_id == batch.id
    assert [j.parent_id for j in retried.ordered_jobs] == [j.id for j in failed.ordered_jobs]
    assert [j.status for j in settle(client, retried.id).ordered_jobs] == ["DONE", "DONE"]


def test_paginated_lists_with_filters(server: EmulatorServer, client: PasqalCloudClient) -> None:
    server.emulator.faults.queue_delay = 30
    first = client.create_batch(ONE_ATOM, jobs=jobs(1.0, 2.0, 3.0, 4.0, 5.0), tags=["pages"], wait=False)
    client.create_batch(ONE_ATOM, jobs=jobs(1.0), open=True, tags=["pages"], wait=False)
    page = client.get_jobs(JobFilters(batch_id=first.id), PaginationParams(offset=0, limit=2))
    assert page.total == 5 and len(page.results) == 2
    last = client.get_jobs(JobFilters(batch_id=first.id), PaginationParams(offset=4, limit=2))
    assert last.total == 5 and len(last.results) == 1
    closed = client.get_batches(BatchFilters(tag="pages", open=False))
    assert [b.id for b in closed.results] == [first.id]
    both = client.get_batches(BatchFilters(tag="pages"), PaginationParams(offset=0, limit=1))
    assert both.total == 2 and len(both.results) == 1


def test_lazy_job_list_follows_pages(server: EmulatorServer, client: PasqalCloudClient) -> None:
    server.emulator.faults.queue_delay = 30
    batch = client.create_batch(ONE_ATOM, jobs=jobs(*[float(i % 4) for i in range(130)], runs=1), wait=False)
    fetched = client.get_batch(batch.id)  # a Batch+ids answer: jobs come from GET /api/v2/jobs, page by page
    assert [j.id for j in fetched.ordered_jobs] == [j.id for j in batch.ordered_jobs]
    stats = server.emulator.stats
    assert stats["GET /core/api/v2/jobs"] == 2


def test_workload_create_get_and_cancel(server: EmulatorServer, client: PasqalCloudClient) -> None:
    made = client.create_workload("qaoa", "EMU_FREE", {"depth": 2})
    assert made.status == "PENDING"
    deadline = time.monotonic() + 10
    while client.get_workload(made.id).status != "DONE" and time.monotonic() < deadline:
        time.sleep(0.05)
    done = client.get_workload(made.id)
    assert done.status == "DONE"
    assert done.result == {"emulated": True, "workload_type": "qaoa", "backend": "EMU_FREE", "config": {"depth": 2}}
    server.emulator.faults.queue_delay = 30
    queued = client.create_workload("qaoa", "EMU_FREE", {})
    assert client.cancel_workload(queued.id).status == "CANCELED"


def test_device_specs_and_projects(client: PasqalCloudClient) -> None:
    specs = client.get_device_specs_dict()
    assert {"FRESNEL", "EMU_FREE"} <= set(specs)
    assert '"name": "AnalogDevice"' in specs["FRESNEL"]
    assert [p.id for p in client.get_all_projects()] == [PROJECT]


def test_password_grant_through_the_token_endpoint(server: EmulatorServer) -> None:
    conf = TokenProviderConf(
        token_endpoint=server.url + "/oauth/token",
        public_client_id="PeZvo7Atx7IVv3iel59asJSb4Ig7vuSB",
        audience="https://apis.pasqal.cloud/account/api/v1",
        realm="pcs-users",
        grant_type="http://auth0.com/oauth/grant-type/password-realm",
    )
    client = PasqalCloudClient(
        username="ada@example.com",
        password="s3cret",
        endpoints=endpoints(server),
        project_id=PROJECT,
        auth_config=conf,
    )
    batch = client.create_batch(ONE_ATOM, jobs=jobs(1.0), wait=False)
    assert client.get_batch(batch.id).id == batch.id
    assert server.emulator.stats["POST /oauth/token"] == 1


def test_wrong_password_is_refused_at_construction() -> None:
    from pasqal_cloud.authentication import TokenProviderError

    running = EmulatorServer(PasqalEmulator(users={"ada@example.com": "right"})).start()
    try:
        conf = TokenProviderConf(
            token_endpoint=running.url + "/oauth/token",
            public_client_id="x",
            audience="x",
            realm="pcs-users",
            grant_type="http://auth0.com/oauth/grant-type/password-realm",
        )
        with pytest.raises(TokenProviderError) as caught:
            PasqalCloudClient(
                username="ada@example.com",
                password="wrong",
                endpoints=endpoints(running),
                project_id=PROJECT,
                auth_config=conf,
            )
        assert "Wrong email or password." in str(caught.value)
    finally:
        running.stop()
