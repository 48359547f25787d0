"""Paused-holder trials: apply A is frozen (SIGSTOP) at a random moment of its submissions, apply B takes the
expired lease over and finishes, A is thawed, then apply C runs; live remote objects are counted through each
provider's own API before and after C.

    python benchmarks/paused.py --jobs 50 --trials 10

A thawed holder stops sending once it cannot prove its lease; what it still sends (frozen between its last
check and a send) carries its token, and C finds and cancels it. The result to show: after C, exactly one live
remote object per job, none missing, across every trial.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import census
import chaos

TTL = 2.0  # A's lease: short, so B takes over soon after A freezes


@dataclass
class Trial:
    a_exit: int
    b_exit: int
    c_exit: int
    stale_noted: int  # intents A had open when B took over
    sent_twice: int  # live duplicates before C (what thawed A sent after losing its lease)
    left: int  # live duplicates after C
    missing: int
    note: str = ""  # the last line a failed apply printed


@dataclass
class Outcome:
    provider: str
    trials: list[Trial] = field(default_factory=list)


def duplicates(provider: str, url: str, trial: int) -> tuple[int, int]:
    """(live duplicates, live distinct jobs) of one trial, counted through the provider's API."""
    live = {a: n for a, n in census.live(provider, url).items() if chaos.belongs(a, trial)}
    return sum(n - 1 for n in live.values() if n > 1), len(live)


def stale_noted(state: Path) -> int:
    import sqlite3

    conn = sqlite3.connect(f"file:{state}?mode=ro", uri=True)
    try:
        return int(conn.execute("SELECT count(*) FROM stale_sends").fetchone()[0])
    except sqlite3.Error:
        return 0
    finally:
        conn.close()


def run_trial(provider: str, url: str, trial: int, jobs: int, window: float, rng: random.Random, api: str) -> Trial:
    folder = Path(tempfile.mkdtemp(prefix=f"paused-{provider}-{trial}-"))
    (folder / "rotation.qasm").write_text(chaos.ROTATION)
    (folder / "rabi.json").write_text(chaos.SEQUENCE)
    (folder / "m.yaml").write_text(chaos.manifest(provider, url, trial, jobs, api))
    state = folder / "state.db"
    env = {**os.environ, **chaos.ENV, "RUNNER_LOCK_TTL": str(TTL)}
    a = subprocess.Popen(
        chaos.apply_cmd(folder, str(state)), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env
    )
    chaos.first_intent(state, a, timeout=120)
    time.sleep(rng.uniform(0.0, window))  # somewhere in its submissions
    a.send_signal(signal.SIGSTOP)
    time.sleep(TTL + 0.5)
    b = subprocess.run(chaos.apply_cmd(folder, str(state)), capture_output=True, text=True, env=env, timeout=900)
    noted = stale_noted(state)
    a.send_signal(signal.SIGCONT)
    a_exit = a.wait(timeout=300)
    twice, _ = duplicates(provider, url, trial)
    c = subprocess.run(chaos.apply_cmd(folder, str(state)), capture_output=True, text=True, env=env, timeout=900)
    left, found = duplicates(provider, url, trial)
    expected = jobs if provider != "pasqal" else max(1, jobs // chaos.PER_BATCH) * chaos.PER_BATCH
    failed = next((r for r in (b, c) if r.returncode), None)
    note = (failed.stderr.strip().splitlines() or [""])[-1] if failed else ""
    outcome = Trial(a_exit, b.returncode, c.returncode, noted, twice, left, expected - found, note)
    if not (left or outcome.missing or b.returncode or c.returncode):
        shutil.rmtree(folder, ignore_errors=True)
    return outcome


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--providers", default="azure,superstaq,pasqal")
    parser.add_argument("--jobs", type=int, default=50)
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--api-version", default="v0.2.0", help="Superstaq API version")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    args.error_rate, args.drop_rate = 0.0, 0.0
    rows = [
        "| provider | trials | jobs/trial | A frozen | intents open at takeover | sent twice by thawed A "
        "| cancelled by the next apply | live duplicates after | missing | applies ok |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    bad = False
    notes: list[str] = []
    for provider in args.providers.split(","):
        proc, url = chaos.emulate(provider, args)
        try:
            window = chaos.calibrate(provider, url, args.jobs, args.api_version, chaos.State(""))[1]
            rng = random.Random(args.seed)
            out = Outcome(provider)
            for trial in range(args.trials):
                out.trials.append(run_trial(provider, url, trial, args.jobs, window, rng, args.api_version))
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        t = out.trials
        twice, left, missing = (sum(getattr(x, k) for x in t) for k in ("sent_twice", "left", "missing"))
        ok = sum(1 for x in t if x.b_exit == 0 and x.c_exit == 0)
        name = f"{provider} ({args.api_version})" if provider == "superstaq" else provider
        rows.append(
            f"| {name} | {len(t)} | {args.jobs} | {len(t)} | {sum(x.stale_noted for x in t)} | {twice} "
            f"| {twice - left} | {left} | {missing} | {ok}/{len(t)} |"
        )
        bad = bad or bool(left or missing)
        notes.extend(f"{provider} trial {i}: {x.note}" for i, x in enumerate(t) if x.note)
    print("\n".join(rows))
    for note in notes:
        print(note)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
