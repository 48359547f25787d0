"""Issue 13 on Pasqal, through the CLI and the Python API against the emulator: remote listings of 260
batches, a batch's view, cancel and rerun by filter, many batches cancelled in one call, device specs."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import EXAMPLES, Ran

import runner
from runner.emulators.pasqal.app import PasqalEmulator
from runner.emulators.server import EmulatorServer
from runner.errors import NoMatchError

PROJECT = "00000000-0000-0000-0000-0000000000aa"
HEADERS = {"Authorization": "Bearer t"}
ONE_ATOM = (EXAMPLES / "pasqal" / "sequences" / "one_atom.json").read_text()
BATCHES = "GET /core/api/v1/batches"
JOB_NAMES = ["batch.rabi.job.full_turn", "batch.rabi.job[omega=1.5708]", "batch.rabi.job[omega=3.1416]"]


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[EmulatorServer]:
    monkeypatch.setenv("PASQAL_TOKEN", "t")
    started = EmulatorServer(PasqalEmulator()).start()
    yield started
    started.stop()


def manifest(folder: Path, url: str, *, closed: bool = False) -> str:
    shutil.copytree(EXAMPLES / "pasqal" / "sequences", folder / "sequences")
    text = (EXAMPLES / "pasqal" / "pasqal.yaml").read_text().replace("http://127.0.0.1:8766", url)
    if closed:
        text = text.replace("open: true", "open: false")
    path = folder / "pasqal.yaml"
    path.write_text(text)
    return str(path)


def stats(server: EmulatorServer) -> dict[str, int]:
    return dict(httpx.get(f"{server.url}/_admin/stats").json())


def seed(server: EmulatorServer, count: int, tag: str) -> None:
    """Batches submitted outside runner (by a colleague's script): every other one carries `tag`."""
    with httpx.Client(base_url=server.url, headers=HEADERS) as client:
        for i in range(count):
            body: dict[str, Any] = {"sequence_builder": ONE_ATOM, "jobs": [{"runs": 5, "variables": {"omega": 1.0}}]}
            body |= {"open": False, "device_type": "EMU_FREE", "project_id": PROJECT}
            client.post("/core/api/v1/batches", json={**body, "tags": [tag] if i % 2 == 0 else []}).raise_for_status()


def ok(ran: Ran) -> Any:
    assert ran.code == 0, ran.err
    return json.loads(ran.out)


@pytest.mark.slow
def test_remote_batches_page_through_260_with_the_filter_applied_by_the_service(
    tmp_path: Path, server: EmulatorServer, cli: Callable[..., Ran]
) -> None:
    m = manifest(tmp_path, server.url)
    assert cli("apply", m, "--yes").code == 0
    seed(server, 259, "campaign")  # 260 batches on the device in all, 130 of them tagged
    before = stats(server)
    tagged = ok(cli("remote", "batches", "emu", "-m", m, "--tag", "campaign", "--all", "--json"))
    assert (len(tagged["items"]), tagged["total"], tagged["requests"]) == (130, 130, 2)  # ceil(130 / 100)
    assert stats(server)[BATCHES] - before.get(BATCHES, 0) == 2
    assert {i["managed_as"] for i in tagged["items"]} == {None}
    every = ok(cli("remote", "batches", "emu", "-m", m, "--all", "--json"))
    assert (len(every["items"]), every["requests"], every["more"]) == (260, 3, False)
    managed = [i for i in every["items"] if i["managed_as"]]
    assert [(i["managed_as"], i["tags"]) for i in managed] == [("batch.rabi", ["example:pasqal"])]
    page = ok(cli("remote", "batches", "emu", "-m", m, "--limit", "100", "--offset", "200", "--json"))
    assert (len(page["items"]), page["more"], page["next_offset"], page["requests"]) == (60, False, None, 1)
    text = cli("remote", "batches", "emu", "-m", m, "--tag", "example:pasqal")
    assert text.code == 0 and "managed as batch.rabi" in text.out
    assert text.out.splitlines()[-1] == "1 of 1 batches from pasqal target 'emu', 1 managed by runner, 1 request(s)."
    first = cli("remote", "batches", "emu", "-m", m, "--limit", "2")
    assert "More: --offset 2 (or --all)." in first.out and first.out.count("not managed") == 2
    # the Python API: the same listing as a value
    found = runner.remote_batches("emu", manifest=m, tag=["campaign"], all_=True)
    assert (len(found.rows), found.total, found.requests) == (130, 130, 2)


def test_remote_jobs_of_a_batch_and_the_batch_view(
    tmp_path: Path, server: EmulatorServer, cli: Callable[..., Ran]
) -> None:
    m = manifest(tmp_path, server.url)
    assert cli("apply", m, "--yes").code == 0
    assert cli("wait", "batch.rabi.job*", "-m", m, "--timeout", "60").code == 0
    jobs = ok(cli("remote", "jobs", "emu", "-m", m, "--in", "batch.rabi", "--json"))
    assert sorted((i["managed_as"], i["detail"]["runs"], i["raw_status"]) for i in jobs["items"]) == [
        (JOB_NAMES[0], 200, "DONE"),
        (JOB_NAMES[1], 100, "DONE"),
        (JOB_NAMES[2], 100, "DONE"),
    ]
    heavy = ok(cli("remote", "jobs", "emu", "-m", m, "--in", "batch.rabi", "--min-runs", "150", "--json"))
    assert [i["managed_as"] for i in heavy["items"]] == [JOB_NAMES[0]]
    shown = cli("show", "batch.rabi", "-m", m)
    assert shown.code == 0, shown.err
    assert "  jobs at the service (3):" in shown.out and "  jobs in the state (3):" in shown.out
    assert 'succeeded (DONE)  runs=200 variables={"omega": 6.2832}  managed as batch.rabi.job.full_turn' in shown.out
    doc = runner.show("batch.rabi", manifest=m)
    assert [j["address"] for j in doc["jobs"]] == JOB_NAMES
    assert {j["managed_as"] for j in doc["remote"]["jobs"]} == set(JOB_NAMES)
    assert doc["remote"]["item"]["detail"]["jobs_count"] == 3
    offline = runner.show("batch.rabi", manifest=m, remote=False)
    assert "remote" not in offline and [j["status"] for j in offline["jobs"]] == ["succeeded"] * 3
    rows = runner.status(manifest=m, in_="batch.rabi")
    assert [(r["address"], r["status"], r["raw_status"], r["parent"]) for r in rows] == [
        (a, "succeeded", "DONE", "batch.rabi") for a in JOB_NAMES
    ]
    listed = cli("status", "--in", "batch.rabi", "-m", m)
    assert "succeeded (DONE)" in listed.out and "batch.rabi.job.full_turn" in listed.out


def test_cancel_where_cancels_the_matching_jobs_in_one_call(
    tmp_path: Path, server: EmulatorServer, cli: Callable[..., Ran]
) -> None:
    server.emulator.faults.queue_delay = 3600  # every job stays pending
    m = manifest(tmp_path, server.url)
    assert cli("apply", m, "--yes").code == 0
    route = "PATCH /core/api/v2/batches/(?P<id>[^/]+)/cancel/jobs"
    ran = cli("cancel", "batch.rabi", "-m", m, "--where", "status=PENDING", "--where", "min_runs=150")
    assert ran.code == 0, ran.err
    assert stats(server)[route] == 1
    assert ran.out.splitlines()[0] == "batch.rabi: 1 job(s) cancelled"
    assert f"(cancelled): {JOB_NAMES[0]}" in ran.out
    statuses = {r["address"]: r["status"] for r in runner.status(manifest=m)}
    assert [statuses[a] for a in JOB_NAMES] == ["cancelled", "pending", "pending"]
    none = cli("cancel", "batch.rabi", "-m", m, "--where", "status=PENDING", "--where", "max_runs=50")
    assert none.code == 8
    assert none.err.strip() == (
        "error: no job of batch.rabi matches --where status=PENDING max_runs=50: nothing was cancelled"
    )
    assert stats(server)[route] == 2  # asked once more; nothing was recorded
    running = cli("cancel", "batch.rabi", "-m", m, "--where", "status=RUNNING")
    assert running.code == 64 and "Pasqal cancels only pending jobs" in running.err
    picked = runner.cancel_where(["batch.rabi"], {"max_runs": 100}, manifest=m)
    assert sorted(a or "" for b in picked for a, _ in b.cancelled) == JOB_NAMES[1:]
    with pytest.raises(NoMatchError):
        runner.cancel_where(["batch.rabi"], ["status=PENDING"], manifest=m)


TWO_BATCHES = """
  second:
    target: emu
    sequence: sequences/rabi.json
    runs: 50
    jobs:
      - {name: one, variables: {omega: 1.0}}
"""


@pytest.mark.parametrize("via", ["cli", "api"])
def test_cancelling_several_batches_is_one_call(
    tmp_path: Path, server: EmulatorServer, cli: Callable[..., Ran], via: str
) -> None:
    server.emulator.faults.queue_delay = 3600
    m = manifest(tmp_path, server.url, closed=True)
    Path(m).write_text(Path(m).read_text() + TWO_BATCHES)
    assert cli("apply", m, "--yes").code == 0
    if via == "cli":
        ran = cli("cancel", "batch.*", "-m", m)
        assert ran.code == 0, ran.err
        assert sorted(ran.out.splitlines()) == [
            "  - batch.rabi: cancel requested (cancelled)",
            "  - batch.second: cancel requested (cancelled)",
        ]
    else:
        done = runner.cancel(["batch.*"], manifest=m)
        assert sorted((a, o.raw_status) for a, o in done) == [("batch.rabi", "CANCELED"), ("batch.second", "CANCELED")]
    assert stats(server).get("PATCH /core/api/v1/batches/cancel") == 1
    assert not any(k.startswith("PATCH /core/api/v2/batches/(?P<id>[^/]+)/cancel") for k in stats(server))
    assert {r["status"] for r in runner.status(manifest=m)} == {"cancelled"}  # the batches and all their jobs


def test_rerun_where_reruns_what_the_filter_picks_with_lineage(
    tmp_path: Path, server: EmulatorServer, cli: Callable[..., Ran]
) -> None:
    m = manifest(tmp_path, server.url, closed=True)
    assert cli("apply", m, "--yes").code == 0
    assert cli("wait", "-m", m, "--timeout", "60").code == 0
    old = {r["address"]: r["remote_id"] for r in runner.status(manifest=m)}
    ran = cli("rerun", "batch.rabi", "--where", "status=ERROR,DONE", "--min-runs", "150", "-m", m, "--yes")
    assert ran.code == 0, ran.err
    assert f"  -/+ {JOB_NAMES[0]}  rerun of generation 1 (succeeded)" in ran.out
    assert "note: batch.rabi: rebatched 1 job(s) picked by --where as batch " in ran.out
    shown = runner.show(JOB_NAMES[0], manifest=m)
    assert [g["generation"] for g in shown["generations"]] == [1, 2]
    assert shown["generations"][1]["origin"]["parent_job"] == old[JOB_NAMES[0]]
    assert shown["generations"][1]["origin"]["rebatch_of"] == old["batch.rabi"]
    remote_batches = httpx.get(f"{server.url}/core/api/v1/batches", headers=HEADERS).json()["data"]
    assert [b["parent_id"] for b in remote_batches if b["parent_id"]] == [old["batch.rabi"]]
    untouched = runner.status(JOB_NAMES[1:], manifest=m)
    assert [r["remote_id"] for r in untouched] == [old[a] for a in JOB_NAMES[1:]]
    nothing = cli("rerun", "batch.rabi", "--where", "status=ERROR", "-m", m, "--yes")
    assert nothing.code == 8 and "no job of batch.rabi runner manages matches --where status=ERROR" in nothing.err
    assert cli("rerun", "--where", "status=DONE", "--failed", "-m", m, "--yes").code == 64
    failures = runner.rerun_where(m, ["status=DONE", "max_runs=100"], ["batch.rabi"])
    assert failures == []
    assert [r["generation"] for r in runner.status(JOB_NAMES[1:], manifest=m)] == [2, 2]


def test_targets_describe_from_the_service_and_offline(
    tmp_path: Path, server: EmulatorServer, cli: Callable[..., Ran]
) -> None:
    m = manifest(tmp_path, server.url)
    before = cli("targets", m, "--describe", "--offline")
    assert before.code == 0 and before.out.startswith("emu  (pasqal EMU_FREE; no description)\n")
    assert "note: no snapshot in the state (an apply records one when it submits to this target)" in before.out
    live = cli("targets", m, "emu", "--describe")
    assert live.code == 0, live.err
    assert live.out.startswith("emu  (pasqal EMU_FREE; from the service, ")
    assert "  specs.max_atom_num: " in live.out and "  device_type: EMU_FREE" in live.out
    assert cli("apply", m, "--yes").code == 0
    offline = ok(cli("targets", m, "--describe", "--offline", "--json"))
    assert [(d["target"], d["source"]) for d in offline] == [("emu", "snapshot"), ("local", "none")]
    assert offline[0]["description"]["specs"]["name"]
    described = runner.describe_targets(["emu"], manifest=m)
    assert described[0].source == "service" and described[0].description == offline[0]["description"]
    assert cli("targets", m, "nope", "--describe").code == 1
