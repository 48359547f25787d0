"""The docs match the code: generated references are current, documented keys and codes are the real ones."""

from __future__ import annotations

import importlib.util
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import click
import pytest
from commandlines import invocations, markdown_shell, option_names, problem
from conftest import ROOT, Ran

DOCS = ROOT / "docs"
PAGES = [*sorted(DOCS.glob("*.md")), ROOT / "README.md"]  # the README's command lines are held to the same checks
Cli = Callable[..., Ran]


def script(name: str) -> ModuleType:
    """Import one of the docs/ generator scripts (they are scripts, not a package)."""
    spec = importlib.util.spec_from_file_location(name, DOCS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_index_links_every_page() -> None:
    index = (DOCS / "README.md").read_text()
    for page in PAGES:
        if page.name != "README.md":
            assert f"]({page.name})" in index, page.name


# cli.md ----------------------------------------------------------------------------------------
def all_commands(group: click.Group, path: str = "runner") -> Iterator[str]:
    for name, command in group.commands.items():
        yield f"{path} {name}"
        if isinstance(command, click.Group):
            yield from all_commands(command, f"{path} {name}")


def test_cli_reference_is_current() -> None:
    assert (DOCS / "cli.md").read_text() == script("gen_cli_reference").render(), (
        "docs/cli.md is out of date: run python docs/gen_cli_reference.py"
    )


def test_cli_reference_has_every_command_and_its_help() -> None:
    from runner.cli import app

    text = (DOCS / "cli.md").read_text()
    commands = list(all_commands(app))
    assert {"runner validate", "runner plan", "runner apply", "runner state unlock"} <= set(commands)
    for path in commands:
        assert f"\n## {path}\n" in text, path
        assert f"Usage: {path} [OPTIONS]" in text, path


# manifest.md -----------------------------------------------------------------------------------
def test_manifest_reference_is_current() -> None:
    generator = script("gen_manifest_reference")
    assert (DOCS / "manifest.md").read_text() == generator.render(generator.load_schema()), (
        "docs/manifest.md is out of date: run python docs/gen_manifest_reference.py"
    )


def sections(text: str) -> dict[str, str]:
    parts = re.split(r"^#{2,3} (.+)$", text, flags=re.MULTILINE)
    return {parts[i].strip(): parts[i + 1] for i in range(1, len(parts) - 1, 2)}


def test_manifest_reference_lists_every_property_of_every_definition() -> None:
    from runner.manifest.schema import schema

    found = sections((DOCS / "manifest.md").read_text())
    wanted = {"Top level": schema(), **schema()["$defs"]}
    for name, definition in wanted.items():
        assert name in found, name
        for prop in definition.get("properties", {}):
            assert f"| `{prop}` |" in found[name], f"{name}.{prop}"
        for key in definition.get("required", ()):
            assert re.search(rf"\| `{re.escape(key)}` \|[^\n]*\| yes \|", found[name]), f"{name}.{key} required"


def test_manifest_reference_example_validates_and_plans(examples: Path, cli: Cli) -> None:
    text = (DOCS / "manifest.md").read_text()
    example = re.search(r"```yaml\n(.*?)```", text, flags=re.DOTALL)
    assert example is not None
    path = examples / "reference-example.yaml"
    path.write_text(example.group(1))
    assert cli("validate", str(path)).code == 0
    ran = cli("plan", str(path), "--detailed-exitcode")
    assert ran.code == 2, ran.err
    assert "Budget: USD 2.80 of 25 (ok)" in ran.out


# exit-codes.md ---------------------------------------------------------------------------------
def test_exit_codes_page_matches_the_enum() -> None:
    from runner.errors import ExitCode

    rows = re.findall(r"^\| (\d+) \| `(\w+)` \| .+ \|$", (DOCS / "exit-codes.md").read_text(), flags=re.MULTILINE)
    assert [(int(code), name) for code, name in rows] == [(int(c), c.name) for c in ExitCode]


def test_the_cli_help_names_the_same_exit_codes() -> None:
    from runner.cli import app
    from runner.errors import ExitCode

    assert app.help is not None
    listed = [int(code) for code in re.findall(r"\b(\d+) [a-z]", app.help.split("Exit codes:")[1])]
    assert listed == [int(c) for c in ExitCode]


# plan-format.md --------------------------------------------------------------------------------
OPEN_MAPS = {"changes[].details", "cost.totals", "cost.budget.limits", "payload"}  # keys are data, not schema
JSON_TYPES = {str: "string", int: "integer", float: "number", bool: "boolean", type(None): "null", dict: "object"}


def key_types(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """(key path, JSON type) of every key in a document; `a[]` stands for the items of array a."""
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else key
            yield where, "array" if isinstance(item, list) else JSON_TYPES[type(item)]
            if where not in OPEN_MAPS:
                yield from key_types(item, where)
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, dict):
                yield from key_types(item, f"{path}[]")


def documented_keys() -> dict[str, set[str]]:
    text = (DOCS / "plan-format.md").read_text().split("## Keys", 1)[1]
    rows = re.findall(r"^\| `([^`]+)` \| ([a-z ]+) \|", text, flags=re.MULTILINE)
    return {key: set(kind.split(" or ")) for key, kind in rows}


PRICED = """\
version: 1
project: quickstart
budget: {USD: 5}
defaults: {shots: 1000}
targets:
  sim: {provider: local, price: {currency: USD, per_job: 0.01, per_shot: 0.0001}}
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
def plan_documents(examples: Path, cli: Cli) -> tuple[dict[str, Any], dict[str, Any]]:
    """A real `plan --json` document with every section filled, and the saved plan made with it."""
    from runner.applying.duplicates import Duplicate
    from runner.applying.reconcile import Finding
    from runner.planning.drift import Drift

    quickstart = str(examples / "quickstart.yaml")
    assert cli("apply", quickstart, "--yes").code == 0
    (examples / "quickstart.yaml").write_text(PRICED)
    ran = cli("plan", quickstart, "--json", "--out", "saved.json")
    assert ran.code == 0, ran.err
    doc = json.loads(ran.out)
    # drift and reconciliation need a provider that changed or an apply that died; their items
    # come from the same as_json the CLI uses
    doc["drift"] = [Drift("job.bell", "status", "running", "cancelled", "running -> cancelled").as_json()]
    finding = Finding("job.pair", 1, 7, "ambiguous", "found twice", candidates=("a", "b"))
    doc["reconciliation"] = [finding.as_json()]
    doc["duplicates"] = [Duplicate("job.pair", "job", "sim", "r-2", "tok", "me@host:1:abc").as_json()]
    doc["duplicates_unchecked"] = ["workload.w: pasqal keeps nothing runner can find a workload by"]
    return doc, json.loads(Path("saved.json").read_text())


def test_plan_format_documents_every_key_with_its_type(plan_documents: tuple[dict[str, Any], dict[str, Any]]) -> None:
    doc, saved = plan_documents
    documented = documented_keys()
    produced: dict[str, set[str]] = {}
    for source in (doc, saved):
        for key, kind in key_types(source):
            produced.setdefault(key, set()).add(kind)
    assert sorted(documented) == sorted(produced)
    wrong = {k: kinds for k, kinds in produced.items() if not kinds <= documented[k] and "any" not in documented[k]}
    assert wrong == {}


def test_saved_plans_are_the_json_document_plus_the_payload(
    plan_documents: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    doc, saved = plan_documents
    assert set(saved) == set(doc) | {"runner-plan", "payload"}
    assert saved["runner-plan"] == 1


def test_plan_format_example_is_a_real_document() -> None:
    text = (DOCS / "plan-format.md").read_text()
    block = re.search(r"```json\n(.*?)```", text, flags=re.DOTALL)
    assert block is not None
    example = json.loads(block.group(1))
    assert example["format_version"] == "1"
    documented = documented_keys()
    assert {key for key, _ in key_types(example)} <= set(documented)
    summary = {"create": 1, "delete": 1, "move": 0, "noop": 0, "record": 3, "replace": 1, "update": 0}
    assert example["summary"] == summary


def test_plan_format_version_is_the_code_s() -> None:
    from runner.planning.planfile import FORMAT_VERSION

    assert FORMAT_VERSION == "1"
    assert 'format_version "1"' in (DOCS / "plan-format.md").read_text()


# every runner command line in the docs exists -------------------------------------------------
def doc_command_lines() -> list[tuple[str, list[str], bool]]:
    found = []
    for page in PAGES:
        for snippet, complete in markdown_shell(page.read_text()):
            found += [(page.name, args, complete) for args in invocations(snippet)]
    return found


def test_docs_contain_command_lines() -> None:
    used = {args[0] for _, args, _ in doc_command_lines() if len(args) > 1}
    assert {"validate", "plan", "apply", "refresh", "state", "import", "history"} <= used


def test_every_runner_command_line_in_the_docs_parses() -> None:
    problems = [f"{page}: {why}" for page, args, complete in doc_command_lines() if (why := problem(args, complete))]
    assert problems == []


def test_every_option_named_alone_in_the_docs_exists() -> None:
    script_options = {"--check", "--limit", "--quick", "--only"}  # the generators', plan_summary.py's, benchmarks'
    known = option_names() | script_options
    unknown = []
    for page in PAGES:
        for span in re.findall(r"`(--[a-z][a-z-]*)(?:[ =][^`]*)?`", page.read_text()):
            if span not in known:
                unknown.append(f"{page.name}: {span}")
    assert unknown == []


def test_relative_links_in_the_docs_resolve() -> None:
    broken = []
    for page in PAGES:
        text = page.read_text()
        for target in re.findall(r"\]\(([^)#\s]+)?(?:#([^)\s]+))?\)", text):
            path, anchor = target
            if path.startswith(("http://", "https://")):
                continue
            file = (page.parent / path).resolve() if path else page
            if not file.exists():
                broken.append(f"{page.name}: {path}")
            elif anchor and file.suffix == ".md" and anchor not in slugs(file.read_text()):
                broken.append(f"{page.name}: {path}#{anchor}")
    assert broken == []


def slugs(markdown: str) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    headings = re.findall(r"^#{1,6} (.+)$", markdown, flags=re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}
