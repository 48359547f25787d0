"""PostgreSQL state for teams, end to end: the CLI on a real server, passwords, moving state, the lease
across processes (two applies on one project queue, on two projects they overlap), and a connection
killed mid-apply. The server is the one .ci/postgres.sh started (RUNNER_TEST_POSTGRES).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from backends import POSTGRES, drop, fresh_database, needs_postgres, password, query
from conftest import ROOT, ROTATION, Ran, write

from runner import emulators

sys.path.insert(0, str(ROOT / "benchmarks"))
import census
import chaos

Cli = Callable[..., Ran]


@pytest.fixture
def pg() -> Iterator[Callable[[str], str]]:
    """Project names unique to this test (dropped afterwards); returns the server URL maker."""
    url = needs_postgres()
    made: list[str] = []

    def named(prefix: str) -> str:
        made.append(f"{prefix}-{uuid.uuid4().hex[:8]}")
        return made[-1]

    yield named
    for name in made:
        drop(url, name)


def local_manifest(folder: Path, name: str) -> Path:
    write(folder, "circuits/rotation.qasm", ROTATION)
    return write(
        folder,
        "m.yaml",
        f"version: 1\nproject: {name}\ndefaults: {{shots: 100}}\ntargets:\n  sim: {{provider: local}}\n"
        "jobs:\n  rot: {target: sim, program: circuits/rotation.qasm, matrix: {theta: [0.0, 1.5, 3.0]}}\n",
    )


def test_every_command_reads_and_writes_a_postgres_state(tmp_path: Path, cli: Cli, pg: Callable[[str], str]) -> None:
    name = pg("e2e")
    m = str(local_manifest(tmp_path, name))
    applied = cli("apply", m, "--yes", "--state", POSTGRES)
    assert applied.code == 0, applied.err
    ran = cli("plan", m, "--state", POSTGRES)
    assert ran.code == 0 and f"against {POSTGRES}?project={name} (serial" in ran.out and "No changes." in ran.out
    status = json.loads(cli("status", "-m", m, "--state", POSTGRES, "--json").out)
    wanted = [(f"job.rot[theta={t}]", "succeeded") for t in ("0.0", "1.5", "3.0")]
    assert sorted((s["address"], s["status"]) for s in status) == wanted
    results = json.loads(cli("results", "--state", f"{POSTGRES}?project={name}", "--json").out)
    assert len(results) == 3 and all(r["shots"] == 100 for r in results)
    history = json.loads(cli("history", "-m", m, "--state", POSTGRES, "--json").out)
    assert [(h["operation"], h["outcome"]) for h in history] == [("apply", "ok")]
    assert cli("report", "-m", m, "--state", POSTGRES, "--out", "r.html").code == 0
    assert name in Path("r.html").read_text()
    listed = cli("state", "projects", "--state", POSTGRES, "--json")
    mine = [p for p in json.loads(listed.out) if p["project"] == name]
    assert [(p["serial"], p["resources"], p["locked_by"]) for p in mine] == [(history[0]["serial_after"], 3, None)]
    # another manifest's project never reads or writes this one's rows
    other = pg("other")
    m2 = str(local_manifest(tmp_path / "two", other))
    assert cli("apply", m2, "--yes", "--state", POSTGRES).code == 0
    assert len(json.loads(cli("status", "-m", m, "--state", POSTGRES, "--json").out)) == 3
    refused = cli("plan", m2, "--state", f"{POSTGRES}?project={name}")
    assert refused.code == 1
    assert refused.err == (
        f"error: {POSTGRES}?project={name} holds the state of project '{name}', not '{other}': "
        "give this manifest its own state (--state PATH, or a folder of its own)\n"
    )


def test_a_password_in_the_url_is_refused_without_being_echoed(cli: Cli) -> None:
    needs_postgres()
    secret = "s3cr3t-Pa55"
    for url in (
        POSTGRES.replace("runner@", f"runner:{secret}@") + "?project=x",
        f"{POSTGRES}?project=x&password={secret}",
    ):
        ran = cli("status", "--state", url)
        assert ran.code == 1 and secret not in ran.out + ran.err
        assert "use PGPASSWORD, ~/.pgpass (PGPASSFILE), PGSERVICE, or ?password_env=VARIABLE" in ran.err
        assert len(ran.err.splitlines()) == 1


def test_password_env_names_the_variable_holding_it(
    cli: Cli, pg: Callable[[str], str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    url = needs_postgres()
    name = pg("pw")
    right = password(url)
    monkeypatch.delenv("PGPASSFILE")  # only password_env can give it now
    monkeypatch.setenv("LAB_DB_PASSWORD", "wrong-" + right[:6])
    state = f"{url}?project={name}&password_env=LAB_DB_PASSWORD"
    m = str(local_manifest(tmp_path, name))
    wrong = cli("apply", m, "--yes", "--state", state)
    assert wrong.code == 1 and "password authentication failed" in wrong.err
    assert right[:6] not in wrong.err and len(wrong.err.splitlines()) == 1
    monkeypatch.setenv("LAB_DB_PASSWORD", right)
    ran = cli("apply", m, "--yes", "--state", state)
    assert ran.code == 0, ran.err
    assert right not in ran.out + ran.err
    history = json.loads(cli("history", "--state", state, "--json").out)
    assert right not in json.dumps(history)
    monkeypatch.delenv("LAB_DB_PASSWORD")
    unset = cli("status", "--state", state)
    assert unset.err == f"error: {state}: password_env names LAB_DB_PASSWORD, which is not set in the environment\n"


def test_state_moves_from_a_file_to_postgres_and_back_unchanged(
    tmp_path: Path, cli: Cli, pg: Callable[[str], str]
) -> None:
    name = pg("move")
    m = str(local_manifest(tmp_path, name))
    assert cli("apply", m, "--yes").code == 0
    source = tmp_path / ".runner" / "state.db"
    before = source.read_bytes()
    there = cli("state", "migrate", "-m", m, "--to", POSTGRES)
    assert there.code == 0, there.err
    assert source.read_bytes() == before  # the source is only read
    digest = there.out.splitlines()[-1]
    assert digest.startswith("digest sha256:") and digest.endswith(" (source and copy)")
    assert f"to {POSTGRES}?project={name}: 3 resources, 3 generations, 3 results, 3 intents, 1 applies" in there.out
    back = cli("state", "migrate", "--state", f"{POSTGRES}?project={name}", "--to", str(tmp_path / "back.db"))
    assert back.code == 0, back.err
    assert back.out.splitlines()[-1] == digest
    for state in (f"{POSTGRES}?project={name}", str(tmp_path / "back.db")):
        ran = cli("plan", m, "--state", state)
        assert ran.code == 0 and "No changes." in ran.out, ran.out  # same lineage: nothing to redo
        assert json.loads(cli("results", "--state", state, "--json").out) == json.loads(
            cli("results", "-m", m, "--json").out
        )
    again = cli("state", "migrate", "-m", m, "--to", POSTGRES)
    assert again.code == 1 and again.err.endswith(
        "already holds a state; runner will not overwrite it (choose a new location)\n"
    )


# real processes: the lease across processes, and a connection killed mid-apply -----------------
@pytest.fixture
def slow_azure() -> Iterator[str]:
    """An Azure emulator answering every request after 0.15 s, jobs left queued."""
    cmd = [sys.executable, "-m", "runner", "emulate", "azure", "--port", "0", "--latency", "0.15"]
    proc = subprocess.Popen(
        [*cmd, "--queue-delay", "3600"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    yield url
    proc.terminate()
    proc.wait(timeout=30)


@pytest.mark.parametrize("provider", ["azure", "superstaq", "pasqal"])
def test_each_emulator_applies_against_a_postgres_state(
    provider: str, tmp_path: Path, cli: Cli, pg: Callable[[str], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    name = pg(provider)
    server = emulators.start(provider)
    try:
        for key, value in chaos.ENV.items():
            monkeypatch.setenv(key, value)
        write(tmp_path, "rotation.qasm", chaos.ROTATION)
        write(tmp_path, "rabi.json", chaos.SEQUENCE)
        m = str(write(tmp_path, "m.yaml", chaos.manifest(provider, server.url, 1, 4, "v0.2.0", project=name)))
        applied = cli("apply", m, "--yes", "--state", POSTGRES)
        assert applied.code == 0, applied.out + applied.err
        counted = census.COUNT[provider](server.url)
        assert len(counted) >= 4 and set(counted.values()) == {1}, counted  # each job once at the provider
        again = cli("apply", m, "--yes", "--state", POSTGRES)
        assert again.code == 0 and "No changes." in again.out
        status = json.loads(cli("status", "-m", m, "--state", POSTGRES, "--json").out)
        jobs = [s for s in status if s["kind"] not in ("batch", "session")]
        assert len(jobs) == len(counted) and all(s["remote_id"] for s in status)
    finally:
        server.stop()


def azure_manifest(folder: Path, url: str, trial: int, jobs: int) -> Path:
    write(folder, "rotation.qasm", chaos.ROTATION)
    return write(folder, "m.yaml", chaos.manifest("azure", url, trial, jobs, "v0.2.0"))


def start(manifest: Path, *extra: str) -> subprocess.Popen[str]:
    cmd = [sys.executable, "-m", "runner", "apply", str(manifest), "--yes", "--state", POSTGRES, *extra]
    env = {**os.environ, **chaos.ENV, "PGPASSFILE": os.environ["PGPASSFILE"]}
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def wait_for(condition: Callable[[], object], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError("condition not reached")


def exact(url: str, trial: int, jobs: int) -> bool:
    mine = {a: n for a, n in census.azure(url).items() if chaos.belongs(a, trial)}
    return len(mine) == jobs and set(mine.values()) == {1}


def trial_of(pg: Callable[[str], str]) -> int:
    """A chaos trial number (its project is chaos-N) registered for clean-up."""
    n = int(uuid.uuid4().int % 10**6) + 1000
    pg("unused")
    return n


@pytest.mark.slow
def test_same_project_queues_and_names_the_holder_different_projects_overlap(
    tmp_path: Path, slow_azure: str, pg: Callable[[str], str]
) -> None:
    a, b = trial_of(pg), trial_of(pg)
    try:
        one = azure_manifest(tmp_path / "a", slow_azure, a, 30)
        two = azure_manifest(tmp_path / "b", slow_azure, b, 30)
        first = start(one, "--parallelism", "2")
        wait_for(lambda: query(POSTGRES, f"chaos-{a}", "SELECT 1 FROM intents"))
        same = start(one, "--lock-timeout", "1")
        _, err = same.communicate(timeout=120)
        assert same.returncode == 4
        assert err.startswith("error: the state is locked: apply by ") and f"(pid {first.pid} on " in err
        other = start(two, "--parallelism", "2")  # another project: no waiting on the first one's lease
        for proc in (first, other):
            out, err = proc.communicate(timeout=300)
            assert proc.returncode == 0, out + err
        runs = [query(POSTGRES, f"chaos-{t}", "SELECT started_at, finished_at FROM applies") for t in (a, b)]
        (start_a, end_a), (start_b, end_b) = runs[0][0], runs[1][0]
        assert str(start_b) < str(end_a) and str(start_a) < str(end_b)  # the two applies ran at the same time
        assert exact(slow_azure, a, 30) and exact(slow_azure, b, 30)
    finally:
        drop(POSTGRES, f"chaos-{a}")
        drop(POSTGRES, f"chaos-{b}")


@pytest.mark.slow
def test_a_connection_killed_mid_apply_ends_it_with_one_line_and_the_next_apply_reconciles(
    tmp_path: Path, slow_azure: str, pg: Callable[[str], str]
) -> None:
    trial = trial_of(pg)
    try:
        manifest = azure_manifest(tmp_path, slow_azure, trial, 30)
        proc = start(manifest, "--parallelism", "2")
        wait_for(lambda: query(POSTGRES, f"chaos-{trial}", "SELECT 1 FROM intents WHERE state = 'done'"))
        killed = query(
            POSTGRES,
            f"chaos-{trial}",
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'runner'",
        )
        assert killed and all(k == (True,) for k in killed)
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 1, out + err
        assert len(err.splitlines()) == 1 and "Traceback" not in out + err
        assert err.startswith(f"error: {POSTGRES}?project=chaos-{trial}: lost the connection to the state database")
        left_open = query(POSTGRES, f"chaos-{trial}", "SELECT count(*) FROM intents WHERE state = 'open'")[0][0]
        again = start(manifest, "--lock-timeout", "30")
        out, err = again.communicate(timeout=300)
        assert again.returncode == 0, out + err
        assert exact(slow_azure, trial, 30)
        assert query(POSTGRES, f"chaos-{trial}", "SELECT count(*) FROM intents WHERE state = 'open'") == [(0,)]
        assert isinstance(left_open, int)
    finally:
        drop(POSTGRES, f"chaos-{trial}")


def test_a_manifest_of_another_project_is_refused_by_a_url_naming_one(
    tmp_path: Path, cli: Cli, pg: Callable[[str], str]
) -> None:
    name, other = pg("named"), pg("other")
    m = str(local_manifest(tmp_path, other))
    ran = cli("apply", m, "--yes", "--state", f"{POSTGRES}?project={name}")
    assert ran.code == 1
    assert ran.err == (
        f"error: {POSTGRES}?project={name} holds the state of project '{name}', not '{other}': "
        "give this manifest its own state (--state PATH, or a folder of its own)\n"
    )


# docs/teams.md's walkthrough, run as written -------------------------------------------------------
DOC_URL = "postgresql://runner@db.lab.example:5432/runner"


def walkthrough() -> list[str]:
    text = (ROOT / "docs" / "teams.md").read_text()
    block = text.split("<!-- tested:", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line.strip()]


def test_the_teams_guide_walkthrough_runs(examples: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    url = needs_postgres()
    monkeypatch.chdir(examples.parent)
    lines = walkthrough()
    assert lines[0].startswith(f"export RUNNER_STATE={DOC_URL}") and len(lines) >= 8
    with fresh_database(url) as db:
        outputs = []
        for line in lines:
            line = line.replace(DOC_URL, db)
            if line.startswith("export "):
                key, value = line.removeprefix("export ").split("=", 1)
                monkeypatch.setenv(key, value)
                continue
            ran = cli(*shlex.split(line)[1:])
            assert ran.code == 0, (line, ran.out, ran.err)
            outputs.append(ran.out)
    assert "No changes." in outputs[1]  # plan after apply
    assert re.match(r"quickstart  serial \d+, 5 resource\(s\), last apply \S+ ok$", outputs[2])  # state projects
    assert outputs[-2].splitlines()[-1].startswith("digest sha256:")  # migrate printed its digest
    assert "No changes." in outputs[-1]  # the copy is the same state
