"""import, cancel, destroy and rerun --failed through the CLI against emulators; reproducible reruns."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from conftest import BELL, EXAMPLES, Ran, write

from runner import emulators
from runner.domain.model import Attrs, Program
from runner.emulators.server import EmulatorServer, Faults
from runner.providers.azure import provider as azure_provider
from runner.providers.base import Context, Submission

AZURE_TARGET = """  ionq:
    provider: azure
    target: ionq.simulator
    endpoint: {url}
    workspace: {{subscription_id: 00000000-0000-0000-0000-000000000001, resource_group: rg, name: ws, location: eastus}}
    credentials: {{api_key_env: AZURE_QUANTUM_API_KEY}}
"""


@pytest.fixture
def azure(monkeypatch: pytest.MonkeyPatch) -> Iterator[EmulatorServer]:
    monkeypatch.setenv("AZURE_QUANTUM_API_KEY", "emulator-key")
    server = emulators.start("azure", faults=Faults(queue_delay=3600))
    yield server
    server.stop()


def azure_manifest(folder: Path, url: str, jobs: str) -> Path:
    write(folder, "bell.qasm", BELL)
    return write(folder, "m.yaml", f"version: 1\nproject: ops\ntargets:\n{AZURE_TARGET.format(url=url)}jobs:\n{jobs}")


def status(cli: Callable[..., Ran], m: Path) -> dict[str, str]:
    return {r["address"]: r["status"] for r in json.loads(cli("status", "-m", str(m), "--json").out)}


def submit_by_hand(server: EmulatorServer, m: Path, name: str, tags: tuple[str, ...]) -> str:
    """What a user's own script would do: submit straight to the provider, outside runner."""
    from runner.manifest.loader import load

    target = load(str(m)).targets["ionq"]
    provider = azure_provider.make(target, Context({"AZURE_QUANTUM_API_KEY": "emulator-key"}, str(m.parent)))
    program = Program("bell.qasm", BELL, "qasm2", "b" * 64)
    sub = Submission(
        name,
        "job",
        1,
        name.encode().hex().ljust(32, "0")[:32],
        "f" * 64,
        {"shots": 100},
        Attrs(tags, name=name),
        (program,),
    )
    try:
        return provider.create(sub).remote_id
    finally:
        provider.shutdown()


def test_import_by_id_and_by_tag(tmp_path: Path, azure: EmulatorServer, cli: Callable[..., Ran]) -> None:
    m = azure_manifest(
        tmp_path,
        azure.url,
        "  a: {target: ionq, program: bell.qasm, shots: 100}\n"
        "  b: {target: ionq, program: bell.qasm, shots: 100}\n"
        "  c: {target: ionq, program: bell.qasm, shots: 100}\n",
    )
    first = submit_by_hand(azure, m, "job.a", ("campaign",))
    submit_by_hand(azure, m, "job.b", ("campaign",))
    submit_by_hand(azure, m, "stray", ("campaign",))
    ran = cli("import", "job.a", first, "-m", str(m))
    assert (ran.code, ran.out.splitlines()[-1]) == (0, "Imported 1 resource(s).")
    again = cli("import", "job.a", first, "-m", str(m))
    assert again.code == 1 and "job.a is already managed as " in again.err
    tagged = cli("import", "--tag", "campaign", "-m", str(m))
    assert tagged.code == 0, tagged.err  # job.a carries the tag too and is already managed: skipped, not fatal
    assert f"  = {first}: job.a is already managed as {first} (generation 1) (skipped)" in tagged.out
    assert "carries the tag but matches no address in the manifest (not imported)" in tagged.out
    assert "Imported 1 resource(s)." in tagged.out
    state = tmp_path / ".runner" / "state.db"
    cli("state", "rm", "job.a", "--state", str(state))
    tagged = cli("import", "--tag", "campaign", "-m", str(m))
    assert tagged.code == 0, tagged.err
    assert "Imported 1 resource(s)." in tagged.out
    assert set(status(cli, m)) == {"job.a", "job.b"}
    plan = json.loads(cli("plan", str(m), "--json").out)
    # the hand-submitted jobs carry a tag the manifest does not declare: the manifest wins, in place
    assert [(c["address"], c["action"], c["reason"]) for c in plan["changes"]] == [
        ("job.a", "update", "tags -campaign"),
        ("job.b", "update", "tags -campaign"),
        ("job.c", "create", "not in state"),
    ]
    shown = json.loads(cli("show", "job.b", "-m", str(m), "--json").out)
    assert shown["generations"][-1]["origin"] == {"imported": shown["remote_id"]}


def test_destroy_cancels_closes_forgets_and_respects_protect(
    tmp_path: Path, azure: EmulatorServer, cli: Callable[..., Ran]
) -> None:
    m = azure_manifest(
        tmp_path,
        azure.url,
        "  a: {target: ionq, program: bell.qasm}\n  b: {target: ionq, program: bell.qasm, protect: true}\n",
    )
    assert cli("apply", str(m), "--yes").code == 0
    refused = cli("destroy", "-m", str(m), "--yes")
    assert refused.code == 1 and refused.err.startswith("error: refusing to change protected resources: job.b (delete")
    done = cli("destroy", "-m", str(m), "--yes", "--allow-protected")
    assert done.code == 0, done.err
    assert "Destroy complete: 0 created, 0 updated, 0 replaced, 2 deleted, 0 failed" in done.out
    assert status(cli, m) == {}
    jobs = azure.emulator.state()["jobs"]
    assert sorted(j["status"] for j in jobs) == ["Cancelled", "Cancelled"]
    runs = json.loads(cli("history", "-m", str(m), "--json").out)
    assert [r["operation"] for r in runs] == ["apply", "destroy"]


def test_rerun_failed_as_new_generations_on_azure(
    tmp_path: Path, cli: Callable[..., Ran], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AZURE_QUANTUM_API_KEY", "emulator-key")
    server = emulators.start("azure", faults=Faults(job_failure_rate=1.0))
    try:
        m = azure_manifest(tmp_path, server.url, "  a: {target: ionq, program: bell.qasm, shots: 50}\n")
        assert cli("apply", str(m), "--yes").code == 0
        assert cli("wait", "-m", str(m), "--timeout", "30").code == 0
        assert status(cli, m) == {"job.a": "failed"}
        httpx.post(f"{server.url}/_admin/faults", json={"job_failure_rate": 0}).raise_for_status()
        rerun = cli("rerun", "--failed", "-m", str(m), "--yes")
        assert rerun.code == 0, rerun.err
        assert "-/+ job.a  rerun of failed generation 1" in rerun.out
        assert cli("wait", "-m", str(m), "--timeout", "30").code == 0
        shown = json.loads(cli("show", "job.a", "-m", str(m), "--json").out)
        assert [(g["generation"], g["status"], g["origin"], g["retired_reason"]) for g in shown["generations"]] == [
            (1, "failed", {}, "rerun as generation 2"),
            (2, "succeeded", {"rerun_of": 1}, None),
        ]
        assert [r["operation"] for r in json.loads(cli("history", "-m", str(m), "--json").out)] == ["apply", "rerun"]
        assert cli("rerun", "--failed", "-m", str(m), "--yes").out == ""  # nothing failed any more
    finally:
        server.stop()


def test_rerun_failed_pasqal_jobs_by_rebatch_with_lineage(
    tmp_path: Path, cli: Callable[..., Ran], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PASQAL_TOKEN", "anything")
    server = emulators.start("pasqal", faults=Faults(job_failure_rate=1.0))
    try:
        write(tmp_path, "sequences/rabi.json", (EXAMPLES / "pasqal" / "sequences" / "rabi.json").read_text())
        m = write(
            tmp_path,
            "m.yaml",
            f"""version: 1
project: rb
targets:
  emu: {{provider: pasqal, target: EMU_FREE, endpoint: '{server.url}/core',
         project_id: 00000000-0000-0000-0000-0000000000aa, credentials: {{token_env: PASQAL_TOKEN}}}}
batches:
  scan:
    target: emu
    sequence: sequences/rabi.json
    runs: 20
    matrix: {{omega: [1.0, 2.0]}}
""",
        )
        assert cli("apply", str(m), "--yes").code == 0
        assert cli("wait", "-m", str(m), "--timeout", "60").code == 0
        assert set(status(cli, m).values()) >= {"failed"}
        old_batch = json.loads(cli("status", "batch.scan", "-m", str(m), "--json").out)[0]["remote_id"]
        httpx.post(f"{server.url}/_admin/faults", json={"job_failure_rate": 0}).raise_for_status()
        rerun = cli("rerun", "--failed", "-m", str(m), "--yes")
        assert rerun.code == 0, rerun.out + rerun.err
        assert "note: batch.scan: rebatched 2 failed job(s) as batch " in rerun.out
        assert f"(parent {old_batch})" in rerun.out
        assert cli("wait", "-m", str(m), "--timeout", "120").code == 0
        shown = json.loads(cli("show", "batch.scan.job[omega=1.0]", "-m", str(m), "--json").out)
        first, second = shown["generations"]
        assert (first["status"], second["status"]) == ("failed", "succeeded")
        assert second["origin"]["rebatch_of"] == old_batch and second["origin"]["parent_job"] == first["remote_id"]
        remote = httpx.get(
            f"{server.url}/core/api/v2/jobs/{second['remote_id']}", headers={"Authorization": "Bearer anything"}
        ).json()["data"]
        assert remote["parent_id"] == first["remote_id"]
    finally:
        server.stop()


def test_old_commit_reapplied_into_a_fresh_state_reproduces_local_results(
    examples: Path, cli: Callable[..., Ran]
) -> None:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
            cwd=examples,
            capture_output=True,
            text=True,
            check=True,
        ).stdout

    git("init", "-q")
    git("add", ".")
    git("commit", "-qm", "study v1")
    old = git("rev-parse", "HEAD").strip()
    assert cli("apply", str(examples / "quickstart.yaml"), "--yes").code == 0
    first = json.loads(cli("results", "-m", str(examples / "quickstart.yaml"), "--json").out)
    manifest = examples / "quickstart.yaml"
    manifest.write_text(manifest.read_text().replace("shots: 1000", "shots: 2000"))
    git("commit", "-qam", "study v2")
    (examples / "old.yaml").write_text(git("show", f"{old}:quickstart.yaml"))
    assert cli("apply", str(examples / "old.yaml"), "--yes", "--state", "fresh.db").code == 0
    again = json.loads(cli("results", "--state", "fresh.db", "--json").out)
    assert [(r["address"], r["counts"], r["seed"]) for r in again] == [
        (r["address"], r["counts"], r["seed"]) for r in first
    ]


def test_generations_record_provenance_with_the_target_as_described_then(
    tmp_path: Path, azure: EmulatorServer, cli: Callable[..., Ran]
) -> None:
    m = azure_manifest(tmp_path, azure.url, "  a: {target: ionq, program: bell.qasm}\n")
    assert cli("apply", str(m), "--yes").code == 0
    (gen,) = json.loads(cli("show", "job.a", "-m", str(m), "--json").out)["generations"]
    prov = gen["provenance"]
    assert prov["run"]["operation"] == "apply" and prov["run"]["manifest_digest"]
    assert {"runner", "qiskit", "python"} <= set(prov["run"]["versions"])
    described = prov["target_snapshot"]["description"]
    assert described["id"] == "ionq.simulator" and described["provider_id"] == "ionq"
    assert "currentAvailability" in described
    text = cli("show", "job.a", "-m", str(m)).out
    assert "target then: " in text and "currentAvailability=Available" in text
