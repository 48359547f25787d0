"""The GitOps kit: the pre-commit hook, the GitHub Actions workflow and plan_summary.py."""

from __future__ import annotations

import ast
import json
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from commandlines import invocations, problem
from conftest import ROOT, Ran

CI = ROOT / "examples" / "ci"
SUMMARY = CI / "plan_summary.py"
Cli = Callable[..., Ran]

# pre-commit's hook manifest schema (pre_commit/clientlib.py, MANIFEST_HOOK_DICT)
HOOK_REQUIRED = {"id", "name", "entry", "language"}
HOOK_KEYS = HOOK_REQUIRED | {
    "alias", "files", "exclude", "types", "types_or", "exclude_types", "additional_dependencies", "args",
    "always_run", "fail_fast", "pass_filenames", "description", "language_version", "log_file",
    "minimum_pre_commit_version", "require_serial", "stages", "verbose",
}  # fmt: skip


# the pre-commit hook -------------------------------------------------------------------------
def hooks() -> list[dict[str, Any]]:
    loaded = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert isinstance(loaded, list)
    return loaded


def test_hooks_have_pre_commit_s_required_keys_and_no_others() -> None:
    light, full = hooks()
    assert (light["id"], full["id"]) == ("runner-validate-light", "runner-validate")
    for hook in (light, full):
        assert HOOK_REQUIRED <= set(hook) <= HOOK_KEYS
        assert hook["language"] == "python"  # pre-commit installs this repository with pip
        assert hook["types"] == ["yaml"]
        assert all(isinstance(hook[key], str) for key in ("id", "name", "entry", "language", "files"))
    assert "additional_dependencies" not in light  # runner alone: no qiskit
    assert [d.split(">=")[0] for d in full["additional_dependencies"]] == ["qiskit", "qiskit-qasm3-import"]


def test_hook_entries_are_real_runner_commands() -> None:
    light, full = (shlex.split(h["entry"]) for h in hooks())
    assert (light, full) == (["runner", "validate", "--no-programs"], ["runner", "validate"])
    for entry in (light, full):
        assert problem([*entry[1:], "runner.yaml"]) is None  # pre-commit appends the file names


@pytest.mark.parametrize(
    ("path", "matched"),
    [
        ("runner.yaml", True),
        ("runner.yml", True),
        ("experiments/runner.yaml", True),
        ("experiments/rabi.runner.yaml", True),
        ("a/b/calibration.runner.yml", True),
        ("examples/quickstart.yaml", False),
        ("myrunner.yaml", False),
        ("runner/config.yaml", False),
        ("runner.yaml.orig", False),
        (".github/workflows/runner.yml.bak", False),
    ],
)
def test_hook_files_pattern(path: str, matched: bool) -> None:
    for hook in hooks():
        assert bool(re.search(hook["files"], path)) is matched  # pre-commit uses re.search


def test_the_guide_quotes_the_hook_s_pattern() -> None:
    text = (ROOT / "docs" / "gitops.md").read_text()
    assert all(f"`{hook['files']}`" in text for hook in hooks())


def test_the_example_config_names_the_hooks() -> None:
    config = yaml.safe_load((CI / "pre-commit-config.yml").read_text())
    ids = [hook["id"] for repo in config["repos"] for hook in repo["hooks"]]
    assert ids == ["runner-validate-light"] and {h["id"] for h in hooks()} >= set(ids)


@pytest.mark.parametrize("which", [0, 1])
def test_hook_validates_a_manifest_as_pre_commit_would_call_it(examples: Path, cli: Cli, which: int) -> None:
    hook = hooks()[which]
    good = examples / "runner.yaml"
    good.write_text((examples / "quickstart.yaml").read_text())
    assert cli(*shlex.split(hook["entry"])[1:], str(good)).code == 0
    good.write_text(good.read_text().replace("shots: 1000", "shots: 0"))
    ran = cli(*shlex.split(hook["entry"])[1:], str(good))
    assert ran.code == 1
    assert f"{good}:7:10:" in ran.err


def test_the_light_hook_needs_no_qiskit_and_says_what_it_left_out(examples: Path) -> None:
    """In a process where qiskit cannot be imported, as in the light hook's environment."""
    manifest = examples / "runner.yaml"
    manifest.write_text((examples / "quickstart.yaml").read_text())
    (examples / "circuits" / "rotation.qasm").write_text("OPENQASM 3.0;\nthis is not a program\n")
    code = (
        "import sys\n"
        "for name in ('qiskit', 'qiskit_aer', 'qiskit_qasm3_import'):\n"
        "    sys.modules[name] = None  # importing it now raises ImportError, as when it is not installed\n"
        "from runner.cli import run\n"
        "status = run(sys.argv[1:])\n"
        "print('qiskit imported:', any(m.startswith('qiskit.') for m in sys.modules), file=sys.stderr)\n"
        "sys.exit(status)\n"
    )

    def validate(*args: str) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-c", code, "validate", *args, str(manifest)]
        return subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=examples)

    light = validate("--no-programs")
    assert (light.returncode, light.stdout) == (0, f"{manifest}: valid (5 resource(s); programs read, not parsed)\n")
    assert light.stderr == "qiskit imported: False\n"
    full = validate()
    assert full.returncode == 1
    assert full.stderr.startswith(
        "error: parsing OpenQASM programs needs qiskit, which is not installed: pip install 'runner[qiskit]' "
        "(or check everything else with --no-programs)\n"
    )
    (examples / "circuits" / "rotation.qasm").unlink()  # a missing file is still found without qiskit
    gone = validate("--no-programs")
    assert gone.returncode == 1
    assert gone.stderr.startswith(f"{manifest}:23:14: file not found: {examples}/circuits/rotation.qasm\n")


def test_hook_validates_several_manifests_in_one_call(examples: Path, cli: Cli) -> None:
    first, second, bad = examples / "a.runner.yaml", examples / "b.runner.yaml", examples / "c.runner.yaml"
    first.write_text((examples / "quickstart.yaml").read_text())
    second.write_text((examples / "quickstart.yaml").read_text())
    assert cli("validate", str(first), str(second)).code == 0
    bad.write_text("version: 1\nproject: p\nshotz: 1\n")
    ran = cli("validate", str(first), str(bad), str(second))
    assert ran.code == 1
    assert ran.out.count("valid (5 resource(s))") == 2
    assert ran.err == f"{bad}:3:1: unknown key 'shotz'\n"


# the workflow --------------------------------------------------------------------------------
def workflow() -> dict[Any, Any]:
    loaded = yaml.safe_load((CI / "runner.yml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def steps(job: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = workflow()["jobs"][job]["steps"]
    return found


def step(job: str, name: str) -> dict[str, Any]:
    (found,) = [s for s in steps(job) if s.get("name") == name]
    return found


def scripts() -> Iterator[tuple[str, dict[str, Any]]]:
    for job, spec in workflow()["jobs"].items():
        for s in spec["steps"]:
            if "run" in s:
                yield job, s


def test_workflow_triggers_and_jobs() -> None:
    wf = workflow()
    triggers = wf[True]  # YAML 1.1 reads the key `on` as true
    assert triggers["pull_request"] == {"branches": ["main"]}
    assert triggers["push"] == {"branches": ["main"]}
    assert "schedule" in triggers and "workflow_dispatch" in triggers
    jobs = wf["jobs"]
    assert set(jobs) == {"plan", "apply", "refresh"}
    assert jobs["plan"]["if"] == "github.event_name == 'pull_request'"
    assert jobs["apply"]["if"] == "github.event_name == 'push' && github.ref == 'refs/heads/main'"
    assert wf["permissions"] == {"contents": "read"}
    assert jobs["apply"]["permissions"]["contents"] == "write"


def test_applies_and_refreshes_never_overlap_and_are_never_cancelled() -> None:
    jobs = workflow()["jobs"]
    assert jobs["apply"]["concurrency"] == {"group": "runner-state", "cancel-in-progress": False}
    assert jobs["refresh"]["concurrency"] == jobs["apply"]["concurrency"]
    assert jobs["plan"]["concurrency"]["cancel-in-progress"] is True


def test_workflow_uses_only_well_known_actions_pinned_to_a_major_version() -> None:
    allowed = {
        "actions/checkout",
        "actions/setup-python",
        "actions/upload-artifact",
        "actions/download-artifact",
        "azure/login",  # the OIDC sign-in: Microsoft's own action
    }
    used = [s["uses"] for job in workflow()["jobs"] for s in steps(job) if "uses" in s]
    assert used
    for uses in used:
        name, _, version = uses.partition("@")
        assert name in allowed, uses
        assert re.fullmatch(r"v\d+", version), uses


def test_every_runner_command_in_the_workflow_is_real() -> None:
    calls = [(job, args) for job, s in scripts() for args in invocations(s["run"])]
    used = {(job, args[0]) for job, args in calls}
    assert {("plan", "validate"), ("plan", "plan"), ("apply", "plan"), ("apply", "apply")} <= used
    assert ("refresh", "refresh") in used
    assert [f"{job}: {why}" for job, args in calls if (why := problem(args))] == []


def test_pull_request_plan_saves_the_plan_and_tells_changes_from_errors() -> None:
    run = step("plan", "Plan")["run"]
    (args,) = invocations(run)
    assert args[:2] == ["plan", "$MANIFEST"]
    assert {"--json", "--detailed-exitcode", "--out"} <= set(args)
    assert "set +e" in run
    assert '0) echo "changes=false"' in run and '2) echo "changes=true"' in run and "*) echo" in run
    fail = step("plan", "Fail unless the plan succeeded")
    assert fail["if"] == "steps.plan.outputs.exitcode != '0' && steps.plan.outputs.exitcode != '2'"


def test_the_plan_is_posted_as_summary_and_one_maintained_comment() -> None:
    summary = step("plan", "Summarize the plan")["run"]
    assert 'python "$PLAN_SUMMARY"' in summary and '>> "$GITHUB_STEP_SUMMARY"' in summary
    comment = step("plan", "Comment on the pull request")["run"]
    assert "<!-- runner-plan $MANIFEST -->" in comment
    assert "--method PATCH" in comment and "--method POST" in comment
    for name in ("Summarize the plan", "Comment on the pull request"):
        assert step("plan", name)["if"].startswith("${{ !cancelled()"), name  # also after a failure


@pytest.mark.parametrize(("code", "headline"), [("", "### runner plan did not run"), ("1", "### runner plan failed")])
def test_a_failed_plan_replaces_the_summary_too(tmp_path: Path, code: str, headline: str) -> None:
    assert run_step("plan", "Summarize the plan", tmp_path, CODE=code)[0] == 0
    assert (tmp_path / "step-summary.md").read_text().splitlines()[0] == headline


def test_the_saved_plan_travels_from_pull_request_to_apply() -> None:
    upload = step("plan", "Upload the saved plan")["with"]
    download = step("apply", "Download the reviewed plan")["with"]
    assert upload["name"] == download["name"] == "runner-plan"
    assert "${{ runner.temp }}/plan.json" in upload["path"].splitlines()
    assert download["path"] == "${{ runner.temp }}/reviewed" and "run-id" in download
    choose = step("apply", "Choose the plan to apply")["run"]
    assert "cp reviewed/plan.json plan.json" in choose


def test_apply_takes_the_lock_with_a_timeout_and_handles_stale_plans() -> None:
    (args,) = invocations(step("apply", "Apply")["run"])
    assert args == ["apply", "$RUNNER_TEMP/plan.json", "--lock-timeout", "300"]
    stale = step("apply", "Explain a stale plan")
    assert stale["if"] == "failure() && steps.apply.outputs.exitcode == '3'"
    assert stale["run"].rstrip().endswith("exit 1")
    assert step("apply", "Save the state")["if"] == "always()"


def test_secrets_only_reach_steps_that_run_runner_and_are_never_printed() -> None:
    seen = []
    for job, spec in workflow()["jobs"].items():
        assert "secrets." not in json.dumps(spec.get("env", {})), f"{job}: job-level secrets reach every step"
        for s in spec["steps"]:
            for key, value in s.get("env", {}).items():
                if "secrets." in str(value):
                    assert value == f"${{{{ secrets.{key} }}}}", key
                    assert invocations(s.get("run", "")), f"{job}/{s.get('name')}: secret but no runner"
                    seen.append(key)
            assert "secrets." not in s.get("run", ""), "secrets must come in through env"
            assert not re.search(r"echo[^\n]*\$\{?AZURE", s.get("run", ""))
    assert set(seen) == {"AZURE_QUANTUM_API_KEY"}


def test_secret_names_are_ones_a_manifest_names() -> None:
    azure = yaml.safe_load((ROOT / "examples" / "azure" / "azure.yaml").read_text())
    assert azure["targets"]["ionq"]["credentials"]["api_key_env"] == "AZURE_QUANTUM_API_KEY"


# the workflow's shell, run for real against the quickstart ---------------------------------------
def run_step(job: str, name: str, folder: Path, **env: str) -> tuple[int, dict[str, str]]:
    """Run one `run:` script of the workflow as GitHub does; returns its exit code and step outputs."""
    script = step(job, name)["run"]
    assert "${{" not in script  # values come in through env
    outputs, temp = folder / "github-output", folder / "temp"
    temp.mkdir(exist_ok=True)
    outputs.write_text("")
    full_env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "GITHUB_OUTPUT": str(outputs),
        "GITHUB_STEP_SUMMARY": str(folder / "step-summary.md"),
        "RUNNER_TEMP": str(temp),
        "PLAN_SUMMARY": str(SUMMARY),
        "RUNNER_STATE": str(folder / "state" / "state.db"),
        **env,
    }
    shell = ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script]  # GitHub's `shell: bash`
    done = subprocess.run(shell, cwd=folder, env=full_env, capture_output=True, text=True)
    pairs = [line.split("=", 1) for line in outputs.read_text().splitlines()]
    return done.returncode, {k: v for k, v in pairs}


@pytest.mark.slow
def test_workflow_steps_plan_apply_and_refuse_a_stale_plan(examples: Path) -> None:
    folder = examples.parent
    (folder / "state").mkdir()
    env = {"MANIFEST": "examples/quickstart.yaml"}
    code, out = run_step("plan", "Plan", folder, **env)
    assert (code, out) == (0, {"exitcode": "2", "changes": "true"})
    assert json.loads((folder / "temp" / "plan.json").read_text())["runner-plan"] == 1
    code, out = run_step("plan", "Summarize the plan", folder, CODE="2", **env)
    assert code == 0
    summary = (folder / "step-summary.md").read_text()
    assert summary.startswith("### runner plan for `examples/quickstart.yaml`: 5 to create\n")

    code, out = run_step("apply", "Apply", folder, **env)
    assert (code, out) == (0, {"exitcode": "0"})
    code, out = run_step("apply", "Apply", folder, **env)  # the same saved plan again: stale
    assert (code, out) == (3, {"exitcode": "3"})

    code, out = run_step("plan", "Plan", folder, **env)
    assert (code, out) == (0, {"exitcode": "0", "changes": "false"})


# plan_summary.py ---------------------------------------------------------------------------------
def summarize(document: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SUMMARY), str(document), *args], capture_output=True, text=True, check=False
    )


EDITED = """\
version: 1
project: quickstart
defaults: {shots: 1000, tags: [example:quickstart]}
targets:
  sim: {provider: local}
jobs:
  bell: {target: sim, program: circuits/bell.qasm, shots: 500}
  pair: {target: sim, program: circuits/bell.qasm, shots: 100}
  rotation:
    target: sim
    program: circuits/rotation.qasm
    matrix: {theta: [0.0, 0.7854, 1.5708]}
    tags: [sweep]
"""


@pytest.fixture
def edited(examples: Path, cli: Cli) -> Path:
    """The quickstart applied into a fresh state, then edited: one create, three tag edits (recorded: the local
    simulator keeps tags nowhere else), a replace, a delete."""
    manifest = examples / "quickstart.yaml"
    assert cli("apply", str(manifest), "--yes").code == 0
    manifest.write_text(EDITED)
    return manifest


def plan_json(cli: Cli, manifest: Path, *args: str, code: int = 2) -> Path:
    ran = cli("plan", str(manifest), "--json", "--detailed-exitcode", *args)
    assert ran.code == code, ran.err
    path = manifest.parent / "plan-output.json"
    path.write_text(ran.out)
    return path


def test_summary_of_a_real_plan(edited: Path, cli: Cli) -> None:
    done = summarize(plan_json(cli, edited))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == (
        f"### runner plan for `{edited}`: 1 to create, 3 to record in the state only, 1 to replace, 1 to delete"
    )
    assert lines[2].startswith(f"Planned against state `{edited.parent / '.runner' / 'state.db'}` (serial ")
    assert lines[4:7] == [
        "| create | update | record | replace | delete | move | unchanged |",
        "|---|---|---|---|---|---|---|",
        "| 1 | 0 | 3 | 1 | 1 | 0 | 0 |",
    ]
    text = done.stdout
    assert "<details open><summary><b>+ create</b> (1)</summary>\n\n| address | kind | target | reason |" in text
    assert "| `job.pair` | job | sim | not in state |" in text
    assert "| `job.bell` | job | sim | shots 1000 -> 500 |" in text
    assert (
        "| `job.rotation[theta=0.7854]` | job | sim | tags +sweep (local cannot change tags in place: "
        "recorded locally only) |" in text
    )
    assert "| `job.rotation[theta=3.1416]` | job | sim | not in the manifest |" in text
    assert text.index("+ create") < text.index("= record") < text.index("-/+ replace") < text.index("- delete")
    for absent in ("#### Cost", "#### Changed outside runner", "#### Reconciliation", "#### Blocked", "left out"):
        assert absent not in text  # free local jobs, no budget, nothing drifted


def test_summary_shows_cost_totals_and_the_budget_verdict(edited: Path, cli: Cli) -> None:
    priced = EDITED.replace("sim: {provider: local}", "sim: {provider: local, price: {currency: USD, per_job: 0.25}}")
    edited.write_text(priced.replace("version: 1\n", "version: 1\nbudget: {USD: 0.3}\n"))
    done = summarize(plan_json(cli, edited, code=5))
    text = done.stdout
    assert "Estimated cost of the 2 job(s) this plan submits:" in text
    assert "| USD | 0.50 | 0.3 | **over** |" in text
    assert "Budget: **refused**, apply will not run this plan: over budget: USD 0.50 planned, budget 0.3." in text
    assert "| `job.pair` | USD | 0.25 | exact | targets.sim.price |" in text

    edited.write_text(priced.replace("version: 1\n", "version: 1\nbudget: {USD: 1}\n"))
    text = summarize(plan_json(cli, edited)).stdout
    assert "| USD | 0.50 | 1 | ok |" in text and "Budget: within the budget." in text


def test_summary_counts_what_target_left_out(edited: Path, cli: Cli) -> None:
    text = summarize(plan_json(cli, edited, "--target", "job.bell")).stdout
    assert text.splitlines()[0].endswith(": 1 to replace")
    assert "\n5 other change(s) left out by `--target`/`--exclude`.\n" in text


def test_summary_shows_drift_reconciliation_and_blocked_addresses(edited: Path, cli: Cli) -> None:
    from runner.applying.reconcile import Finding
    from runner.planning.drift import Drift

    document = plan_json(cli, edited)
    doc = json.loads(document.read_text())
    # the CLI's own as_json, for what a local apply cannot produce: a provider changing things, an apply dying
    doc["drift"] = [Drift("job.bell", "tags", ["a"], ["a", "b|c"], "tags edited outside runner: a, b|c").as_json()]
    found = Finding("job.pair", 1, 3, "ambiguous", "found 2 jobs with its token", candidates=("x1", "x2"))
    doc["reconciliation"] = [found.as_json()]
    blocked = {"address": "job.zz", "action": "noop", "reason": "blocked: ambiguous", "details": {"blocked": True}}
    doc["changes"].append({**doc["changes"][0], **blocked})
    document.write_text(json.dumps(doc))
    text = summarize(document).stdout
    assert "#### Changed outside runner (drift)" in text
    assert '| `job.bell` | tags | `["a"]` | `["a", "b\\|c"]` | tags edited outside runner: a, b\\|c |' in text
    assert "#### Reconciliation of interrupted submissions" in text
    assert "| `job.pair` | 1 | ambiguous |  | `x1`, `x2` | found 2 jobs with its token |" in text
    assert "#### Blocked" in text and "| `job.zz` | blocked: ambiguous |" in text


def test_summary_of_a_plan_with_no_changes(examples: Path, cli: Cli) -> None:
    manifest = examples / "quickstart.yaml"
    assert cli("apply", str(manifest), "--yes").code == 0
    text = summarize(plan_json(cli, manifest, code=0)).stdout
    assert text.splitlines()[0] == f"### runner plan for `{manifest}`: no changes"
    assert "<details" not in text


def test_summary_of_a_saved_plan_shows_its_cost_too(edited: Path, cli: Cli) -> None:
    assert cli("plan", str(edited), "--out", "saved.json").code == 0
    text = summarize(Path("saved.json")).stdout
    assert "No cost section" not in text  # free local jobs and no budget: nothing to say, as in the text plan


def test_summary_refuses_what_it_cannot_read(tmp_path: Path) -> None:
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"format_version": "2", "changes": []}))
    done = summarize(other)
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == f"error: {other} has plan format '2'; this script reads '1'\n"
    other.write_text("not json")
    assert summarize(other).stderr.startswith(f"error: cannot read a plan from {other}: ")


def test_summary_limits_rows(edited: Path, cli: Cli) -> None:
    text = summarize(plan_json(cli, edited), "--limit", "1").stdout
    assert "| `job.rotation[theta=0.0]` | job | sim | tags +sweep (local cannot change tags in place" in text
    assert "| `job.rotation[theta=0.7854]` |" not in text
    assert "... and 2 more not shown." in text


def test_plan_summary_uses_only_the_standard_library() -> None:
    modules = set()
    for node in ast.walk(ast.parse(SUMMARY.read_text())):
        if isinstance(node, ast.Import):
            modules |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module.split(".")[0])
    assert "json" in modules
    assert modules - {"__future__"} <= sys.stdlib_module_names


def test_every_job_can_sign_in_to_azure_with_oidc_and_no_stored_secret() -> None:
    """The OIDC variant: GitHub's token exchanged for an Entra one by azure/login, for `azure_identity: default`."""
    for job in ("plan", "apply", "refresh"):
        names = [s.get("name") for s in steps(job)]
        login = step(job, "Sign in to Azure (OIDC, no stored secret)")
        assert login["uses"] == "azure/login@v2"
        assert login["if"] == "vars.AZURE_CLIENT_ID != ''"  # the API-key setup skips it
        assert login["with"] == {
            "client-id": "${{ vars.AZURE_CLIENT_ID }}",
            "tenant-id": "${{ vars.AZURE_TENANT_ID }}",
            "subscription-id": "${{ vars.AZURE_SUBSCRIPTION_ID }}",
        }
        assert names.index("Install runner") + 1 == names.index(login["name"])  # before anything runs runner
        assert workflow()["jobs"][job]["permissions"]["id-token"] == "write"
    assert "azure-identity" in workflow()["env"]["RUNNER_PACKAGE"]
