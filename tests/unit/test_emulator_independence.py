"""The emulators are an independent oracle: nothing under runner/emulators imports the rest of runner.

Checked twice: statically (every import statement and every literal `import_module` name in every
module, at any depth, TYPE_CHECKING blocks included) and by importing every emulator module in a
fresh interpreter and listing which runner modules got loaded.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "runner" / "emulators"
MODULES = sorted(PACKAGE.rglob("*.py"))


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def package_of(path: Path) -> str:
    return module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]


def imported(source: str, package: str) -> Iterator[tuple[int, str]]:
    """(line, absolute module name) for each import in a module of `package`, relative ones resolved."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - (node.level - 1)] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            yield from ((node.lineno, f"{module}.{alias.name}" if node.level else module) for alias in node.names)
        elif isinstance(node, ast.Call) and _dynamic_import(node.func) and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                yield node.lineno, first.value


def _dynamic_import(func: ast.expr) -> bool:
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
    return name in ("import_module", "__import__")


def outside(name: str) -> bool:
    """A runner module that is not the emulators package or below it."""
    return (name == "runner" or name.startswith("runner.")) and not (
        name == "runner.emulators" or name.startswith("runner.emulators.")
    )


def test_the_package_has_the_modules_this_test_reads() -> None:
    names = {module_name(p) for p in MODULES}
    roles = {"app", "store", "lifecycle", "execute"}
    for vendor in ("azure", "superstaq", "pasqal"):
        assert {f"runner.emulators.{vendor}.{role}" for role in roles} <= names
    assert {"runner.emulators", "runner.emulators.server", "runner.emulators.simulate"} <= names


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_emulator_module_imports_runner_outside_the_emulators(path: Path) -> None:
    found = imported(path.read_text(), package_of(path))
    offending = [f"{path.name}:{line} imports {name}" for line, name in found if outside(name)]
    assert offending == []


def test_the_checker_sees_each_kind_of_import() -> None:
    source = (
        "import runner.planning.pricing\n"
        "from runner.quantum import simulator\n"
        "from ... import errors\n"
        "from .. import simulate\n"
        "def f() -> None:\n"
        "    from runner.providers.pasqal.provider import DEVICE_TYPES\n"
        "    importlib.import_module('runner.quantum.qasm')\n"
    )
    names = [name for _, name in imported(source, "runner.emulators.azure")]
    assert [n for n in names if outside(n)] == [
        "runner.planning.pricing",
        "runner.quantum",
        "runner.errors",
        "runner.providers.pasqal.provider",
        "runner.quantum.qasm",
    ]
    assert "runner.emulators.simulate" in names


def test_importing_every_emulator_module_loads_no_other_runner_module() -> None:
    names = [module_name(p) for p in MODULES]
    script = (
        "import importlib, json, sys\n"
        f"for name in {names!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(m for m in sys.modules if m == 'runner' or m.startswith('runner.'))))\n"
    )
    ran = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True)
    loaded = json.loads(ran.stdout.strip().splitlines()[-1])
    assert [m for m in loaded if outside(m) and m != "runner"] == []
    assert "runner.emulators.azure.app" in loaded
