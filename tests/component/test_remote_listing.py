"""Providers list what their services hold: filters applied by the service, pages only as many as needed.

Each emulator counts requests per route (/_admin/stats), so these tests show N matches cost
ceil(N / 100) list calls, and that a filter narrowed the answer on the server (the service's own
total, and fewer pages), not after the fact.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from runner import emulators
from runner.domain.fingerprint import digest
from runner.domain.model import Attrs, Program, Target
from runner.domain.query import Query, Selection
from runner.domain.remote import RemoteRef
from runner.emulators.azure.app import WS as AZURE_WS
from runner.emulators.pasqal.app import PasqalEmulator
from runner.emulators.server import EmulatorServer
from runner.errors import UsageError
from runner.providers.azure.provider import AzureProvider
from runner.providers.base import CancelsMany, CancelsWhere, CircuitResults, Context, Lists, Submission
from runner.providers.pasqal.provider import PasqalProvider
from runner.providers.superstaq.provider import SuperstaqProvider

PROJECT = "00000000-0000-0000-0000-0000000000aa"
ONE_ATOM = (Path(__file__).resolve().parents[2] / "examples" / "pasqal" / "sequences" / "one_atom.json").read_text()
SUB = "00000000-0000-0000-0000-000000000001"
WS = f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Quantum/workspaces/ws"
BELL = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\nh q[0];\ncx q[0], q[1];\nmeasure q -> c;\n'
FLIP = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[1];\ncreg c[1];\nx q[0];\nmeasure q -> c;\n'


def stats(server: EmulatorServer) -> dict[str, int]:
    return dict(httpx.get(f"{server.url}/_admin/stats").json())


def calls(server: EmulatorServer, route: str, before: dict[str, int]) -> int:
    return stats(server).get(route, 0) - before.get(route, 0)


# pasqal ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def pasqal() -> Iterator[EmulatorServer]:
    """260 batches (every other one tagged 'even'), and one batch of 250 jobs with runs 1..250."""
    server = EmulatorServer(PasqalEmulator(simulate=False)).start()
    with httpx.Client(base_url=server.url, headers={"Authorization": "Bearer t"}) as client:
        for i in range(260):
            tags = ["scan", "even"] if i % 2 == 0 else ["scan"]
            body: dict[str, Any] = {"sequence_builder": ONE_ATOM, "jobs": [{"runs": 5, "variables": {"omega": 1.0}}]}
            body |= {"open": False, "device_type": "EMU_FREE", "tags": tags, "project_id": PROJECT}
            client.post("/core/api/v1/batches", json=body).raise_for_status()
        jobs = [{"runs": n, "variables": {"omega": 1.0}} for n in range(1, 251)]
        body = {"sequence_builder": ONE_ATOM, "jobs": jobs, "open": False, "device_type": "EMU_MPS"}
        made = client.post("/core/api/v1/batches", json={**body, "tags": ["big"], "project_id": PROJECT})
        server.big = made.json()["data"]["id"]  # type: ignore[attr-defined]
    yield server
    server.stop()


def pasqal_provider(server: EmulatorServer, device: str = "EMU_FREE") -> PasqalProvider:
    config = {"endpoint": f"{server.url}/core", "credentials": {"token_env": "T"}, "project_id": PROJECT}
    return PasqalProvider(Target("emu", "pasqal", device, {}, config), Context({"T": "t"}, "."))


BATCHES = "GET /core/api/v1/batches"
JOBS = "GET /core/api/v2/jobs"


def test_pasqal_pages_through_260_batches_in_three_calls(pasqal: EmulatorServer) -> None:
    provider = pasqal_provider(pasqal)
    assert isinstance(provider, Lists)
    before = stats(pasqal)
    every = provider.list_remote(Query("batches", limit=None))
    assert (len(every.items), every.total, every.more, every.requests) == (260, 260, False, 3)
    assert calls(pasqal, BATCHES, before) == 3  # ceil(260 / 100), not one per batch
    assert len({i.remote_id for i in every.items}) == 260
    created = [i.created or "" for i in every.items]
    assert created == sorted(created, reverse=True)  # newest first


def test_pasqal_filters_on_the_server(pasqal: EmulatorServer) -> None:
    provider = pasqal_provider(pasqal)
    before = stats(pasqal)
    tagged = provider.list_remote(Query("batches", tags=("even",), limit=None))
    # the service's own total is 130 and two pages brought them: the filter ran there
    assert (len(tagged.items), tagged.total, tagged.requests, tagged.local) == (130, 130, 2, ())
    assert all("even" in i.tags for i in tagged.items)
    assert calls(pasqal, BATCHES, before) == 2
    window = provider.list_remote(Query("batches", tags=("even",), offset=120, limit=50))
    assert (len(window.items), window.more, window.requests) == (10, False, 1)
    assert [i.remote_id for i in window.items] == [i.remote_id for i in tagged.items[120:]]
    other_device = pasqal_provider(pasqal, "EMU_MPS").list_remote(Query("batches", limit=None))
    assert [i.tags for i in other_device.items] == [("big",)]  # batches are listed on the target's device


def test_pasqal_a_second_tag_is_checked_locally_and_said_so(pasqal: EmulatorServer) -> None:
    found = pasqal_provider(pasqal).list_remote(Query("batches", tags=("scan", "even"), limit=20, offset=10))
    assert (len(found.items), found.more, found.total, found.local) == (20, True, None, ("tag (all but the first)",))


def test_pasqal_lists_the_jobs_of_a_batch_with_runs_filters(pasqal: EmulatorServer) -> None:
    provider = pasqal_provider(pasqal)
    big = pasqal.big  # type: ignore[attr-defined]
    before = stats(pasqal)
    jobs = provider.list_remote(Query("jobs", parent=big, limit=None))
    assert (len(jobs.items), jobs.total, jobs.requests) == (250, 250, 3)
    assert calls(pasqal, JOBS, before) == 3
    assert {i.parent_id for i in jobs.items} == {big} and {i.kind for i in jobs.items} == {"batch_job"}
    window = provider.list_remote(Query("jobs", parent=big, min_runs=101, max_runs=200, limit=250))
    assert (window.total, window.requests) == (100, 1)  # 100 match on the server: one page
    assert sorted(i.detail["runs"] for i in window.items) == list(range(101, 201))
    assert window.items[0].detail["variables"] == {"omega": 1.0}


def test_pasqal_refuses_sessions_and_names(pasqal: EmulatorServer) -> None:
    provider = pasqal_provider(pasqal)
    with pytest.raises(UsageError, match="Pasqal Cloud has no sessions"):
        provider.list_remote(Query("sessions"))
    with pytest.raises(UsageError, match="have no name"):
        provider.list_remote(Query("batches", name="x"))


def test_pasqal_reads_one_batch_job_and_a_missing_one(pasqal: EmulatorServer) -> None:
    provider = pasqal_provider(pasqal, "EMU_MPS")
    item = provider.get_remote(RemoteRef("batch", pasqal.big))  # type: ignore[attr-defined]
    assert item is not None and item.kind == "batch" and item.detail["jobs_count"] == 250
    assert provider.get_remote(RemoteRef("batch", str(uuid.uuid4()))) is None


@pytest.fixture
def fresh_pasqal() -> Iterator[EmulatorServer]:
    server = EmulatorServer(PasqalEmulator(simulate=False)).start()
    yield server
    server.stop()


def batch(server: EmulatorServer, runs: list[int], **extra: Any) -> dict[str, Any]:
    jobs = [{"runs": n, "variables": {"omega": 1.0}} for n in runs]
    body = {"sequence_builder": ONE_ATOM, "jobs": jobs, "open": False, "device_type": "EMU_FREE", "project_id": PROJECT}
    answer = httpx.post(
        f"{server.url}/core/api/v1/batches", json={**body, **extra}, headers={"Authorization": "Bearer t"}
    )
    answer.raise_for_status()
    return dict(answer.json()["data"])


def test_pasqal_cancels_a_batchs_jobs_by_filter_in_one_call(fresh_pasqal: EmulatorServer) -> None:
    fresh_pasqal.emulator.faults.queue_delay = 60  # everything stays pending
    made = batch(fresh_pasqal, [10, 20, 30, 40])
    provider = pasqal_provider(fresh_pasqal)
    assert isinstance(provider, CancelsWhere)
    before = stats(fresh_pasqal)
    answer = provider.cancel_where(RemoteRef("batch", made["id"]), Selection(statuses=("PENDING",), min_runs=25))
    assert calls(fresh_pasqal, "PATCH /core/api/v2/batches/(?P<id>[^/]+)/cancel/jobs", before) == 1
    assert sorted(o.raw_status for o in answer.cancelled) == ["CANCELED", "CANCELED"]
    jobs = provider.list_remote(Query("jobs", parent=made["id"], limit=None)).items
    assert sorted((j.detail["runs"], j.raw_status) for j in jobs) == [
        (10, "PENDING"),
        (20, "PENDING"),
        (30, "CANCELED"),
        (40, "CANCELED"),
    ]
    with pytest.raises(UsageError, match="Pasqal cancels only pending jobs"):
        provider.cancel_where(RemoteRef("batch", made["id"]), Selection(statuses=("RUNNING",)))


def test_pasqal_cancels_many_batches_in_one_call(fresh_pasqal: EmulatorServer) -> None:
    fresh_pasqal.emulator.faults.queue_delay = 60
    ids = [batch(fresh_pasqal, [5])["id"] for _ in range(3)]
    provider = pasqal_provider(fresh_pasqal)
    assert isinstance(provider, CancelsMany)
    before = stats(fresh_pasqal)
    answer = provider.cancel_many([RemoteRef("batch", i) for i in ids])
    assert calls(fresh_pasqal, "PATCH /core/api/v1/batches/cancel", before) == 1
    assert sorted(o.remote_id for o in answer.cancelled) == sorted(ids) and answer.errors == {}
    assert {o.raw_status for o in answer.cancelled} == {"CANCELED"}
    assert {c.raw_status for o in answer.cancelled for c in o.children} == {"CANCELED"}
    again = provider.cancel_many([RemoteRef("batch", ids[0])])
    assert again.cancelled == () and again.errors == {ids[0]: "batch is already CANCELED"}


# azure -------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def azure() -> Iterator[EmulatorServer]:
    """200 jobs the service failed (no input blob), 20 that ran; two sessions."""
    server = emulators.start("azure")
    headers = {"x-ms-quantum-api-key": "emulator-key"}
    with httpx.Client(base_url=server.url, headers=headers, params={"api-version": "2025-12-01-preview"}) as c:
        for i in range(200):
            body: dict[str, Any] = {"name": f"scan-{i:03d}", "containerUri": "http://x/c"}
            body |= {"inputDataFormat": "ionq.circuit.v1"}
            body |= {"providerId": "ionq", "target": "ionq.simulator", "itemType": "Job", "tags": ["scan"]}
            c.put(f"{WS}/jobs/{uuid.uuid4()}", json=body).raise_for_status()
        for name in ("calib", "other"):
            body = {"name": name, "providerId": "ionq", "target": "ionq.simulator", "itemType": "Session"}
            c.put(f"{WS}/sessions/{uuid.uuid4()}", json=body).raise_for_status()
    provider = azure_provider(server)
    for i in range(20):
        provider.create(azure_job(f"job.ok{i}"))
    provider.shutdown()
    yield server
    server.stop()


def azure_provider(server: EmulatorServer, target: str = "ionq.simulator") -> AzureProvider:
    workspace = {"subscription_id": SUB, "resource_group": "rg", "name": "ws", "location": "eastus"}
    config = {"workspace": workspace, "endpoint": server.url, "credentials": {"api_key_env": "K"}}
    return AzureProvider(Target("ionq", "azure", target, {}, config), Context({"K": "emulator-key"}, "."))


def azure_job(address: str, parent: RemoteRef | None = None) -> Submission:
    spec = {"kind": "job", "shots": 50, "params": {}, "options": {}}
    program = Program("bell.qasm", BELL, "qasm2", digest(BELL))
    tok = uuid.uuid4().hex
    return Submission(address, "job", 1, tok, digest(spec), spec, Attrs(("ok",), name=address), (program,), parent)


def settled(provider: Lists, query: Query, count: int) -> Any:
    deadline = time.monotonic() + 20
    while True:
        found = provider.list_remote(query)
        if len(found.items) == count or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def test_azure_follows_nextlink_only_as_far_as_the_window(azure: EmulatorServer) -> None:
    provider = azure_provider(azure)
    route = f"GET {AZURE_WS}/jobs"  # the emulator counts requests per route pattern
    before = stats(azure)
    every = provider.list_remote(Query("jobs", limit=None))
    assert (len(every.items), every.more, every.requests) == (220, False, 3)  # ceil(220 / 100)
    assert calls(azure, route, before) == 3
    window = provider.list_remote(Query("jobs", limit=150))
    assert (len(window.items), window.more, window.requests) == (150, True, 2)
    assert calls(azure, route, before) == 5
    assert [i.remote_id for i in window.items] == [i.remote_id for i in every.items[:150]]


def test_azure_filters_by_state_and_name_on_the_server(azure: EmulatorServer) -> None:
    provider = azure_provider(azure)
    failed = provider.list_remote(Query("jobs", statuses=("failed",), limit=None))
    assert (len(failed.items), failed.requests, failed.local) == (200, 2, ())
    assert {i.raw_status for i in failed.items} == {"Failed"} and failed.items[0].detail["error"]
    ran = settled(provider, Query("jobs", statuses=("succeeded",), limit=None), 20)
    assert (len(ran.items), ran.requests) == (20, 1)
    assert {i.name for i in ran.items} == {f"job.ok{n}" for n in range(20)}
    named = provider.list_remote(Query("jobs", name="scan-01", limit=None))
    assert sorted(i.name or "" for i in named.items) == [f"scan-{n:03d}" for n in range(10, 20)]
    assert named.requests == 1


def test_azure_checks_tags_locally_and_says_so(azure: EmulatorServer) -> None:
    found = azure_provider(azure).list_remote(Query("jobs", tags=("ok",), limit=5))
    assert (len(found.items), found.more, found.local) == (5, True, ("tag",))
    assert all("ok" in i.tags for i in found.items)


def test_azure_sessions_and_their_jobs(azure: EmulatorServer) -> None:
    provider = azure_provider(azure)
    sessions = provider.list_remote(Query("sessions", limit=None))
    assert sorted(i.name or "" for i in sessions.items) == ["calib", "other"]
    assert {i.kind for i in sessions.items} == {"session"}
    calib = next(i for i in sessions.items if i.name == "calib")
    inside = provider.create(azure_job("job.in", RemoteRef("session", calib.remote_id)))
    listed = provider.list_remote(Query("jobs", parent=calib.remote_id, limit=None))
    assert [i.remote_id for i in listed.items] == [inside.remote_id]
    assert listed.items[0].parent_id == calib.remote_id
    item = provider.get_remote(RemoteRef("session", calib.remote_id))
    assert item is not None and item.detail["job_failure_policy"] == "Abort"
    with pytest.raises(UsageError, match="returns sessions without tags"):
        provider.list_remote(Query("sessions", tags=("x",)))
    with pytest.raises(UsageError, match="Azure Quantum has no batches"):
        provider.list_remote(Query("batches"))


def test_azure_dates_go_to_the_service_as_the_sdk_sends_them(azure: EmulatorServer) -> None:
    provider = azure_provider(azure)
    today = dt.datetime.now(dt.timezone.utc)
    tomorrow = today + dt.timedelta(days=1)
    none = provider.list_remote(Query("jobs", since=tomorrow.replace(hour=0, minute=0, second=0, microsecond=0)))
    assert (none.items, none.local) == ((), ())
    some = provider.list_remote(Query("jobs", since=today - dt.timedelta(hours=1), limit=3))
    assert len(some.items) == 3 and some.local == ("since (time of day)",)


# superstaq ---------------------------------------------------------------------------------------
@pytest.fixture
def superstaq() -> Iterator[EmulatorServer]:
    server = emulators.start("superstaq", seed=5)
    yield server
    server.stop()


def superstaq_provider(server: EmulatorServer, version: str = "v0.3.0") -> SuperstaqProvider:
    config = {"endpoint": server.url, "credentials": {"api_key_env": "K"}, "api_version": version}
    target = Target("ss", "superstaq", "ss_unconstrained_simulator", {}, config)
    return SuperstaqProvider(target, Context({"K": "emulator-key"}, "."))


def ss_job(*texts: str, tags: tuple[str, ...] = ()) -> Submission:
    programs = tuple(Program(f"p{i}.qasm", t, "qasm2", digest(t)) for i, t in enumerate(texts))
    spec = {"kind": "job", "shots": 20, "params": {}, "options": {}, "priority": None}
    return Submission("job.x", "job", 1, uuid.uuid4().hex, digest(spec), spec, Attrs(tags), programs)


def test_superstaq_lists_with_the_job_query_in_one_request(superstaq: EmulatorServer) -> None:
    provider = superstaq_provider(superstaq)
    made = [provider.create(ss_job(BELL, tags=("a",))).remote_id for _ in range(3)]
    made.append(provider.create(ss_job(BELL, tags=("b",))).remote_id)
    tagged = settled(provider, Query("jobs", tags=("a",), statuses=("succeeded",), limit=None), 3)
    assert sorted(i.remote_id for i in tagged.items) == sorted(made[:3])
    assert tagged.requests == 1 and tagged.local[0] == "offset/limit (the job query has no pagination)"
    assert tagged.items[0].name == "job.x" and tagged.items[0].detail["circuits"][0]["status"] == "completed"
    window = provider.list_remote(Query("jobs", limit=2))
    assert (len(window.items), window.total, window.more) == (2, 4, True)


def test_superstaq_v2_lists_through_the_v3_query_with_v2_ids(superstaq: EmulatorServer) -> None:
    v2 = superstaq_provider(superstaq, "v0.2.0")
    made = v2.create(ss_job(BELL, FLIP))
    found = settled(v2, Query("jobs", statuses=("succeeded",), limit=None), 1)
    assert [i.remote_id for i in found.items] == [made.remote_id]  # "J_0,J_1": what runner records for v0.2.0
    with pytest.raises(UsageError, match=r"v0\.2\.0 keeps no tags"):
        v2.list_remote(Query("jobs", tags=("a",)))


def test_superstaq_reports_one_circuit_before_the_job_ends(superstaq: EmulatorServer) -> None:
    superstaq.emulator.faults.update({"run_time": 1.0})  # circuits run one after another, a second each
    provider = superstaq_provider(superstaq)
    assert isinstance(provider, CircuitResults)
    made = provider.create(ss_job(FLIP, BELL))
    ref = RemoteRef("job", made.remote_id)
    deadline = time.monotonic() + 20
    seen, counts = provider.circuit(ref, 0)
    while not seen.terminal and time.monotonic() < deadline:
        time.sleep(0.05)
        seen, counts = provider.circuit(ref, 0)
    assert seen.raw_status == "completed" and seen.detail["job"]["status"] in ("running", "pending")
    assert counts is not None and counts.counts == ({"1": 20},) and counts.data["index"] == 0
    second, nothing = provider.circuit(ref, 1)
    assert not second.terminal and nothing is None
