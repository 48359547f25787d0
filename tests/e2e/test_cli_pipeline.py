"""The core acceptance points, end to end through the CLI on the local simulator."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from conftest import ROOT, ROTATION, Ran, write

QUICK = "examples/quickstart.yaml"


def test_apply_then_apply_again_submits_nothing(examples: Path, cli: Callable[..., Ran]) -> None:
    first: Ran = cli("apply", QUICK, "--yes")
    assert first.code == 0, first.err
    assert "Apply complete: 5 created, 0 updated, 0 replaced, 0 deleted, 0 failed" in first.out
    assert "job.bell  00=" in first.out  # results are printed
    second: Ran = cli("apply", QUICK, "--yes")
    assert second.code == 0
    assert "No changes. 5 resource(s) match the manifest; nothing to submit." in second.out
    assert "created" not in second.out
    assert cli("plan", QUICK, "--detailed-exitcode").code == 0
    history = json.loads(cli("history", "-m", QUICK, "--json").out)
    assert [h["summary"]["create"] for h in history] == [5]  # the no-op apply submitted nothing


def test_changing_one_sweep_value_is_one_create_and_one_delete(examples: Path, cli: Callable[..., Ran]) -> None:
    assert cli("apply", QUICK, "--yes").code == 0
    path = examples / "quickstart.yaml"
    path.write_text(path.read_text().replace("3.1416]", "3.0]"))
    ran: Ran = cli("plan", QUICK, "--json", "--detailed-exitcode")
    assert ran.code == 2
    doc = json.loads(ran.out)
    assert doc["format_version"] == "1"
    assert doc["summary"] == {"create": 1, "update": 0, "record": 0, "replace": 0, "delete": 1, "move": 0, "noop": 4}
    changed = [(c["address"], c["action"], c["reason"]) for c in doc["changes"] if c["action"] != "noop"]
    assert changed == [
        ("job.rotation[theta=3.0]", "create", "not in state"),
        ("job.rotation[theta=3.1416]", "delete", "not in the manifest"),
    ]
    text = cli("plan", QUICK).out
    assert "  + job.rotation[theta=3.0]" in text and "  - job.rotation[theta=3.1416]" in text
    assert "Plan: 1 to create, 0 to update, 0 to replace, 1 to delete, 4 unchanged." in text


def test_in_place_update_and_replace(project: Path, cli: Callable[..., Ran]) -> None:
    m = write(project, "m.yaml", "version: 1\nproject: p\njobs:\n  bell: {program: circuits/bell.qasm, shots: 100}\n")
    assert cli("apply", str(m), "--yes").code == 0
    m.write_text(m.read_text().replace("shots: 100}", "shots: 100, tags: [new]}"))
    plan = json.loads(cli("plan", str(m), "--json").out)
    # the local simulator keeps no tags anywhere but in the state: said so, never called an update
    assert [(c["action"], c["reason"]) for c in plan["changes"]] == [
        ("record", "tags +new (local cannot change tags in place: recorded locally only)")
    ]
    recorded = cli("apply", str(m), "--yes")
    assert recorded.code == 0
    assert "  = job.bell: recorded in the state only (no provider call)" in recorded.out
    assert "Apply complete: 0 created, 0 updated, 1 recorded in the state only, 0 replaced, 0 deleted" in recorded.out
    m.write_text(m.read_text().replace("shots: 100", "shots: 200"))
    plan = json.loads(cli("plan", str(m), "--json").out)
    assert [(c["action"], c["reason"]) for c in plan["changes"]] == [("replace", "shots 100 -> 200")]
    assert cli("apply", str(m), "--yes").code == 0
    shown = json.loads(cli("show", "job.bell", "-m", str(m), "--json").out)
    assert [(g["generation"], g["retired_reason"]) for g in shown["generations"]] == [
        (1, "replaced as generation 2"),
        (2, None),
    ]
    assert [g["result"]["shots"] for g in shown["generations"]] == [100, 200]  # the old results are kept
    assert shown["attrs"]["tags"] == ["new"]


def test_saved_plan_is_refused_once_the_state_moved(examples: Path, cli: Callable[..., Ran]) -> None:
    assert cli("plan", QUICK, "--out", "plan.json").code == 0
    assert cli("apply", QUICK, "--yes").code == 0
    ran: Ran = cli("apply", "plan.json")
    assert ran.code == 3
    assert ran.err.startswith(
        "error: plan.json is stale: the state changed since it was saved (it did not exist then, now serial "
    )
    assert " by apply #1 at " in ran.err
    assert "written: job.bell, job.rotation[theta=0.0], job.rotation[theta=0.7854]" in ran.err
    assert ran.err.rstrip().endswith("run `runner plan` again")


def test_saved_plan_applies_when_fresh(examples: Path, cli: Callable[..., Ran]) -> None:
    assert cli("apply", QUICK, "--yes").code == 0
    path = examples / "quickstart.yaml"
    path.write_text(path.read_text().replace("3.1416]", "3.0]"))
    assert cli("plan", QUICK, "--out", "plan.json").code == 0
    ran: Ran = cli("apply", "plan.json")
    assert ran.code == 0, ran.err
    assert "Apply complete: 1 created, 0 updated, 0 replaced, 1 deleted, 0 failed" in ran.out
    assert cli("plan", QUICK, "--detailed-exitcode").code == 0


def test_same_manifest_in_two_fresh_states_gives_identical_counts(examples: Path, cli: Callable[..., Ran]) -> None:
    for name in ("one.db", "two.db"):
        assert cli("apply", QUICK, "--yes", "--state", name).code == 0
    one = json.loads(cli("results", "--state", "one.db", "--json").out)
    two = json.loads(cli("results", "--state", "two.db", "--json").out)
    assert [(r["address"], r["counts"], r["seed"]) for r in one] == [
        (r["address"], r["counts"], r["seed"]) for r in two
    ]
    assert len(one) == 5


def test_apply_refuses_without_a_terminal_or_yes(examples: Path, cli: Callable[..., Ran]) -> None:
    ran: Ran = cli("apply", QUICK)
    assert (ran.code, ran.err) == (64, "error: apply needs --yes when stdin is not a terminal\n")
    assert not (examples / ".runner").exists()


def test_state_file_is_private_and_results_export(examples: Path, cli: Callable[..., Ran]) -> None:
    assert cli("apply", QUICK, "--yes").code == 0
    mode = stat.S_IMODE(os.stat(examples / ".runner" / "state.db").st_mode)
    assert mode == 0o600
    one = json.loads(cli("results", "job.bell", "-m", QUICK, "--json").out)
    assert one["address"] == "job.bell" and one["generation"] == 1 and sum(one["counts"].values()) == 1000
    assert set(one["counts"]) <= {"00", "01", "10", "11"} and one["engine"]["name"] == "qiskit-aer"
    csv_text = cli("results", "job.rotation*", "-m", QUICK, "--format", "csv").out.splitlines()
    assert csv_text[0] == "address,theta,circuit,outcome,count,probability,shots,generation,remote_id,target"
    assert csv_text[1].startswith("job.rotation[theta=0.0],0.0,0,0,1000,1.0,1000,1,local-")
    assert csv_text[1].endswith(",local.aer")  # the backend the job ran on, as the provider names it
    rows = json.loads(cli("status", "-m", QUICK, "--json").out)
    assert set(rows[0]) == {"address", "kind", "status", "raw_status", "parent", "generation", "remote_id", "updated"}
    assert {r["status"] for r in rows} == {"succeeded"}


def test_usage_errors_have_their_own_code(cli: Callable[..., Ran]) -> None:
    ran: Ran = cli("plan")
    assert ran.code == 64
    assert ran.err.startswith("error: Missing argument 'MANIFEST'.")
    assert cli("apply", "x.yaml", "--parallelism", "0").code == 64
    assert cli("nonsense").code == 64


def test_missing_manifest_and_state_are_one_line_errors(cli: Callable[..., Ran]) -> None:
    assert cli("validate", "nope.yaml").err == "error: manifest not found: nope.yaml\n"
    ran: Ran = cli("status", "--state", "none.db")
    assert (ran.code, ran.err) == (1, "error: no state file at none.db: nothing has been applied with it yet\n")


def test_console_script_and_module_entry_points(examples: Path) -> None:
    exe = Path(sys.executable).with_name("runner")
    for argv in ([str(exe), "validate", QUICK], [sys.executable, "-m", "runner", "validate", QUICK]):
        done = subprocess.run(argv, capture_output=True, text=True, cwd=examples.parent, timeout=120)
        assert (done.returncode, done.stdout) == (0, f"{QUICK}: valid (5 resource(s))\n"), done.stderr


def test_schema_command_prints_the_shipped_schema(cli: Callable[..., Ran]) -> None:
    ran: Ran = cli("schema")
    assert json.loads(ran.out) == json.loads((ROOT / "schemas" / "manifest.v1.json").read_text())


def test_lock_conflict_exit_code_and_unlock(examples: Path, cli: Callable[..., Ran]) -> None:
    from runner.state import open_store

    assert cli("apply", QUICK, "--yes").code == 0
    path = examples / "quickstart.yaml"
    path.write_text(path.read_text().replace("3.1416]", "3.0]"))
    holder = open_store(str(examples / ".runner" / "state.db")).lease("apply")
    ran: Ran = cli("apply", QUICK, "--yes", "--lock-timeout", "0.3")
    assert ran.code == 4
    assert ran.err.startswith(f"error: the state is locked: apply by {holder.owner} (pid {os.getpid()} on ")
    assert cli("plan", QUICK).code == 0  # plan takes no lock
    refused: Ran = cli("state", "unlock", "-m", QUICK)  # the holder still heart-beats: it may be alive
    assert refused.code == 4
    assert refused.err.startswith(f"error: the state is locked and its holder is alive: apply by {holder.owner}")
    assert "pass --force if you are sure it is gone" in refused.err
    unlocked: Ran = cli("state", "unlock", "-m", QUICK, "--force")
    assert unlocked.out.startswith(f"removed the lock held by {holder.owner}")
    holder.release()
    assert cli("apply", QUICK, "--yes").code == 0


def test_history_records_git_commit_dirtiness_and_versions(examples: Path, cli: Callable[..., Ran]) -> None:
    def git(*args: str) -> str:
        env = {
            **os.environ,
            "GIT_AUTHOR_NAME": "t",
            "GIT_AUTHOR_EMAIL": "t@t",
            "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@t",
        }
        return subprocess.run(["git", *args], cwd=examples, capture_output=True, text=True, env=env, check=True).stdout

    git("init", "-q")
    git("add", ".")
    git("commit", "-qm", "experiment")
    commit = git("rev-parse", "HEAD").strip()
    assert cli("apply", QUICK, "--yes").code == 0  # .runner/ beside the manifest does not count as dirt
    path = examples / "quickstart.yaml"
    path.write_text(path.read_text().replace("3.1416]", "3.0]"))
    assert cli("apply", QUICK, "--yes").code == 0
    runs = json.loads(cli("history", "-m", QUICK, "--json").out)
    assert [(r["git_commit"], r["git_dirty"]) for r in runs] == [(commit, 0), (commit, 1)]
    assert runs[0]["manifest_digest"] != runs[1]["manifest_digest"]
    assert {"runner", "qiskit", "qiskit-aer", "python"} <= set(runs[0]["versions"])
    assert runs[0]["outcome"] == "ok" and runs[0]["summary"]["create"] == 5


def test_two_projects_cannot_share_one_state(examples: Path, cli: Callable[..., Ran]) -> None:
    assert cli("apply", QUICK, "--yes").code == 0
    other = examples / "other.yaml"
    other.write_text((examples / "quickstart.yaml").read_text().replace("project: quickstart", "project: other"))
    ran: Ran = cli("plan", str(other))
    assert ran.code == 1
    assert ran.err == (
        f"error: {examples / '.runner' / 'state.db'} holds the state of project 'quickstart', "
        "not 'other': give this manifest its own state (--state PATH, or a folder of its own)\n"
    )
    assert cli("plan", str(other), "--state", "other.db").code == 0


def test_a_saved_plan_carries_its_selection_and_says_when_there_is_nothing_to_do(
    examples: Path, cli: Callable[..., Ran]
) -> None:
    assert cli("plan", QUICK, "--out", "plan.json", "--target", "job.bell").code == 0
    refused: Ran = cli("apply", "plan.json", "--target", "job.bell")
    assert refused.code == 64 and "a saved plan already carries them" in refused.err
    assert json.loads((examples.parent / "plan.json").read_text())["cost"]["totals"] == {"USD": "0"}
    done: Ran = cli("apply", "plan.json")
    assert done.code == 0 and "1 created" in done.out
    assert cli("plan", QUICK, "--out", "again.json", "--target", "job.bell").code == 0
    nothing: Ran = cli("apply", "again.json")
    assert nothing.out == "No changes: again.json has nothing left to do against the current state.\n"


def test_dirty_means_the_manifest_or_its_programs_differ_from_the_commit(
    examples: Path, cli: Callable[..., Ran]
) -> None:
    def git(*args: str) -> None:
        subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=examples, check=True, capture_output=True
        )

    git("init", "-q")
    git("add", ".")
    git("commit", "-qm", "v1")
    (examples / "report.html").write_text("an output, not an input")
    assert cli("apply", QUICK, "--yes").code == 0
    (examples / "circuits" / "bell.qasm").write_text((examples / "circuits" / "bell.qasm").read_text() + "// edit\n")
    assert cli("apply", QUICK, "--yes").code == 0
    runs = json.loads(cli("history", "-m", QUICK, "--json").out)
    assert [r["git_dirty"] for r in runs] == [0, 1]
    first = json.loads(cli("plan", QUICK, "--json").out)["manifest"]["desired_digest"]
    assert first == json.loads(cli("plan", QUICK, "--json").out)["manifest"]["desired_digest"]


def test_apply_prints_the_first_twenty_results_of_what_it_ran_and_counts_the_rest(
    tmp_path: Path, cli: Callable[..., Ran]
) -> None:
    write(tmp_path, "rotation.qasm", ROTATION)
    thetas = ", ".join(str(round(0.1 * i, 1)) for i in range(25))
    m = write(
        tmp_path,
        "m.yaml",
        "version: 1\nproject: r\njobs:\n  r:\n    program: rotation.qasm\n    shots: 10\n"
        f"    matrix: {{theta: [{thetas}]}}\n",
    )
    first: Ran = cli("apply", str(m), "--yes")
    assert first.code == 0, first.err
    shown = [line for line in first.out.splitlines() if line.startswith("  job.r[theta=") and "=" in line.split()[-1]]
    assert len(shown) == 20 and "  ... and 5 more: runner results -m" in first.out
    # a second run that creates one more job prints only that job's result
    m.write_text(m.read_text().replace("2.4]", "2.4, 9.9]"))
    second: Ran = cli("apply", str(m), "--yes")
    assert second.code == 0, second.err
    after = second.out.split("Results:")[1].splitlines()
    assert [line.split()[0] for line in after if line.strip()] == ["job.r[theta=9.9]"]
