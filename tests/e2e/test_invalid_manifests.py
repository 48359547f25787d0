"""Each invalid fixture: every problem located, exit 1, and the state file untouched."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import FIXTURES, Ran

CASES = sorted(p.stem for p in (FIXTURES / "invalid").glob("*.yaml"))
VALID = "version: 1\nproject: ok\njobs:\n  bell: {program: circuits/bell.qasm}\n"


def digest_files(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.fixture
def invalid(tmp_path: Path, cli: Callable[..., Ran]) -> Path:
    folder = tmp_path / "invalid"
    shutil.copytree(FIXTURES / "invalid", folder)
    (folder / "valid.yaml").write_text(VALID)
    ran = cli("apply", str(folder / "valid.yaml"), "--yes", "--state", str(tmp_path / "st" / "state.db"))
    assert ran.code == 0, ran.err
    return folder


def test_there_are_fixtures_for_each_kind_of_mistake() -> None:
    assert len(CASES) >= 10


@pytest.mark.parametrize("case", CASES)
def test_validate_reports_every_problem_located(
    case: str, invalid: Path, cli: Callable[..., Ran], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(invalid)
    expected = (invalid / f"{case}.errors").read_text()
    ran: Ran = cli("validate", f"{case}.yaml")
    assert (ran.code, ran.out, ran.err) == (1, "", expected)
    for line in expected.splitlines():
        file, row, column, message = line.split(":", 3)
        assert file.endswith((".yaml", ".qasm")) and int(row) >= 1 and int(column) >= 1 and message.strip()


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("command", [["plan"], ["apply", "--yes"], ["plan", "--json"]])
def test_bad_input_never_changes_state(
    case: str, command: list[str], invalid: Path, cli: Callable[..., Ran], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(invalid)
    state_dir = invalid.parent / "st"
    before = digest_files(state_dir)
    ran: Ran = cli(command[0], f"{case}.yaml", *command[1:], "--state", str(state_dir / "state.db"))
    assert ran.code == 1
    assert ran.err == (invalid / f"{case}.errors").read_text()
    assert "Traceback" not in ran.out + ran.err
    assert digest_files(state_dir) == before
