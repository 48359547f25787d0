"""Drift seen by plan, and --target / --exclude / --replace, against the Azure emulator."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from conftest import EXAMPLES, Ran, write

from runner import emulators
from runner.emulators.server import EmulatorServer, Faults

PREFIX = (
    "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/runner-examples"
    "/providers/Microsoft.Quantum/workspaces/runner-workspace"
)
API = {"api-version": "2026-01-15-preview"}
KEY = {"x-ms-quantum-api-key": "emulator-key"}


@pytest.fixture
def azure(monkeypatch: pytest.MonkeyPatch) -> Iterator[EmulatorServer]:
    monkeypatch.setenv("AZURE_QUANTUM_API_KEY", "emulator-key")
    server = emulators.start("azure", faults=Faults(queue_delay=3600))  # jobs stay queued: they can drift
    yield server
    server.stop()


def manifest(folder: Path, url: str) -> Path:
    for name in ("bell.qasm", "rotation.qasm"):
        write(folder, f"circuits/{name}", (EXAMPLES / "circuits" / name).read_text())
    return write(
        folder, "azure.yaml", (EXAMPLES / "azure" / "azure.yaml").read_text().replace("http://127.0.0.1:8765", url)
    )


def remote_id(cli: Callable[..., Ran], m: Path, address: str) -> str:
    rows = json.loads(cli("status", address, "-m", str(m), "--json").out)
    return str(rows[0]["remote_id"])


def test_a_job_cancelled_behind_runners_back_is_drift_in_the_next_plan(
    tmp_path: Path, azure: EmulatorServer, cli: Callable[..., Ran]
) -> None:
    m = manifest(tmp_path, azure.url)
    assert cli("apply", str(m), "--yes").code == 0
    job = remote_id(cli, m, "job.pair")
    httpx.post(f"{azure.url}{PREFIX}/jobs/{job}:cancel", params=API, headers=KEY).raise_for_status()
    ran = cli("plan", str(m), "--detailed-exitcode")
    assert ran.code == 0  # drift is not a planned change
    assert "Changed outside runner (not a planned change):\n  ~ job.pair: pending -> cancelled (Cancelled)" in ran.out
    doc = json.loads(cli("plan", str(m), "--json").out)
    assert doc["drift"] == [
        {
            "address": "job.pair",
            "what": "status",
            "before": "pending",
            "after": "cancelled",
            "message": "pending -> cancelled (Cancelled)",
        }
    ]
    assert cli("status", "job.pair", "-m", str(m), "--json").out.count('"pending"') == 1  # plan wrote nothing
    assert cli("plan", str(m), "--no-refresh", "--json").out.count('"drift": []') == 1


def test_tags_edited_outside_runner_are_drift_and_an_update_puts_them_back(
    tmp_path: Path, azure: EmulatorServer, cli: Callable[..., Ran]
) -> None:
    m = manifest(tmp_path, azure.url)
    assert cli("apply", str(m), "--yes").code == 0
    job = remote_id(cli, m, "job.pair")
    httpx.patch(
        f"{azure.url}{PREFIX}/jobs/{job}",
        params=API,
        headers={**KEY, "Content-Type": "application/merge-patch+json"},
        json={"tags": ["hand-edited"]},
    ).raise_for_status()
    doc = json.loads(cli("plan", str(m), "--json").out)
    assert [(d["address"], d["what"], d["after"]) for d in doc["drift"]] == [("job.pair", "tags", ["hand-edited"])]
    assert [(c["address"], c["action"], c["reason"]) for c in doc["changes"] if c["action"] != "noop"] == [
        ("job.pair", "update", "tags +example:azure +standalone -hand-edited")
    ]
    assert cli("apply", str(m), "--yes").code == 0
    tags = httpx.get(f"{azure.url}{PREFIX}/jobs/{job}", params=API, headers=KEY).json()["tags"]
    assert sorted(tags) == ["example:azure", "standalone"]


def test_unreachable_or_unauthorized_is_said_and_nothing_is_deleted(
    tmp_path: Path, azure: EmulatorServer, cli: Callable[..., Ran], monkeypatch: pytest.MonkeyPatch
) -> None:
    m = manifest(tmp_path, azure.url)
    assert cli("apply", str(m), "--yes").code == 0
    monkeypatch.setenv("AZURE_QUANTUM_API_KEY", "wrong-key")
    doc = json.loads(cli("plan", str(m), "--json").out)
    assert {d["what"] for d in doc["drift"]} == {"unreachable"}
    assert "drift unknown, nothing is assumed deleted" in doc["drift"][0]["message"]
    assert "wrong-key" not in json.dumps(doc)
    assert doc["summary"]["delete"] == 0 and doc["summary"]["create"] == 0


def test_target_exclude_and_replace(tmp_path: Path, azure: EmulatorServer, cli: Callable[..., Ran]) -> None:
    m = manifest(tmp_path, azure.url)
    only = json.loads(cli("plan", str(m), "--json", "--target", "job.rotation[theta=0.0]").out)
    assert [(c["address"], c["action"]) for c in only["changes"]] == [
        ("job.rotation[theta=0.0]", "create"),
        ("session.calibration", "create"),
    ]  # the session it needs comes along
    assert only["untargeted"] == 4
    by_tag = json.loads(cli("plan", str(m), "--json", "--target", "tag:standalone").out)
    assert [c["address"] for c in by_tag["changes"]] == ["job.pair"]
    assert (
        cli(
            "apply",
            str(m),
            "--yes",
            "--exclude",
            "session.calibration",
            "--exclude",
            "job.bell",
            "--exclude",
            "job.rotation*",
        ).code
        == 0
    )
    statuses = {r["address"] for r in json.loads(cli("status", "-m", str(m), "--json").out)}
    assert statuses == {"job.pair"}
    refused = cli("plan", str(m), "--target", "job.bell", "--exclude", "session.calibration")
    assert (refused.code, refused.err) == (
        1,
        "error: job.bell needs session.calibration (create), which --exclude leaves out\n",
    )
    assert cli("apply", str(m), "--yes").code == 0
    replaced = json.loads(cli("plan", str(m), "--json", "--replace", "job.pair").out)
    assert [(c["address"], c["action"], c["reason"]) for c in replaced["changes"] if c["action"] != "noop"] == [
        ("job.pair", "replace", "forced by --replace")
    ]
    assert cli("apply", str(m), "--yes", "--replace", "job.pair").code == 0
    shown = json.loads(cli("show", "job.pair", "-m", str(m), "--json").out)
    assert [g["generation"] for g in shown["generations"]] == [1, 2]
    assert shown["generations"][0]["status"] == "cancelled"  # the superseded queued job was stopped
