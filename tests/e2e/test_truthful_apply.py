"""Plan never promises what apply cannot do: every change reaches the provider and is seen there, or plan says
it cannot be done. The emulators' own /_admin/state is the oracle: it shares no code with runner's clients."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import EXAMPLES, Ran

from runner import emulators
from runner.emulators.server import EmulatorServer, Faults

Cli = Callable[..., Ran]
CREDENTIALS = {"AZURE_QUANTUM_API_KEY": "emulator-key", "SUPERSTAQ_API_KEY": "emulator-key", "PASQAL_TOKEN": "t"}
WORKSPACE = (  # doubled braces: Case.target goes through str.format
    "workspace: {{subscription_id: 00000000-0000-0000-0000-000000000001, resource_group: rg, name: ws, "
    "location: eastus}}, credentials: {{api_key_env: AZURE_QUANTUM_API_KEY}}"
)


@dataclass(frozen=True)
class Case:
    """One provider's main resource, declared so that each attribute can be edited in place."""

    provider: str
    target: str  # the target's settings, {url} for the emulator
    resource: str  # YAML of the resource with {tags}, {metadata}, {name} and {shots}
    address: str
    replaced: str = ""  # what a change of shots replaces (the resource itself unless said)

    def manifest(
        self, url: str, *, tags: str = "[a]", metadata: str = "{k: v}", name: str = "n1", shots: int | str = 10
    ) -> str:
        body = self.resource.format(tags=tags, metadata=metadata, name=name, shots=shots)
        return f"version: 1\nproject: truth\ntargets:\n  t: {self.target.format(url=url)}\n{body}"


CASES = {
    "azure": Case(
        "azure",
        "{{provider: azure, target: ionq.simulator, endpoint: '{url}', " + WORKSPACE + "}}",
        "jobs:\n  j: {{target: t, program: circuits/bell.qasm, shots: {shots}, tags: {tags}, metadata: {metadata}, "
        "name: {name}}}\n",
        "job.j",
    ),
    "superstaq": Case(
        "superstaq",
        "{{provider: superstaq, target: ss_unconstrained_simulator, endpoint: '{url}', api_version: v0.3.0, "
        "credentials: {{api_key_env: SUPERSTAQ_API_KEY}}}}",
        "jobs:\n  j: {{target: t, program: circuits/bell.qasm, shots: {shots}, tags: {tags}, metadata: {metadata}, "
        "name: {name}}}\n",
        "job.j",
    ),
    "pasqal": Case(
        "pasqal",
        "{{provider: pasqal, target: EMU_FREE, endpoint: '{url}/core', "
        "project_id: 00000000-0000-0000-0000-0000000000aa, credentials: {{token_env: PASQAL_TOKEN}}}}",
        "batches:\n  b:\n    target: t\n    sequence: one_atom.json\n    open: true\n    tags: {tags}\n"
        # batches have no name
        "    metadata: {metadata}\n    jobs: [{{runs: {shots}, variables: {{omega: 1.5708}}}}]\n",
        "batch.b",
        "batch.b.job[omega=1.5708]",  # runs change the job: the open batch takes its new generation
    ),
}


def remote(url: str, provider: str, remote_id: str) -> dict[str, Any]:
    """What the emulator holds for one object: tags (without runner's token tag), name, metadata, status."""
    state = httpx.get(f"{url}/_admin/state").json()
    if provider == "azure":
        item = next(j for j in state["jobs"] if j["id"] == remote_id)
        return {"tags": item["tags"], "name": item["name"], "status": item["status"]}
    if provider == "superstaq":
        item = state["jobs"][remote_id]
        return {"tags": [t for t in item["tags"] if not t.startswith("runner-token:")], "status": item["statuses"]}
    for batch in state["batches"]:
        if batch["id"] == remote_id:
            tags = [t for t in batch["tags"] if not t.startswith("runner-token:")]
            return {"tags": tags, "open": batch["open"], "status": batch["status"]}
        for job in batch["jobs"]:
            if job["id"] == remote_id:
                return {"batch": batch["id"], "runs": job["runs"], "status": job["status"]}
    raise AssertionError(f"{remote_id} is not at the emulator")


def writes(url: str) -> int:
    """Requests that could change something (not GETs), as the emulator counted them."""
    stats = httpx.get(f"{url}/_admin/stats").json()
    return sum(int(n) for key, n in stats.items() if key.split(" ")[0] in ("POST", "PUT", "PATCH", "DELETE"))


@pytest.fixture
def world(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Case, EmulatorServer, Path]]:
    case = CASES[request.param]
    for key, value in CREDENTIALS.items():
        monkeypatch.setenv(key, value)
    shutil.copytree(EXAMPLES / "circuits", tmp_path / "circuits")
    shutil.copy(EXAMPLES / "pasqal" / "sequences" / "one_atom.json", tmp_path / "one_atom.json")
    server = emulators.start(case.provider, faults=Faults(queue_delay=3600))  # everything stays queued: cancellable
    try:
        yield case, server, tmp_path / "m.yaml"
    finally:
        server.stop()


def plan(cli: Cli, m: Path, *args: str) -> list[dict[str, Any]]:
    ran = cli("plan", str(m), "--json", *args)
    assert ran.code == 0, ran.err
    return [c for c in json.loads(ran.out)["changes"] if c["action"] != "noop"]


def remote_id(cli: Cli, m: Path, address: str) -> str:
    rows = json.loads(cli("status", address, "-m", str(m), "--json").out)
    return str(rows[0]["remote_id"])


@pytest.mark.parametrize("world", sorted(CASES), indirect=True)
@pytest.mark.parametrize(
    ("attribute", "edit"),
    [("tags", {"tags": "[a, b]"}), ("metadata", {"metadata": "{k: w}"}), ("name", {"name": "n2"})],
)
def test_each_attribute_edit_reaches_the_provider_or_is_said_to_be_recorded_only(
    world: tuple[Case, EmulatorServer, Path], attribute: str, edit: dict[str, str], cli: Cli
) -> None:
    case, server, m = world
    if attribute == "name" and "{name}" not in case.resource:
        pytest.skip(f"a {case.provider} {case.address.split('.')[0]} has no name in the manifest")
    m.write_text(case.manifest(server.url))
    assert cli("apply", str(m), "--yes").code == 0
    rid = remote_id(cli, m, case.address)
    before = remote(server.url, case.provider, rid)
    m.write_text(case.manifest(server.url, **edit))
    (change,) = plan(cli, m)
    sent_before = writes(server.url)
    applied = cli("apply", str(m), "--yes")
    assert applied.code == 0, applied.out + applied.err
    after = remote(server.url, case.provider, rid)
    if change["action"] == "update":
        assert change["details"] == {"attrs": True}
        shown = {"tags": ["a", "b"], "name": "n2"}
        assert after[attribute] == shown[attribute], (before, after)  # the service shows it
        assert f"~ {case.address}: updated" in applied.out
    else:  # plan said plainly that the provider cannot make it, and apply sent nothing
        assert change["action"] == "record"
        assert f"{case.provider} cannot change {attribute} in place: recorded locally only" in change["reason"]
        assert writes(server.url) == sent_before
        assert after == before
        assert f"= {case.address}: recorded in the state only (no provider call)" in applied.out
    assert plan(cli, m) == []  # and the next plan agrees it is done


@pytest.mark.parametrize("world", sorted(CASES), indirect=True)
def test_replace_delete_and_close_are_seen_at_the_provider(world: tuple[Case, EmulatorServer, Path], cli: Cli) -> None:
    case, server, m = world
    replaced = case.replaced or case.address
    m.write_text(case.manifest(server.url))
    assert cli("apply", str(m), "--yes").code == 0
    first = remote_id(cli, m, replaced)
    m.write_text(case.manifest(server.url, shots=20))
    assert [c["address"] for c in plan(cli, m) if c["action"] == "replace"] == [replaced]
    assert cli("apply", str(m), "--yes").code == 0
    second = remote_id(cli, m, replaced)
    assert second != first
    cancelled = {"azure": "Cancelled", "superstaq": ["cancelled"], "pasqal": "CANCELED"}[case.provider]
    assert remote(server.url, case.provider, first)["status"] == cancelled  # the replaced generation was stopped
    if case.provider == "pasqal":  # the new generation went into the same open batch
        assert remote(server.url, case.provider, second)["batch"] == remote(server.url, case.provider, first)["batch"]
        second = remote_id(cli, m, case.address)
        m.write_text(case.manifest(server.url, shots=20).replace("open: true", "open: false"))
        (closing,) = plan(cli, m)
        assert (closing["action"], closing["reason"]) == ("update", "open turned off: close the batch")
        assert cli("apply", str(m), "--yes").code == 0
        assert remote(server.url, case.provider, second)["open"] is False
    m.write_text(f"version: 1\nproject: truth\ntargets:\n  t: {case.target.format(url=server.url)}\n")
    (gone,) = [c for c in plan(cli, m) if c["address"] == case.address]
    assert gone["action"] == "delete" and gone["details"] == {"cancel": True}
    assert cli("apply", str(m), "--yes").code == 0
    assert remote(server.url, case.provider, second)["status"] == cancelled
    assert json.loads(cli("status", "-m", str(m), "--json").out) == []


@pytest.mark.parametrize("world", ["pasqal"], indirect=True)
def test_retagging_and_closing_a_batch_in_one_apply_does_both(
    world: tuple[Case, EmulatorServer, Path], cli: Cli
) -> None:
    """The bug: the close hid the tag edit, which was recorded in the state and never sent."""
    case, server, m = world
    m.write_text(case.manifest(server.url))
    assert cli("apply", str(m), "--yes").code == 0
    m.write_text(case.manifest(server.url, tags="[c]").replace("open: true", "open: false"))
    (change,) = plan(cli, m)
    assert (change["action"], change["reason"]) == ("update", "open turned off: close the batch; tags +c -a")
    assert cli("apply", str(m), "--yes").code == 0
    seen = remote(server.url, "pasqal", remote_id(cli, m, case.address))
    assert (seen["tags"], seen["open"]) == (["c"], False)


@pytest.mark.parametrize("world", ["azure"], indirect=True)
def test_an_update_the_provider_does_not_show_fails_the_apply(
    world: tuple[Case, EmulatorServer, Path], cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    from runner.domain.model import Attrs
    from runner.domain.remote import RemoteRef
    from runner.providers.azure.provider import AzureProvider

    case, server, m = world
    m.write_text(case.manifest(server.url))
    assert cli("apply", str(m), "--yes").code == 0

    def swallowed(self: AzureProvider, ref: RemoteRef, attrs: Attrs) -> None:
        return None  # what the old code did for sessions: send nothing, claim success

    monkeypatch.setattr(AzureProvider, "update", swallowed)
    m.write_text(case.manifest(server.url, tags="[a, b]"))
    ran = cli("apply", str(m), "--yes")
    assert ran.code == 1
    assert "job.j: update failed: job.j: updated, but the provider shows tags ['a'] (sent ['a', 'b'])" in ran.out
    (still,) = plan(cli, m)  # nothing was recorded as done
    assert (still["action"], still["reason"]) == ("update", "tags +b")


@pytest.mark.parametrize("world", ["superstaq"], indirect=True)
def test_an_unchangeable_edit_can_be_a_replace_instead(world: tuple[Case, EmulatorServer, Path], cli: Cli) -> None:
    case, server, m = world
    m.write_text(case.manifest(server.url))
    assert cli("apply", str(m), "--yes").code == 0
    first = remote_id(cli, m, case.address)
    m.write_text(case.manifest(server.url, tags="[z]"))
    (change,) = plan(cli, m, "--unchangeable", "replace")
    assert change["action"] == "replace"
    assert change["reason"] == (
        "tags +z -a: the provider cannot change tags in place, so a new generation carries it (--unchangeable replace)"
    )
    assert cli("apply", str(m), "--yes", "--unchangeable", "replace").code == 0
    second = remote_id(cli, m, case.address)
    assert second != first and remote(server.url, "superstaq", second)["tags"] == ["z"]


def test_a_workload_is_created_observed_cancelled_and_its_results_fetched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Cli
) -> None:
    """The bug: a manifest with workloads planned `+ workload.wl create`, apply said complete, nothing was sent."""
    monkeypatch.setenv("PASQAL_TOKEN", "t")
    server = emulators.start("pasqal")
    try:
        target = CASES["pasqal"].target.format(url=server.url)
        head = f"version: 1\nproject: truth\ntargets:\n  t: {target}\n"
        workload = "workloads:\n  wl: {target: t, workload_type: demo, backend: emu, config: {steps: 3}}\n"
        m = tmp_path / "m.yaml"
        m.write_text(head + workload)
        applied = cli("apply", str(m), "--yes")
        assert applied.code == 0, applied.out + applied.err
        (held,) = httpx.get(f"{server.url}/_admin/state").json()["workloads"]
        assert (held["workload_type"], held["backend"], held["config"]) == ("demo", "emu", {"steps": 3})
        assert remote_id(cli, m, "workload.wl") == held["id"]
        waited = cli("wait", "-m", str(m), "--timeout", "60")
        assert waited.code == 0, waited.err
        result = json.loads(cli("results", "workload.wl", "-m", str(m), "--json").out)
        assert result["address"] == "workload.wl" and result["generation"] == 1
        m.write_text(head + workload.replace("steps: 3", "steps: 4"))  # a new generation; the old one finished
        assert [(c["action"], c["address"]) for c in plan(cli, m)] == [("replace", "workload.wl")]
        assert cli("apply", str(m), "--yes").code == 0
        assert len(httpx.get(f"{server.url}/_admin/state").json()["workloads"]) == 2
    finally:
        server.stop()


def test_a_running_workload_removed_from_the_manifest_is_cancelled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Cli
) -> None:
    monkeypatch.setenv("PASQAL_TOKEN", "t")
    server = emulators.start("pasqal", faults=Faults(queue_delay=3600))
    try:
        head = f"version: 1\nproject: truth\ntargets:\n  t: {CASES['pasqal'].target.format(url=server.url)}\n"
        m = tmp_path / "m.yaml"
        m.write_text(head + "workloads:\n  wl: {target: t, workload_type: demo, backend: emu, config: {}}\n")
        assert cli("apply", str(m), "--yes").code == 0
        m.write_text(head)
        (gone,) = plan(cli, m)
        assert (gone["action"], gone["details"]) == ("delete", {"cancel": True})
        assert cli("apply", str(m), "--yes").code == 0
        (held,) = httpx.get(f"{server.url}/_admin/state").json()["workloads"]
        assert held["status"] == "CANCELED"
    finally:
        server.stop()


def test_the_service_a_resource_lives_on_is_part_of_its_identity(
    tmp_path: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bug: pointing a target at another service planned "no changes", so one service's results passed for
    another's. Now plan says the recorded generation lives elsewhere and replaces it there, leaving it be."""
    for key, value in CREDENTIALS.items():
        monkeypatch.setenv(key, value)
    shutil.copytree(EXAMPLES / "circuits", tmp_path / "circuits")
    first, second = emulators.start("azure", faults=Faults(queue_delay=3600)), emulators.start("azure")
    try:
        case, m = CASES["azure"], tmp_path / "m.yaml"
        m.write_text(case.manifest(first.url))
        assert cli("apply", str(m), "--yes").code == 0
        old = remote_id(cli, m, "job.j")
        m.write_text(case.manifest(second.url))
        (moved,) = plan(cli, m)
        assert moved["action"] == "replace"
        assert moved["reason"].startswith(
            f'the recorded generation lives on another service (azure {{"endpoint":"{first.url}",'
        )
        assert f'than target \'t\' now points at (azure {{"endpoint":"{second.url}",' in moved["reason"]
        assert cli("apply", str(m), "--yes").code == 0
        new = remote_id(cli, m, "job.j")
        assert remote(second.url, "azure", new)["tags"] == ["a"]  # created on the service the target names now
        assert remote(first.url, "azure", old)["status"] == "Waiting"  # the old one was left alone, not cancelled
        assert plan(cli, m) == []
    finally:
        first.stop()
        second.stop()
