"""P1 and P2: runner against the best hand-written official-SDK script (16 threads), same emulator, same run.

P1: `runner wait` on a state whose 1,000 jobs have finished and have no results yet, against the
SDK fetching the same jobs' results. P2: `runner apply` of 500 jobs against the SDK creating
500 jobs of the same circuit. Both are whole processes (imports, state, intents included), on an
emulator answering every request 20 ms late, as a remote service would.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import bench_setup as setup

PEERS = Path(__file__).resolve().parent / "peers"
LATENCY = 0.02
SDK = {"azure": "azure-quantum", "superstaq": "general-superstaq", "pasqal": "pasqal-cloud"}


def _seconds(cmd: list[str], cwd: Path) -> float:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONFAULTHANDLER"] = "1"  # a crash in a child shows its stack
    env.update(setup.KEYS)
    started = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode not in (0, 2):
        kept = cwd / f"failed-{int(time.time())}.log"
        kept.write_text(done.stdout + done.stderr)
        raise SystemExit(f"{' '.join(cmd)} exited {done.returncode} (output in {kept}):\n{done.stderr[:3000]}")
    return seconds


def _runner(*args: str) -> list[str]:
    return [sys.executable, "-m", "runner", *args]


def _copy_state(src: Path, dst: Path) -> None:
    conn = sqlite3.connect(src)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    shutil.copyfile(src, dst)


def _job_ids(state: Path, kind: str) -> list[str]:
    conn = sqlite3.connect(f"file:{state}?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT remote_id FROM resources WHERE kind = ? ORDER BY address", (kind,)).fetchall()
    finally:
        conn.close()
    return [str(r[0]) for r in rows]


def _alternate(ours: Callable[[int], float], peer: Callable[[int], float], repeat: int) -> tuple[float, float]:
    """Medians of `repeat` runs of each, interleaved so a noisy neighbour hurts both alike."""
    a, b = [], []
    for i in range(repeat):
        a.append(ours(i))
        b.append(peer(i))
    return statistics.median(a), statistics.median(b)


def results_rows(work: Path, quick: bool) -> list[dict[str, object]]:
    """P1: wait + results of N finished jobs, per REST provider."""
    jobs = 200 if quick else 1_000
    repeat = 1 if quick else 3
    rows: list[dict[str, object]] = []
    for provider in ("azure", "superstaq", "pasqal"):
        with setup.Emulator(provider, latency=LATENCY, queue_delay=0) as emu:
            folder = setup.in_flight(work / f"p1-{provider}", provider, emu.url, jobs)
            _seconds(_runner("apply", "m.yaml", "--yes", "--parallelism", "16"), folder)
            pristine = folder / "pristine.db"
            _copy_state(folder / ".runner" / "state.db", pristine)
            kind = "batch_job" if provider == "pasqal" else "job"
            ids = folder / "ids.txt"
            ids.write_text("\n".join(_job_ids(pristine, kind)) + "\n")
            _copy_state(pristine, folder / "warm.db")  # the jobs finish on the emulator during this first wait
            _seconds(_runner("wait", "-m", "m.yaml", "--state", "warm.db", "--timeout", "600"), folder)
            before = emu.requests()
            _copy_state(pristine, folder / "count.db")
            _seconds(_runner("wait", "-m", "m.yaml", "--state", "count.db", "--timeout", "600"), folder)
            sent = emu.requests() - before

            def ours(i: int, folder: Path = folder, pristine: Path = pristine) -> float:
                _copy_state(pristine, folder / f"w{i}.db")
                return _seconds(_runner("wait", "-m", "m.yaml", "--state", f"w{i}.db", "--timeout", "600"), folder)

            def peer(i: int, folder: Path = folder, url: str = emu.url, provider: str = provider) -> float:
                script = str(PEERS / f"{provider}_sdk.py")
                return _seconds([sys.executable, script, "results", url, str(folder / "ids.txt")], folder)

            mine, theirs = _alternate(ours, peer, repeat)
        ratio = mine / theirs
        rows.append(
            {
                "id": "P1",
                "what": f"wait + results of {jobs} finished {provider} jobs (whole process)",
                "figure": f"{mine:.2f} s ({sent} requests)",
                "baseline": f"{theirs:.2f} s ({SDK[provider]}, 16 threads)",
                "ratio": f"{ratio:.2f}x",
                "target": "<= 1.5x",
                "met": ratio <= 1.5,
            }
        )
    return rows


def submit_rows(work: Path, quick: bool) -> list[dict[str, object]]:
    """P2: apply N jobs against the SDK creating N jobs, Azure and Superstaq."""
    jobs = 200 if quick else 500
    repeat = 1 if quick else 3
    rows: list[dict[str, object]] = []
    for provider in ("azure", "superstaq"):
        with setup.Emulator(provider, latency=LATENCY) as emu:
            folder = setup.in_flight(work / f"p2-{provider}", provider, emu.url, jobs)

            def ours(i: int, folder: Path = folder) -> float:
                return _seconds(
                    _runner("apply", "m.yaml", "--yes", "--parallelism", "16", "--state", f"a{i}.db"), folder
                )

            def peer(i: int, folder: Path = folder, url: str = emu.url, provider: str = provider) -> float:
                return _seconds([sys.executable, str(PEERS / f"{provider}_sdk.py"), "submit", url, str(jobs)], folder)

            peer(-1)  # warm-ups: page cache, bytecode
            ours(-1)
            mine, theirs = _alternate(ours, peer, repeat)
        ratio = theirs / mine
        rows.append(
            {
                "id": "P2",
                "what": f"apply {jobs} jobs to the {provider} emulator, 20 ms per call (whole process)",
                "figure": f"{mine:.2f} s",
                "baseline": f"{theirs:.2f} s ({SDK[provider]}, 16 threads)",
                "ratio": f"{ratio:.2f} (speed vs SDK)",
                "target": ">= 1.0",
                "met": ratio >= 1.0,
            }
        )
    return rows
