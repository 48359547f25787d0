"""Chaos: kill `runner apply` with SIGKILL at random moments, re-apply, count remote jobs.

For each provider: start `runner emulate`, then for every trial write an N-job manifest with a
fresh state file, start `runner apply` and SIGKILL it at a random moment 1-3 times, apply once
more to completion, and count the trial's jobs through the provider's own API. Prints the
duplicates and missing jobs per provider (both must be 0).

    python benchmarks/chaos.py --jobs 200 --trials 50
    python benchmarks/chaos.py --providers pasqal --jobs 40 --trials 3 --error-rate 0.2 --drop-rate 0.05
    python benchmarks/chaos.py --state postgresql://runner@127.0.0.1:5432/runner --jobs 50 --trials 5

With --state postgresql://..., every trial's state is a project of its own in that database
(chaos-PROVIDER-RUN-TRIAL) instead of a fresh file.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import census

ROOT = Path(__file__).resolve().parent.parent
ROTATION = (ROOT / "examples" / "circuits" / "rotation.qasm").read_text()
SEQUENCE = (ROOT / "examples" / "pasqal" / "sequences" / "rabi.json").read_text()
PER_BATCH = 5  # Pasqal jobs per batch: more batches, more create calls for kills to land in
ENV = {
    "AZURE_QUANTUM_API_KEY": census.AZURE_KEY,
    "SUPERSTAQ_API_KEY": census.SUPERSTAQ_KEY,
    "PASQAL_TOKEN": census.PASQAL_TOKEN,
}


@dataclass
class Trial:
    trial: int
    kills: int
    in_flight: int  # intents written but not resolved when a kill landed: the cases that matter
    recorded: int  # submissions already recorded when the last kill landed
    final_exit: int
    found: int
    duplicates: int
    missing: int
    seconds: float
    error: str = ""


@dataclass
class Outcome:
    provider: str
    jobs: int
    trials: list[Trial] = field(default_factory=list)

    def totals(self) -> dict[str, int]:
        return {k: sum(getattr(t, k) for t in self.trials) for k in ("kills", "in_flight", "duplicates", "missing")}


def manifest(provider: str, url: str, trial: int, jobs: int, api_version: str, project: str = "") -> str:
    values = ", ".join(str(round(0.01 * (i + 1), 4)) for i in range(jobs))
    name = project or f"chaos-{trial}"
    head = f"version: 1\nproject: {name}\nmax_jobs: {max(jobs, 10)}\ndefaults: {{shots: 10}}\ntargets:\n"
    if provider == "azure":
        return head + (
            f"  t: {{provider: azure, target: ionq.simulator, endpoint: '{url}', credentials: {{api_key_env: "
            "AZURE_QUANTUM_API_KEY}, workspace: {subscription_id: 00000000-0000-0000-0000-000000000001, "
            "resource_group: rg, name: ws, location: eastus}}\n"
            f"jobs:\n  t{trial}:\n    target: t\n    program: rotation.qasm\n    matrix: {{theta: [{values}]}}\n"
        )
    if provider == "superstaq":
        return head + (
            f"  t: {{provider: superstaq, target: ss_unconstrained_simulator, endpoint: '{url}', "
            f"api_version: {api_version}, credentials: {{api_key_env: SUPERSTAQ_API_KEY}}}}\n"
            f"jobs:\n  t{trial}:\n    target: t\n    program: rotation.qasm\n    matrix: {{theta: [{values}]}}\n"
        )
    per_batch = PER_BATCH
    text = head + (
        f"  t: {{provider: pasqal, target: EMU_FREE, endpoint: '{url}/core', project_id: "
        "00000000-0000-0000-0000-0000000000aa, credentials: {token_env: PASQAL_TOKEN}}\nbatches:\n"
    )
    for b in range(max(1, jobs // per_batch)):
        # values stay within the channel's amplitude limit
        omegas = ", ".join(str(round(0.5 + 0.001 * (b * per_batch + i), 4)) for i in range(per_batch))
        name = f"t{trial}b{b}"
        text += (
            f"  {name}:\n    target: t\n    sequence: rabi.json\n    runs: 10\n    tags: ['addr:batch.{name}']\n"
            f"    matrix: {{omega: [{omegas}]}}\n"
        )
    return text


@dataclass(frozen=True)
class State:
    """Where a trial's state lives: a file in its folder, or a project of its own in a PostgreSQL database."""

    server: str = ""  # a postgresql:// URL, or "" for a file per trial
    run: str = field(default_factory=lambda: uuid.uuid4().hex[:6])

    def project(self, provider: str, trial: int) -> str:
        return f"chaos-{provider}-{self.run}-{trial}" if self.server else f"chaos-{trial}"

    def location(self, folder: Path, provider: str, trial: int) -> str:
        if self.server:
            return f"{self.server}?project={self.project(provider, trial)}"
        return str(folder / "state.db")


def apply_cmd(folder: Path, state: str = "") -> list[str]:
    return [
        sys.executable,
        "-m",
        "runner",
        "apply",
        str(folder / "m.yaml"),
        "--yes",
        "--state",
        state or str(folder / "state.db"),
        "--parallelism",
        "8",
        "--lock-timeout",
        "30",
    ]


def run_trial(
    provider: str,
    url: str,
    trial: int,
    jobs: int,
    rng: random.Random,
    window: tuple[float, float],
    api_version: str,
    where: State | None = None,
) -> Trial:
    where = where or State()
    folder = Path(tempfile.mkdtemp(prefix=f"chaos-{provider}-{trial}-"))
    (folder / "rotation.qasm").write_text(ROTATION)
    (folder / "rabi.json").write_text(SEQUENCE)
    (folder / "m.yaml").write_text(manifest(provider, url, trial, jobs, api_version, where.project(provider, trial)))
    state = where.location(folder, provider, trial)
    env = {**os.environ, **ENV}
    started = time.monotonic()
    kills, in_flight, recorded = rng.randint(1, 3), 0, 0
    for _ in range(kills):
        proc = subprocess.Popen(apply_cmd(folder, state), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        total, submitting = window
        if rng.random() < 0.5:  # anywhere: start-up, lock, reconciliation, submissions, bookkeeping
            time.sleep(rng.uniform(0.0, total))
        else:  # inside the submission phase, where intents are open and calls are in flight
            first_intent(state, proc, timeout=total * 2)
            time.sleep(rng.uniform(0.0, submitting))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        proc.wait()
        opened, recorded = inspect(state)
        in_flight += opened
    final, error = 1, ""
    for _ in range(3):  # a final apply to completion (retried if a fault outlasted its retries)
        done = subprocess.run(apply_cmd(folder, state), capture_output=True, text=True, env=env, timeout=900)
        final = done.returncode
        if final == 0:
            break
        error = " | ".join((done.stderr + done.stdout).strip().splitlines()[-3:])
    counts = counted(provider, url)
    mine = {a: n for a, n in counts.items() if belongs(a, trial)}
    expected = jobs if provider != "pasqal" else max(1, jobs // PER_BATCH) * PER_BATCH
    duplicates, missing = sum(n - 1 for n in mine.values() if n > 1), expected - len(mine)
    if final == 0 and duplicates == 0 and missing == 0:
        shutil.rmtree(folder, ignore_errors=True)
    else:  # keep the evidence: the manifest and the state file the kills left
        error = f"{error} (kept {folder})".strip()
    return Trial(
        trial,
        kills,
        in_flight,
        recorded,
        final,
        sum(mine.values()),
        duplicates,
        missing,
        round(time.monotonic() - started, 2),
        "" if final == 0 and not duplicates and not missing else error,
    )


def counted(provider: str, url: str) -> dict[str, int]:
    """The census, with fault injection paused so the counting itself is not disturbed."""
    import httpx

    saved = httpx.get(f"{url}/_admin/faults", timeout=30).json()
    httpx.post(f"{url}/_admin/faults", json={"error_rate": 0, "drop_rate": 0}, timeout=30).raise_for_status()
    try:
        return dict(census.COUNT[provider](url))
    finally:
        httpx.post(f"{url}/_admin/faults", json=saved, timeout=30).raise_for_status()


def inspect(state: str | Path) -> tuple[int, int]:
    """(open intents, resources with a remote id) in a state a kill just left behind."""
    import sqlite3

    if str(state).startswith("postgresql://"):
        return inspect_postgres(str(state))
    path = Path(state)
    if not path.exists():
        return 0, 0
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            opened = conn.execute("SELECT count(*) FROM intents WHERE state = 'open'").fetchone()[0]
            recorded = conn.execute("SELECT count(*) FROM resources WHERE remote_id IS NOT NULL").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error:  # killed before the schema existed
        return 0, 0
    return int(opened), int(recorded)


def inspect_postgres(location: str) -> tuple[int, int]:
    """The same two counts in one project's schema of a PostgreSQL state (0, 0 before it exists)."""
    import psycopg

    from runner.state.location import parse
    from runner.state.pgschema import schema_for

    where = parse(location)
    info = " ".join(f"{k}={v}" for k, v in where.connect_args().items())
    with psycopg.connect(info, autocommit=True) as conn:
        schema = schema_for(where.project or "")
        if conn.execute("SELECT to_regclass(%s)", (f"{schema}.resources",)).fetchone() == (None,):
            return 0, 0
        conn.execute(psycopg.sql.SQL("SET search_path TO {}").format(psycopg.sql.Identifier(schema)))
        opened = conn.execute("SELECT count(*) FROM intents WHERE state = 'open'").fetchone()
        recorded = conn.execute("SELECT count(*) FROM resources WHERE remote_id IS NOT NULL").fetchone()
    return int(opened[0] if opened else 0), int(recorded[0] if recorded else 0)


def belongs(address: str, trial: int) -> bool:
    """job.t7[...] or batch.t7b3.job[...] belong to trial 7 (and not to trial 77)."""
    name = address.split("[")[0].split(".")[1]
    rest = name.removeprefix(f"t{trial}")
    return name.startswith(f"t{trial}") and (rest == "" or (rest[:1] == "b" and rest[1:].isdigit()))


def emulate(provider: str, args: argparse.Namespace) -> tuple[subprocess.Popen[str], str]:
    cmd = [
        sys.executable,
        "-m",
        "runner",
        "emulate",
        provider,
        "--port",
        "0",
        "--queue-delay",
        "3600",
        "--latency",
        str(args.latency),
        "--error-rate",
        str(args.error_rate),
        "--drop-rate",
        str(args.drop_rate),
        "--seed",
        str(args.seed),
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


def first_intent(path: str | Path, proc: subprocess.Popen[bytes], timeout: float) -> None:
    """Return once the apply has written its first intent (or ended, or the timeout passed)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if inspect(path)[0] or inspect(path)[1]:
            return
        time.sleep(0.005)


def calibrate(provider: str, url: str, jobs: int, api_version: str, where: State) -> tuple[float, float]:
    """(whole apply, submission phase) of one uninterrupted apply: the windows kills land in."""
    folder = Path(tempfile.mkdtemp(prefix=f"chaos-{provider}-calibrate-"))
    (folder / "rotation.qasm").write_text(ROTATION)
    (folder / "rabi.json").write_text(SEQUENCE)
    (folder / "m.yaml").write_text(
        manifest(provider, url, 999_999, jobs, api_version, where.project(provider, 999_999))
    )
    state = where.location(folder, provider, 999_999)
    started = time.monotonic()
    proc = subprocess.Popen(
        apply_cmd(folder, state), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, **ENV}
    )
    first_intent(state, proc, timeout=600)
    submitting = time.monotonic()
    while proc.poll() is None:  # the submission phase ends when every intent is resolved and recorded
        opened, recorded = inspect(state)
        if opened == 0 and recorded >= jobs:
            break
        time.sleep(0.005)
    submitted = time.monotonic()
    proc.wait(timeout=900)
    ended = time.monotonic()
    shutil.rmtree(folder, ignore_errors=True)
    return (ended - started) * 1.1, max(0.05, submitted - submitting)


def chaos(provider: str, args: argparse.Namespace) -> Outcome:
    proc, url = emulate(provider, args)
    try:
        where = State(args.state)
        window = calibrate(provider, url, args.jobs, args.api_version, where)
        rng = random.Random(args.seed)
        outcome = Outcome(provider, args.jobs)
        for trial in range(args.trials):
            outcome.trials.append(run_trial(provider, url, trial, args.jobs, rng, window, args.api_version, where))
            if args.verbose:
                print(f"  {provider} trial {trial}: {asdict(outcome.trials[-1])}", flush=True)
        return outcome
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def table(outcomes: list[Outcome], args: argparse.Namespace) -> str:
    lines = [
        "| provider | trials | jobs per trial | SIGKILLs | in flight at a kill | final applies ok "
        "| remote jobs counted | duplicates | missing |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for o in outcomes:
        t = o.totals()
        ok = sum(1 for x in o.trials if x.final_exit == 0)
        name = f"{o.provider} ({args.api_version})" if o.provider == "superstaq" else o.provider
        counted = sum(x.found for x in o.trials)
        lines.append(
            f"| {name} | {len(o.trials)} | {o.jobs} | {t['kills']} | {t['in_flight']} | {ok}/{len(o.trials)} "
            f"| {counted} | {t['duplicates']} | {t['missing']} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--providers", default="azure,superstaq,pasqal")
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--latency", type=float, default=0.01, help="seconds the emulator adds to each request")
    parser.add_argument("--error-rate", type=float, default=0.0)
    parser.add_argument("--drop-rate", type=float, default=0.0)
    parser.add_argument("--api-version", default="v0.2.0", help="Superstaq API version")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--state",
        default="",
        help="a postgresql://USER@HOST:PORT/DB URL: each trial's state is a project in it (default: a file per trial)",
    )
    parser.add_argument("--json", dest="json_out", default=None, help="Also write the results as JSON here")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args()
    outcomes = [chaos(p, args) for p in args.providers.split(",")]
    print(table(outcomes, args))
    if args.json_out:
        Path(args.json_out).write_text(json.dumps([asdict(o) for o in outcomes], indent=2))
    bad = any(o.totals()["duplicates"] or o.totals()["missing"] for o in outcomes)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
