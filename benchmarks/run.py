"""Every benchmark, each against a peer or baseline measured in the same run; prints a table and writes JSON.

    python benchmarks/run.py                     # every row (about half an hour on 2 cores)
    python benchmarks/run.py --only P3,P5 --quick

P1-P6: runner against what a user would otherwise write (the official SDKs with 16 threads in
benchmarks/peers/, bare qiskit-aer scripts) or against the floor of its own work (issue 16); L1:
lane building for an abort-policy session, the old quadratic way against today's; D1: a sweep on
a Dask LocalCluster against in-process; B2-B4, B6, B7: the first round's rows that still say
something P1-P6 do not; B8: PostgreSQL state against the file (only with RUNNER_TEST_POSTGRES set,
or asked for by --only).

Whole-process timings run `python -m runner` in a fresh process with the bytecode cache on (as on
a normal install; this sandbox sets PYTHONDONTWRITEBYTECODE, which would add ~0.1 s of compiling
to every start) after one warm-up, and report the median. Peak memory is the child's max RSS.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
import bench_local  # noqa: E402
import bench_sdk  # noqa: E402
import bench_setup as setup  # noqa: E402


@dataclass
class Row:
    id: str
    what: str
    figure: str
    baseline: str
    ratio: str
    target: str
    met: bool
    note: str = ""


def env() -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    e.update(setup.KEYS)
    return e


@dataclass
class Measured:
    seconds: float
    rss_mb: int
    out: str
    code: int


def run(cmd: list[str], cwd: Path, extra: dict[str, str] | None = None) -> Measured:
    """One process: wall seconds, its own peak RSS (os.wait4), output, exit code."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=cwd, env={**env(), **(extra or {})}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    return Measured(seconds, int(usage.ru_maxrss / 1024), out, proc.returncode)


def runner_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "runner", *args]


def timed(cmd: list[str], cwd: Path, repeat: int, extra: dict[str, str] | None = None) -> tuple[float, int, str]:
    """Median seconds and largest peak RSS (MB) over `repeat` runs, after one warm-up."""
    run(cmd, cwd, extra)
    runs = [run(cmd, cwd, extra) for _ in range(repeat)]
    for r in runs:
        if r.code not in (0, 2):
            raise SystemExit(f"{' '.join(cmd)} exited {r.code}:\n{r.out[-2000:]}")
    return statistics.median(r.seconds for r in runs), max(r.rss_mb for r in runs), runs[-1].out


# B6 -------------------------------------------------------------------------------------------
def b6(work: Path, quick: bool) -> list[Row]:
    folder = setup.ghz(work / "b6")
    n = 3 if quick else 5
    bare, _, _ = timed([sys.executable, str(folder / "bare.py")], folder, n)
    times = []
    run(runner_cmd("apply", "m.yaml", "--yes", "--state", "warm.db"), folder)
    for i in range(n):
        done = run(runner_cmd("apply", "m.yaml", "--yes", "--state", f"s{i}.db"), folder)
        assert done.code == 0, done.out
        times.append(done.seconds)
    ours = statistics.median(times)
    return [
        Row(
            "B6",
            "GHZ-20, 1000 shots: runner apply on local (fresh state)",
            f"{ours:.3f} s",
            f"{bare:.3f} s (bare qiskit-aer script)",
            f"{ours / bare:.2f}x",
            "<= 1.5x",
            ours <= 1.5 * bare,
        )
    ]


# B7, B2 ---------------------------------------------------------------------------------------
def b7_b1_b2(work: Path, quick: bool) -> list[Row]:
    jobs = 2_500 if quick else 10_000
    folder = setup.sweep(work / "b7", jobs)
    applied = run(runner_cmd("apply", "m.yaml", "--yes", "--parallelism", "16"), folder)
    assert applied.code == 0, applied.out[-2000:]
    seconds = applied.seconds
    history = json.loads(run(runner_cmd("history", "-m", "m.yaml", "--json"), folder).out)
    writes = history[-1]["summary"]["state_writes"]
    baseline = setup.fsync_storm(work / "storm.db", jobs)
    rows = [
        Row(
            "B7",
            f"state writes while applying {jobs} local jobs",
            f"{writes['transactions']} transactions ({writes['durable']} fsynced), {writes['seconds']:.2f} s",
            f"{jobs} one-row fsynced commits: {baseline:.2f} s",
            f"{writes['seconds'] / baseline:.3f}x",
            "no per-job fsync storm",
            writes["durable"] < jobs / 10,
            f"whole apply {seconds:.1f} s (simulating {jobs} circuits on 2 cores)",
        )
    ]
    n = 3 if quick else 5
    floor, _, _ = timed([sys.executable, str(folder / "floor.py")], folder, n)
    serial = setup.serial(folder / ".runner" / "state.db")
    apply_s, _apply_mb, out = timed(runner_cmd("apply", "m.yaml", "--yes"), folder, n)
    assert "No changes." in out and setup.serial(folder / ".runner" / "state.db") == serial
    rows += [
        Row(
            "B2",
            f"runner apply of the unchanged manifest ({jobs} jobs)",
            f"{apply_s:.3f} s, 0 provider requests",
            f"{floor:.3f} s (read YAML + state rows)",
            f"{apply_s / floor:.1f}x",
            "no request, <= 1.5 s",
            apply_s <= 1.5,
            "no provider is built when nothing changes; the state is not written (serial unchanged)",
        ),
    ]
    return rows


# B3 -------------------------------------------------------------------------------------------
def b3(work: Path, quick: bool) -> list[Row]:
    jobs = 500 if quick else 2_000
    with setup.Emulator("azure", latency=0.02) as emu:
        raw = setup.raw_azure_creates(emu.url, jobs, threads=32)
        folder = setup.azure_sweep(work / "b3", emu.url, jobs)
        before = emu.requests()
        applied = run(runner_cmd("apply", "m.yaml", "--yes", "--parallelism", "32"), folder)
        assert applied.code == 0, applied.out[-2000:]
        sent = emu.requests() - before
        history = json.loads(run(runner_cmd("history", "-m", "m.yaml", "--json"), folder).out)
        ours = setup.run_seconds(history[-1])
    ratio = (jobs / ours) / (jobs / raw)
    return [
        Row(
            "B3",
            f"apply {jobs} jobs to the Azure emulator (20 ms per call, 3 calls per job)",
            f"{jobs / ours:.0f} jobs/s ({ours:.1f} s)",
            f"{jobs / raw:.0f} jobs/s raw pooled httpx, 32 threads",
            f"{ratio:.2f}",
            ">= 0.7",
            ratio >= 0.7,
            f"{sent} requests for {jobs} jobs; raw client sends the same 3 create requests per job",
        )
    ]


# B4 -------------------------------------------------------------------------------------------
def b4(work: Path, quick: bool) -> list[Row]:
    jobs = 1_000 if quick else 10_000
    rows = []
    for provider, page, extra in (("azure", 100, 0), ("superstaq", 500, 0), ("pasqal", 100, jobs // 100)):
        with setup.Emulator(provider, latency=0.0) as emu:
            folder = setup.in_flight(work / f"b4-{provider}", provider, emu.url, jobs)
            applied = run(runner_cmd("apply", "m.yaml", "--yes", "--parallelism", "32"), folder)
            assert applied.code == 0, applied.out[-2000:]
            before = emu.requests()
            refreshed = run(runner_cmd("refresh", "-m", "m.yaml", "--json"), folder)
            assert refreshed.code == 0, refreshed.out[-2000:]
            seconds = refreshed.seconds
            sent = emu.requests() - before
        bound = math.ceil(jobs / page) + math.ceil(extra / 100)
        rows.append(
            Row(
                "B4",
                f"refresh of {jobs} in-flight jobs on {provider}",
                f"{sent} requests ({seconds:.1f} s)",
                f"{jobs + extra} requests polling one by one",
                f"{sent / (jobs + extra):.4f}",
                f"<= ceil(N/{page}){' + batches' if extra else ''} = {bound}",
                sent <= bound,
            )
        )
    return rows


def _rows(bench: Callable[[Path, bool], list[dict[str, object]]]) -> Callable[[Path, bool], list[Row]]:
    return lambda work, quick: [Row(**r) for r in bench(work, quick)]  # type: ignore[arg-type]


BENCHMARKS: dict[str, Callable[[Path, bool], list[Row]]] = {
    "P1": _rows(bench_sdk.results_rows),
    "P2": _rows(bench_sdk.submit_rows),
    "P3": _rows(bench_local.sweeps),
    "P4": _rows(bench_local.plans),
    "P5": _rows(bench_local.startup),
    "P6": _rows(bench_local.big),
    "L1": _rows(bench_local.lanes),
    "D1": _rows(bench_local.dask),
    "B6": b6,
    "B7": b7_b1_b2,
    "B3": b3,
    "B4": b4,
    "B8": lambda work, quick: [Row(**r) for r in __import__("bench_postgres").rows(work, quick)],  # PostgreSQL state
}


def table(rows: list[Row]) -> str:
    lines = ["| id | what | figure | baseline (same run) | ratio | target | met |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| {r.id} | {r.what} | {r.figure} | {r.baseline} | {r.ratio} | {r.target} | {'yes' if r.met else 'NO'} |"
        )
    notes = [f"- {r.id}: {r.note}" for r in rows if r.note]
    return "\n".join(lines + (["", *notes] if notes else []))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default="", help="comma-separated ids: P1..P6, L1, D1, B2..B8 (B2 runs with B7)")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer repeats")
    parser.add_argument("--json", dest="json_out", default="benchmarks/results.json")
    args = parser.parse_args()
    wanted = {x.strip().upper() for x in args.only.split(",") if x.strip()}
    wanted |= {"B7"} if wanted & {"B2"} else set()
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="runner-bench-") as tmp:
        for key, bench in BENCHMARKS.items():
            if (wanted and key not in wanted) or (
                key == "B8" and not wanted and not os.environ.get("RUNNER_TEST_POSTGRES")
            ):
                continue
            print(f"running {key} ...", file=sys.stderr, flush=True)
            rows += bench(Path(tmp), args.quick)
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"
    print(f"Machine: {machine}\n")
    print(table(rows))
    Path(args.json_out).write_text(
        json.dumps({"machine": machine, "quick": args.quick, "rows": [asdict(r) for r in rows]}, indent=2) + "\n"
    )
    return 0 if all(r.met for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
