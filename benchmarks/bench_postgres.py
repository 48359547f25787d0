"""PostgreSQL state against the SQLite file, measured in the same run (run.py's B8 rows).

- plan of a 10,000-job sweep whose state is all recorded: the same state in a file and, copied
  with `runner state migrate`, in PostgreSQL (target: PostgreSQL within 1.5x of SQLite);
- apply throughput against the Azure emulator (20 ms per call) with each state (target: at
  least 0.9x of SQLite's jobs per second).

Uses the server RUNNER_TEST_POSTGRES names, or starts one with .ci/postgres.sh; each run works in
a database of its own, dropped afterwards.

    python benchmarks/bench_postgres.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
import bench_setup as setup  # noqa: E402


@contextmanager
def server() -> Iterator[str]:
    """A PostgreSQL server URL: RUNNER_TEST_POSTGRES's, or one started for this run."""
    if os.environ.get("RUNNER_TEST_POSTGRES"):
        yield os.environ["RUNNER_TEST_POSTGRES"]
        return
    started = subprocess.run(["bash", str(ROOT / ".ci" / "postgres.sh"), "start"], capture_output=True, text=True)
    if started.returncode != 0:
        raise SystemExit(f"could not start PostgreSQL: {started.stderr.strip()}")
    exports = dict(line.removeprefix("export ").split("=", 1) for line in started.stdout.splitlines())
    values = {k: v.strip("'") for k, v in exports.items()}
    os.environ["PGPASSFILE"] = values["PGPASSFILE"]
    try:
        yield values["RUNNER_TEST_POSTGRES"]
    finally:
        subprocess.run(["bash", str(ROOT / ".ci" / "postgres.sh"), "stop", values["RUNNER_TEST_POSTGRES_DIR"]])


@contextmanager
def database(url: str) -> Iterator[str]:
    """A fresh database on the server (so project names never collide with an earlier run's)."""
    import psycopg

    from runner.state.location import parse

    name = f"bench_{uuid.uuid4().hex[:8]}"
    admin = " ".join(f"{k}={v}" for k, v in parse(url).connect_args().items())
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}".encode())
    try:
        yield url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE {name} WITH (FORCE)".encode())


def timed(args: list[str], folder: Path, repeat: int) -> float:
    """Median seconds of a whole `runner` process over `repeat` runs, after one warm-up."""
    import statistics

    import run as bench

    cmd = bench.runner_cmd(*args)
    bench.run(cmd, folder)
    runs = [bench.run(cmd, folder) for _ in range(repeat)]
    for r in runs:
        if r.code != 0 or "No changes." not in r.out:
            raise SystemExit(f"{' '.join(cmd)} exited {r.code}:\n{r.out[-2000:]}")
    return statistics.median(r.seconds for r in runs)


def plan_rows(work: Path, quick: bool, url: str) -> list[dict[str, Any]]:
    import run as bench

    jobs = 2_500 if quick else 10_000
    folder = setup.sweep(work / "pg-plan", jobs)
    applied = bench.run(bench.runner_cmd("apply", "m.yaml", "--yes", "--parallelism", "16"), folder)
    assert applied.code == 0, applied.out[-2000:]
    moved = bench.run(bench.runner_cmd("state", "migrate", "-m", "m.yaml", "--to", url), folder)
    assert moved.code == 0, moved.out[-2000:]
    n = 3 if quick else 5
    file_s = timed(["plan", "m.yaml"], folder, n)
    pg_s = timed(["plan", "m.yaml", "--state", url], folder, n)
    return [
        {
            "id": "B8",
            "what": f"runner plan, {jobs} jobs all in the state: PostgreSQL state",
            "figure": f"{pg_s:.3f} s",
            "baseline": f"{file_s:.3f} s (the same state in the SQLite file)",
            "ratio": f"{pg_s / file_s:.2f}x",
            "target": "<= 1.5x",
            "met": pg_s <= 1.5 * file_s,
            "note": f"state copied with `runner state migrate` ({moved.out.strip().splitlines()[-1]})",
        }
    ]


def apply_rows(work: Path, quick: bool, url: str) -> list[dict[str, Any]]:
    import run as bench

    jobs = 500 if quick else 2_000
    rates = {}
    with setup.Emulator("azure", latency=0.02) as emu:
        for name, state in (("sqlite", "state.db"), ("postgres", url)):
            folder = setup.azure_sweep(work / f"pg-apply-{name}", emu.url, jobs)
            cmd = bench.runner_cmd("apply", "m.yaml", "--yes", "--parallelism", "32", "--state", state)
            applied = bench.run(cmd, folder)
            assert applied.code == 0, applied.out[-2000:]
            history = json.loads(
                bench.run(bench.runner_cmd("history", "-m", "m.yaml", "--state", state, "--json"), folder).out
            )
            rates[name] = jobs / setup.run_seconds(history[-1])
    ratio = rates["postgres"] / rates["sqlite"]
    return [
        {
            "id": "B8",
            "what": f"apply {jobs} jobs to the Azure emulator (20 ms per call): PostgreSQL state",
            "figure": f"{rates['postgres']:.0f} jobs/s",
            "baseline": f"{rates['sqlite']:.0f} jobs/s (SQLite file)",
            "ratio": f"{ratio:.2f}",
            "target": ">= 0.9",
            "met": ratio >= 0.9,
        }
    ]


def rows(work: Path, quick: bool) -> list[dict[str, Any]]:
    """Both comparisons, on one server, each project in a fresh database."""
    with server() as url, database(url) as db:
        return plan_rows(work, quick, db) + apply_rows(work, quick, db)


def main() -> int:
    import tempfile

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer repeats")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="runner-bench-pg-") as tmp:
        found = rows(Path(tmp), args.quick)
    for r in found:
        print(json.dumps(r))
    return 0 if all(r["met"] for r in found) else 1


if __name__ == "__main__":
    sys.exit(main())
