"""The state-fault matrix: every command on a damaged or unreachable SQLite state ends in one line, never a traceback.

Faults: `--state` a directory, a non-numeric format_version, a dropped table, 20 seeded random
corruptions of the file (in-process), and, with file permissions binding (as root: without the
DAC-override capabilities), a file of mode 000, a folder that cannot be written, a read-only
file. Each command either works (a read-only state still serves status, show, results, history
and plan) or exits 1 with one line naming the file; the file is byte-identical afterwards unless
a command that writes succeeded. Disk full at the checkpoint is its own test.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import ROTATION, Ran, write

from runner.cli import run

Cli = Callable[..., Ran]
MANIFEST = """version: 1
project: faults
defaults: {shots: 50}
targets:
  sim: {provider: local}
jobs:
  rot: {target: sim, program: circuits/rotation.qasm, matrix: {theta: [0.0, 1.5]}}
"""
GROWN = MANIFEST + "  more: {target: sim, program: circuits/rotation.qasm, params: {theta: 3.0}}\n"
READS = ("status", "show", "results", "history", "plan")
WRITES = ("apply", "unlock")


def commands(state: str) -> dict[str, list[str]]:
    return {
        "status": ["status", "--state", state],
        "show": ["show", "job.rot[theta=0.0]", "--state", state],
        "results": ["results", "--state", state],
        "history": ["history", "--state", state],
        "plan": ["plan", "m.yaml", "--state", state],
        "apply": ["apply", "m.yaml", "--yes", "--state", state],
        "unlock": ["state", "unlock", "--state", state],
    }


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project applied once, its manifest then grown by a job (so apply must write), with an expired lease."""
    folder = tmp_path_factory.mktemp("faults-base")
    write(folder, "circuits/rotation.qasm", ROTATION)
    manifest = write(folder, "m.yaml", MANIFEST)
    with pytest.MonkeyPatch.context() as patch:  # the autouse isolation is per test: do its part here
        patch.chdir(folder)
        patch.setenv("HOME", str(folder))
        patch.setenv("XDG_CACHE_HOME", str(folder / ".cache"))
        for key in [k for k in os.environ if k.startswith("RUNNER_")]:
            patch.delenv(key)
        assert run(["apply", str(manifest), "--yes", "--state", "state.db"]) == 0
    shutil.rmtree(folder / ".cache", ignore_errors=True)
    manifest.write_text(GROWN)
    conn = sqlite3.connect(folder / "state.db")
    conn.execute(
        "INSERT INTO lock VALUES (1, 'gone@elsewhere:1:abc', 'elsewhere', 1, 'x', 'apply', 't', 't', 0, 99)"
    )  # a lease that expired: `state unlock` has something to remove
    conn.commit()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return folder


def corrupt(path: Path, seed: int) -> None:
    """Overwrite 1-4 random spans of the file (the header included, sometimes) with random bytes."""
    rng = random.Random(seed)
    raw = bytearray(path.read_bytes())
    for _ in range(rng.randint(1, 4)):
        at = rng.randrange(0 if rng.random() < 0.2 else 100, len(raw))
        size = rng.randint(1, 64)
        raw[at : at + size] = bytes(rng.randrange(256) for _ in range(min(size, len(raw) - at)))
    path.write_bytes(bytes(raw))


def sql(path: Path, statement: str) -> None:
    conn = sqlite3.connect(path)
    conn.execute(statement)
    conn.commit()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def directory(folder: Path) -> str:
    (folder / "state-dir").mkdir()
    return "state-dir"


def format_version(folder: Path) -> str:
    sql(folder / "state.db", "UPDATE meta SET value = 'two' WHERE key = 'format_version'")
    return "state.db"


def dropped_table(folder: Path) -> str:
    sql(folder / "state.db", "DROP TABLE results")
    return "state.db"


def corruption(seed: int) -> Callable[[Path], str]:
    def damage(folder: Path) -> str:
        corrupt(folder / "state.db", seed)
        return "state.db"

    return damage


FAULTS: dict[str, Callable[[Path], str]] = {
    "directory": directory,
    "format_version 'two'": format_version,
    "dropped table": dropped_table,
    **{f"corruption {n}": corruption(n) for n in range(20)},
}
REFUSED_BY_ALL = ("directory", "format_version 'two'", "dropped table")


def snapshot_of(folder: Path, state: str) -> dict[str, bytes]:
    target = folder / state
    if target.is_dir():
        return {p.name: p.read_bytes() for p in target.iterdir()}
    return {state: target.read_bytes()}


@pytest.mark.parametrize("command", [*READS, *WRITES])
@pytest.mark.parametrize("fault", list(FAULTS))
def test_a_damaged_state_gives_one_line_and_is_not_written(
    base: Path, tmp_path: Path, cli: Cli, fault: str, command: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "p"
    shutil.copytree(base, folder)
    monkeypatch.chdir(folder)
    state = FAULTS[fault](folder)
    before = snapshot_of(folder, state)
    ran = cli(*commands(state)[command])
    after = snapshot_of(folder, state)
    assert "Traceback" not in ran.out + ran.err
    if fault in REFUSED_BY_ALL:
        assert ran.code == 1, ran.out + ran.err
    assert ran.code in (0, 1), ran.err  # never 70 (an internal error): a damaged state is the user's to fix
    if ran.code == 1:
        assert len(ran.err.splitlines()) == 1 and state in ran.err, ran.err
    if ran.code != 0 or command in READS:
        assert after == before  # refused, or only read: not a byte changed


def test_the_fault_messages_say_what_to_do(
    base: Path, tmp_path: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "p"
    shutil.copytree(base, folder)
    monkeypatch.chdir(folder)
    (folder / "state-dir").mkdir()
    assert cli("status", "--state", "state-dir").err == (
        "error: state-dir is a directory, not a state file: give --state the path of a file (or a postgresql:// URL)\n"
    )
    sql(folder / "state.db", "DROP TABLE results")
    assert cli("status", "--state", "state.db").err == (
        "error: state.db is damaged (table results is missing); restore it from a backup, runner will not modify it\n"
    )


# permissions: as root, without the capabilities that let root ignore them ------------------------
def unprivileged() -> list[str]:
    """A command prefix under which file permissions bind (root keeps its uid but loses DAC override)."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("running as root and setpriv (util-linux) is missing: permissions would not bind")
    return ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--"]


PERMISSIONS: dict[str, Callable[[Path], None]] = {
    "mode 000": lambda f: os.chmod(f / "state.db", 0),
    "read-only file": lambda f: os.chmod(f / "state.db", 0o444),
    "unwritable folder": lambda f: os.chmod(f, 0o555),
}
SERVES_READS = ("read-only file", "unwritable folder")


@pytest.mark.slow
@pytest.mark.parametrize("fault", list(PERMISSIONS))
def test_permission_faults(base: Path, tmp_path: Path, fault: str) -> None:
    folder = tmp_path / "p"
    shutil.copytree(base, folder)
    prefix = unprivileged()
    PERMISSIONS[fault](folder)
    try:
        before = (folder / "state.db").read_bytes()
        for command, args in commands("state.db").items():
            ran = subprocess.run(
                [*prefix, sys.executable, "-m", "runner", *args],
                cwd=folder,
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert "Traceback" not in ran.stdout + ran.stderr, (command, ran.stderr)
            expected = 0 if fault in SERVES_READS and command in READS else 1
            assert ran.returncode == expected, (fault, command, ran.stdout + ran.stderr)
            if expected == 1:
                assert len(ran.stderr.splitlines()) == 1 and "state.db" in ran.stderr, (command, ran.stderr)
            assert (folder / "state.db").read_bytes() == before, command
            assert sorted(p.name for p in folder.iterdir()) == ["circuits", "m.yaml", "state.db"]
    finally:
        os.chmod(folder, 0o755)
        os.chmod(folder / "state.db", 0o644)


@pytest.mark.slow
def test_disk_full_at_the_checkpoint_loses_nothing_committed(base: Path, tmp_path: Path) -> None:
    folder = tmp_path / "p"
    shutil.copytree(base, folder)
    limit = (folder / "state.db").stat().st_size  # the state file cannot grow: the checkpoint finds the disk full

    def full() -> None:
        import resource

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead of killing
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    cmd = [sys.executable, "-m", "runner", "apply", "m.yaml", "--yes", "--state", "state.db"]
    ran = subprocess.run(cmd, cwd=folder, capture_output=True, text=True, timeout=300, preexec_fn=full)
    assert "Traceback" not in ran.stdout + ran.stderr
    assert ran.returncode == 1, ran.stdout + ran.stderr
    assert ran.stderr.startswith("error: state.db: the disk is full or failing (") and len(ran.stderr.splitlines()) == 1
    status = subprocess.run(
        [sys.executable, "-m", "runner", "status", "--state", "state.db"], cwd=folder, capture_output=True, text=True
    )
    assert status.returncode == 0 and "job.more" in status.stdout  # what the apply committed is all there
