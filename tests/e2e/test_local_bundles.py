"""The local target takes a sweep in bundles: one create_many call per BUNDLE jobs, each job recorded once."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from conftest import ROTATION, write

import runner
from runner.applying import create
from runner.applying.execute import Report
from runner.providers.local import LocalProvider


def test_a_sweep_goes_to_the_simulator_in_bundles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, "rotation.qasm", ROTATION)
    thetas = ", ".join(str(round(0.01 * i, 2)) for i in range(300))
    m = write(
        tmp_path,
        "m.yaml",
        f"version: 1\nproject: b\nmax_jobs: 1000\njobs:\n  r:\n    program: rotation.qasm\n    shots: 20\n"
        f"    matrix: {{theta: [{thetas}]}}\n",
    )
    sizes: list[int] = []
    original = LocalProvider.create_many

    def counted(self: LocalProvider, subs: Sequence[Any]) -> Any:
        sizes.append(len(subs))
        return original(self, subs)

    monkeypatch.setattr(LocalProvider, "create_many", counted)
    monkeypatch.setattr(create, "BUNDLE", 128)
    report = runner.apply(str(m), state=str(tmp_path / "s.db"))
    assert isinstance(report, Report) and report.outcome == "ok"
    assert sorted(sizes, reverse=True) == [128, 128, 44]
    conn = sqlite3.connect(tmp_path / "s.db")
    try:
        counts = conn.execute("SELECT count(*), count(DISTINCT address) FROM results").fetchone()
        intents = conn.execute("SELECT state, count(*) FROM intents GROUP BY state").fetchall()
    finally:
        conn.close()
    assert counts == (300, 300) and intents == [("done", 300)]
