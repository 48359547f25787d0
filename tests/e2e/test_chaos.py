"""Exactly once under SIGKILL and under injected faults (a small configuration of benchmarks/chaos.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import ROOT, Ran

from runner import emulators
from runner.emulators.server import Faults

sys.path.insert(0, str(ROOT / "benchmarks"))
import census
import chaos

pytestmark = pytest.mark.slow  # subprocesses killed mid-apply and fault-injected emulators: ~40 s for the file


def test_sigkill_then_reapply_leaves_exactly_one_remote_job_each(tmp_path: Path) -> None:
    out = tmp_path / "chaos.json"
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "chaos.py"),
            "--jobs",
            "20",
            "--trials",
            "2",
            "--seed",
            "3",
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    results = json.loads(out.read_text())
    assert [r["provider"] for r in results] == ["azure", "superstaq", "pasqal"]
    for provider in results:
        for trial in provider["trials"]:
            assert (trial["final_exit"], trial["duplicates"], trial["missing"], trial["found"]) == (0, 0, 0, 20), trial
    assert sum(t["kills"] for p in results for t in p["trials"]) >= 6


@pytest.mark.parametrize("provider", ["azure", "superstaq", "pasqal"])
def test_apply_under_injected_faults_completes_without_duplicates(
    provider: str, tmp_path: Path, cli: Callable[..., Ran], monkeypatch: pytest.MonkeyPatch
) -> None:
    faults = Faults(error_rate=0.2, drop_rate=0.05, retry_after=0.01, queue_delay=3600)
    server = emulators.start(provider, faults=faults, seed=11)
    try:
        for key, value in chaos.ENV.items():
            monkeypatch.setenv(key, value)
        (tmp_path / "rotation.qasm").write_text(chaos.ROTATION)
        (tmp_path / "rabi.json").write_text(chaos.SEQUENCE)
        manifest = tmp_path / "m.yaml"
        manifest.write_text(chaos.manifest(provider, server.url, 1, 30, "v0.2.0"))
        ran: Ran = cli("apply", str(manifest), "--yes")
        assert ran.code == 0, ran.out + ran.err
        injected = {k: v for k, v in server.emulator.stats.items() if k.startswith(("injected", "dropped"))}
        # the faults really happened: at least one (Pasqal takes 30 jobs in a few requests, so a 25% rate
        # lands 4 or 5 faults there, and the count varies with the order the threads reach the server)
        assert sum(injected.values()) >= 1, injected
        faults.error_rate = faults.drop_rate = 0
        counts = census.COUNT[provider](server.url)
        mine = {a: n for a, n in counts.items() if chaos.belongs(a, 1)}
        assert (len(mine), max(mine.values())) == (30, 1)
        assert cli("apply", str(manifest), "--yes").out.count("No changes.") == 1
    finally:
        server.stop()
