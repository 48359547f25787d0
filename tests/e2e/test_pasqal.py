"""examples/pasqal/pasqal.yaml end to end: the CLI against `runner emulate pasqal` running as its own process."""

from __future__ import annotations

import json
import select
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import EXAMPLES, Ran

TOKEN = "e2e-token"
JOB = "batch.rabi.job[omega=4.7124]"


def serve(*flags: str) -> tuple[subprocess.Popen[str], str]:
    """Start the emulator on a free port; its first stdout line is its URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "runner", "emulate", "pasqal", "--port", "0", *flags],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], 60)
    if not ready:
        proc.kill()
        pytest.fail("the emulator did not print its URL within 60 s")
    return proc, proc.stdout.readline().strip()


@pytest.fixture
def emulator() -> Iterator[Callable[..., str]]:
    started: list[subprocess.Popen[str]] = []

    def start(*flags: str) -> str:
        proc, url = serve(*flags)
        started.append(proc)
        return url

    yield start
    for proc in started:
        proc.terminate()
        proc.wait(timeout=10)


def manifest(folder: Path, url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(EXAMPLES / "pasqal" / "sequences", folder / "sequences")
    path = folder / "pasqal.yaml"
    path.write_text((EXAMPLES / "pasqal" / "pasqal.yaml").read_text().replace("http://127.0.0.1:8766", url))
    monkeypatch.setenv("PASQAL_TOKEN", TOKEN)
    return path


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def batches(url: str) -> list[dict[str, Any]]:
    """What the emulator's own API lists (newest first)."""
    response = httpx.get(f"{url}/core/api/v1/batches", headers={"Authorization": f"Bearer {TOKEN}"})
    response.raise_for_status()
    return list(response.json()["data"])


def creates(url: str) -> int:
    stats = httpx.get(f"{url}/_admin/stats").json()
    return int(stats.get("POST /core/api/v1/batches", 0)) + int(
        stats.get("POST /core/api/v2/batches/(?P<id>[^/]+)/jobs", 0)
    )


def changes(ran: Ran) -> list[dict[str, Any]]:
    assert ran.code == 0, ran.err
    return [c for c in json.loads(ran.out)["changes"] if c["action"] != "noop"]


def test_open_batch_lifecycle_through_the_cli(
    tmp_path: Path, emulator: Callable[..., str], monkeypatch: pytest.MonkeyPatch, cli: Callable[..., Ran]
) -> None:
    url = emulator()
    path = manifest(tmp_path, url, monkeypatch)
    m = str(path)
    assert cli("apply", m, "--yes").code == 0
    (batch,) = batches(url)
    assert (batch["open"], batch["jobs_count"], batch["device_type"]) == (True, 3, "EMU_FREE")
    rows = json.loads(cli("status", "-m", m, "--json").out)
    assert [(r["address"], r["kind"]) for r in rows] == [
        ("batch.rabi", "batch"),
        ("batch.rabi.job.full_turn", "batch_job"),
        ("batch.rabi.job[omega=1.5708]", "batch_job"),
        ("batch.rabi.job[omega=3.1416]", "batch_job"),
    ]
    assert rows[0]["remote_id"] == batch["id"]

    # one more matrix value: the open batch grows in place
    edit(path, "omega: [1.5708, 3.1416]", "omega: [1.5708, 3.1416, 4.7124]")
    planned = changes(cli("plan", m, "--json"))
    assert [(c["action"], c["address"]) for c in planned] == [("update", "batch.rabi"), ("create", JOB)]
    assert planned[0]["reason"] == "add 1 job(s) to the open batch"
    assert planned[0]["details"] == {"add_jobs": [JOB]}
    assert cli("apply", m, "--yes").code == 0
    (grown,) = batches(url)
    assert (grown["id"], grown["jobs_count"]) == (batch["id"], 4)
    added = json.loads(cli("status", JOB, "-m", m, "--json").out)
    assert [r["remote_id"] for r in added] == [grown["job_ids"][-1]]

    # a tag edit updates the batch in place
    edit(path, "    metadata: {purpose", "    tags: [team:atoms]\n    metadata: {purpose")
    planned = changes(cli("plan", m, "--json"))
    assert {c["action"] for c in planned} == {"update"}
    assert planned[0]["address"] == "batch.rabi" and planned[0]["reason"] == "tags +team:atoms"
    assert cli("apply", m, "--yes").code == 0
    (tagged,) = batches(url)
    assert tagged["tags"][:2] == ["example:pasqal", "team:atoms"]
    assert tagged["tags"][2].startswith("runner-token:") and len(tagged["tags"]) == 3

    # closing it lets the batch finish
    edit(path, "open: true", "open: false")
    planned = changes(cli("plan", m, "--json"))
    assert [(c["action"], c["address"], c["reason"]) for c in planned] == [
        ("update", "batch.rabi", "open turned off: close the batch")
    ]
    assert cli("apply", m, "--yes").code == 0
    assert batches(url)[0]["open"] is False
    waited = cli("wait", "-m", m, "--timeout", "60")
    assert waited.code == 0, waited.err
    assert "All selected resources have finished." in waited.out
    result = json.loads(cli("results", "batch.rabi.job.full_turn", "-m", m, "--json").out)
    assert result["shots"] == 200 and sum(result["counts"].values()) == 200
    assert set(result["counts"]) <= {"00", "01", "10", "11"}
    assert batches(url)[0]["status"] == "DONE"

    # nothing left to do: re-apply submits nothing
    before = creates(url)
    again = cli("apply", m, "--yes")
    assert again.code == 0 and "No changes." in again.out
    assert creates(url) == before and len(batches(url)) == 1


def test_cancel_a_queued_batch(
    tmp_path: Path, emulator: Callable[..., str], monkeypatch: pytest.MonkeyPatch, cli: Callable[..., Ran]
) -> None:
    url = emulator("--queue-delay", "30")
    m = str(manifest(tmp_path, url, monkeypatch))
    assert cli("apply", m, "--yes").code == 0
    ran = cli("cancel", "batch.rabi", "-m", m)
    assert ran.code == 0, ran.err
    (batch,) = batches(url)
    assert batch["status"] == "CANCELED"
    assert batch["jobs_count_per_status"]["CANCELED"] == 3
    rows = {r["address"]: r["status"] for r in json.loads(cli("status", "-m", m, "--json").out)}
    assert rows["batch.rabi"] == "cancelled"
