"""The package layout is a contract: which stage may import what (read from the source, not the docs)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "runner"


def modules() -> Iterator[tuple[str, set[str]]]:
    """(module path relative to runner/, every module it imports, at any depth of the file)."""
    for path in sorted(PACKAGE.rglob("*.py")):
        imported: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                imported.add(node.module)
                imported.update(f"{node.module}.{alias.name}" for alias in node.names)
        yield path.relative_to(PACKAGE).as_posix(), imported


def offenders(allowed_in: str, imports: tuple[str, ...]) -> list[str]:
    found = []
    for where, imported in modules():
        if where.startswith(allowed_in):
            continue
        bad = sorted(m for m in imported if any(m == name or m.startswith(name + ".") for name in imports))
        if bad:
            found.append(f"{where}: {', '.join(bad)}")
    return found


@pytest.mark.parametrize(
    ("allowed_in", "imports"),
    [
        ("state/", ("sqlite3", "psycopg")),  # all SQL lives in the state package
        ("cli/", ("click",)),  # only the command line knows click
        ("providers/", ("httpx",)),  # only providers speak HTTP to a provider
    ],
)
def test_only_one_package_imports(allowed_in: str, imports: tuple[str, ...]) -> None:
    assert offenders(allowed_in, imports) == []


def test_the_cli_calls_only_the_use_cases_and_the_renderers() -> None:
    allowed = ("runner.app", "runner.render", "runner.errors", "runner.domain", "runner.cli", "runner.emulators")
    bad = []
    for where, imported in modules():
        if not where.startswith("cli/"):
            continue
        for name in sorted(imported):
            if name.startswith("runner.") and not name.startswith(allowed) and name not in ("runner.__version__",):
                bad.append(f"{where}: {name}")
    assert bad == []


@pytest.mark.parametrize(
    ("package", "may_use"),
    [
        ("domain/", ("runner.domain", "runner.errors")),
        ("expand/", ("runner.domain", "runner.errors", "runner.expand")),
    ],
)
def test_pure_stages_touch_nothing_else(package: str, may_use: tuple[str, ...]) -> None:
    bad = [
        f"{where}: {name}"
        for where, imported in modules()
        if where.startswith(package)
        for name in sorted(imported)
        if name.startswith("runner.") and not name.startswith(may_use)
    ]
    assert bad == []


def test_no_module_passes_the_size_budget() -> None:
    """STYLE.md: none past ~500 lines (a module that grows past it is split, not excused)."""
    sizes = {p.relative_to(PACKAGE).as_posix(): len(p.read_text().splitlines()) for p in PACKAGE.rglob("*.py")}
    big = [f"{where}: {n}" for where, n in sorted(sizes.items()) if n > 500]
    assert big == []


def package_graph() -> set[tuple[str, str]]:
    """(package, package it imports) over runner's subpackages, errors and domain left out."""
    edges: set[tuple[str, str]] = set()
    for where, imported in modules():
        if "/" not in where:
            continue
        source = where.split("/")[0]
        for name in imported:
            parts = name.split(".")
            if parts[0] != "runner" or len(parts) < 2:
                continue
            target = parts[1]
            if target not in (source, "errors", "domain", "__version__") and (PACKAGE / target).is_dir():
                edges.add((source, target))
    return edges


def test_the_architecture_picture_shows_every_dependency() -> None:
    text = (PACKAGE.parent / "docs" / "architecture.md").read_text()
    listed = text.split("<!-- edges:")[1].split("-->")[0].split()
    documented = {tuple(edge.split(">")) for edge in listed}
    for source, target in documented:
        assert f"{source} -->" in text or f"{source} -." in text, (source, target)
    hidden = sorted(package_graph() - documented)
    assert hidden == [], "docs/architecture.md's package graph misses these imports"
