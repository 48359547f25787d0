"""Shared fixtures: every test runs in its own folder with a scrubbed environment."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from backends import backend, location, locations  # the state backends every state test runs on

__all__ = ["backend", "location", "locations"]

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
_SECRET_PREFIXES = ("AZURE_", "SUPERSTAQ_", "PASQAL_", "RUNNER_")


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No real state paths, no real credentials, no real home."""
    for key in list(os.environ):
        if key.startswith(_SECRET_PREFIXES):
            monkeypatch.delenv(key)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


@dataclass
class Ran:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., Ran]:
    """Run the CLI in-process and capture what it prints."""
    from runner.cli import run

    def invoke(*args: str) -> Ran:
        capsys.readouterr()
        code = run(list(args))
        captured = capsys.readouterr()
        return Ran(code, captured.out, captured.err)

    return invoke


@pytest.fixture
def examples(tmp_path: Path) -> Path:
    """A private copy of examples/."""
    target = tmp_path / "examples"
    shutil.copytree(EXAMPLES, target, ignore=shutil.ignore_patterns(".runner"))
    return target


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


BELL = """OPENQASM 2.0;
include "qelib1.inc";
qreg q[2];
creg c[2];
h q[0];
cx q[0], q[1];
measure q -> c;
"""

ROTATION = """OPENQASM 3.0;
include "stdgates.inc";
input float theta;
qubit[1] q;
bit[1] c;
rx(theta) q[0];
c[0] = measure q[0];
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A small project folder with two circuits."""
    folder = tmp_path / "proj"
    write(folder, "circuits/bell.qasm", BELL)
    write(folder, "circuits/rotation.qasm", ROTATION)
    return folder
