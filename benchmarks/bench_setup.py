"""Fixtures for benchmarks/run.py: projects, emulators, and the baselines' own scripts."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
KEYS = {"AZURE_QUANTUM_API_KEY": "emulator-key", "SUPERSTAQ_API_KEY": "emulator-key", "PASQAL_TOKEN": "emulator"}
WORKSPACE = "{subscription_id: 00000000-0000-0000-0000-000000000001, resource_group: rg, name: ws, location: eastus}"
PREFIX = (
    "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.Quantum/workspaces/ws"
)
TWO_INPUTS = """OPENQASM 3.0;
include "stdgates.inc";
input float a;
input float b;
qubit[2] q;
bit[2] c;
rx(a) q[0];
ry(b) q[1];
cx q[0], q[1];
c = measure q;
"""


def _values(n: int) -> str:
    return ", ".join(str(round(0.001 * i, 3)) for i in range(n))


def ghz(folder: Path) -> Path:
    """GHZ-20 with 1000 shots: a runner manifest and a bare qiskit-aer script doing the same."""
    folder.mkdir(parents=True)
    gates = "\n".join(f"cx q[{i}], q[{i + 1}];" for i in range(19))
    (folder / "ghz.qasm").write_text(
        f'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[20];\ncreg c[20];\nh q[0];\n{gates}\nmeasure q -> c;\n'
    )
    (folder / "m.yaml").write_text("version: 1\nproject: ghz\njobs:\n  ghz: {program: ghz.qasm, shots: 1000}\n")
    (folder / "bare.py").write_text(
        "import qiskit.qasm2\nfrom qiskit import transpile\nfrom qiskit_aer import AerSimulator\n"
        "circuit = qiskit.qasm2.loads(open('ghz.qasm').read())\nsim = AerSimulator()\n"
        "counts = sim.run(transpile(circuit, sim), shots=1000, seed_simulator=1).result().get_counts()\n"
        "print(sorted(counts.items())[:2])\n"
    )
    return folder


def sweep(folder: Path, jobs: int) -> Path:
    """A local sweep of `jobs` jobs (a square matrix), plus the floor script: read YAML and state rows."""
    folder.mkdir(parents=True)
    side = int(jobs**0.5)
    (folder / "two.qasm").write_text(TWO_INPUTS)
    (folder / "m.yaml").write_text(
        f"version: 1\nproject: sweep\ndefaults: {{shots: 100}}\njobs:\n  s:\n    program: two.qasm\n"
        f"    matrix:\n      a: [{_values(side)}]\n      b: [{_values(side)}]\n"
    )
    (folder / "floor.py").write_text(
        "import sqlite3, yaml\nyaml.load(open('m.yaml'), Loader=yaml.CSafeLoader)\n"
        "conn = sqlite3.connect('.runner/state.db')\n"
        "rows = conn.execute('SELECT * FROM resources').fetchall()\nprint(len(rows))\n"
    )
    return folder


def fsync_storm(path: Path, rows: int) -> float:
    """Seconds for `rows` one-row transactions with SQLite's defaults (rollback journal, full sync)."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    started = time.perf_counter()
    for i in range(rows):
        conn.execute("BEGIN")
        conn.execute("INSERT INTO t (v) VALUES (?)", (f"row {i}",))
        conn.execute("COMMIT")
    seconds = time.perf_counter() - started
    conn.close()
    return seconds


def serial(path: Path) -> int:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return int(conn.execute("SELECT value FROM meta WHERE key = 'serial'").fetchone()[0])
    finally:
        conn.close()


class Emulator:
    """`runner emulate PROVIDER` in its own process; by default jobs stay queued so nothing else uses the CPU."""

    def __init__(self, provider: str, latency: float, queue_delay: float = 86400) -> None:
        self.provider, self.latency, self.queue_delay = provider, latency, queue_delay

    def __enter__(self) -> Emulator:
        cmd = [
            sys.executable,
            "-m",
            "runner",
            "emulate",
            self.provider,
            "--port",
            "0",
            "--queue-delay",
            str(self.queue_delay),
            "--latency",
            str(self.latency),
        ]
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
        assert self.proc.stdout is not None
        self.url = self.proc.stdout.readline().strip()
        return self

    def requests(self) -> int:
        """API requests the emulator has answered so far (admin calls are not counted)."""
        return int(httpx.get(f"{self.url}/_admin/stats", timeout=30).json().get("requests", 0))

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


def azure_target(url: str) -> str:
    return (
        f"  az: {{provider: azure, target: ionq.simulator, endpoint: '{url}', "
        f"credentials: {{api_key_env: AZURE_QUANTUM_API_KEY}}, workspace: {WORKSPACE}}}\n"
    )


def azure_sweep(folder: Path, url: str, jobs: int) -> Path:
    folder.mkdir(parents=True)
    (folder / "two.qasm").write_text(TWO_INPUTS)
    (folder / "m.yaml").write_text(
        f"version: 1\nproject: b3\ndefaults: {{shots: 100}}\ntargets:\n{azure_target(url)}jobs:\n  s:\n"
        f"    target: az\n    program: two.qasm\n    params: {{b: 0.5}}\n    matrix:\n      a: [{_values(jobs)}]\n"
    )
    return folder


def raw_azure_creates(url: str, jobs: int, threads: int) -> float:
    """Seconds for a pooled httpx client to send, per job, the same three create requests runner sends."""
    from runner.domain.model import Program
    from runner.providers.azure import formats

    program = Program("two.qasm", TWO_INPUTS, "qasm3", "x" * 64)
    payloads = [formats.payload_for("ionq.simulator", program, {"a": 0.001 * i, "b": 0.5}) for i in range(jobs)]
    api = {"api-version": "2026-01-15-preview"}
    headers = {"x-ms-quantum-api-key": KEYS["AZURE_QUANTUM_API_KEY"]}
    client = httpx.Client(
        limits=httpx.Limits(max_connections=threads, max_keepalive_connections=threads), timeout=60, headers=headers
    )

    def create(i: int) -> None:
        job = str(uuid.uuid4())
        sas = client.post(f"{url}{PREFIX}/storage/sasUri", params=api, json={"containerName": f"job-{job}"})
        container = sas.json()["sasUri"]
        base, _, query = container.partition("?")
        payload = payloads[i]
        client.put(
            f"{base}/inputData?{query}",
            content=payload.data,
            headers={"x-ms-blob-type": "BlockBlob", "Content-Type": payload.content_type},
        ).raise_for_status()
        body = {
            "name": f"raw-{i}",
            "containerUri": container,
            "inputDataUri": f"{base}/inputData",
            "inputDataFormat": payload.input_format,
            "outputDataFormat": payload.output_format,
            "providerId": "ionq",
            "target": "ionq.simulator",
            "inputParams": {"shots": 100},
            "itemType": "Job",
            "metadata": {"runner.layout": json.dumps(payload.layout)},
        }
        client.put(f"{url}{PREFIX}/jobs/{job}", params=api, json=body).raise_for_status()

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(create, range(jobs)))
    seconds = time.perf_counter() - started
    client.close()
    return seconds


def run_seconds(run: dict[str, Any]) -> float:
    """How long an apply ran, from its history row."""

    def at(stamp: str) -> float:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()

    return at(run["finished_at"]) - at(run["started_at"])


def in_flight(folder: Path, provider: str, url: str, jobs: int) -> Path:
    """A manifest of `jobs` jobs that will stay queued on the emulator."""
    folder.mkdir(parents=True)
    (folder / "two.qasm").write_text(TWO_INPUTS)
    (folder / "rabi.json").write_text((ROOT / "examples" / "pasqal" / "sequences" / "rabi.json").read_text())
    head = f"version: 1\nproject: b4\nmax_jobs: {jobs}\ndefaults: {{shots: 10}}\ntargets:\n"
    if provider == "azure":
        body = (
            f"{azure_target(url)}jobs:\n  s:\n    target: az\n    program: two.qasm\n    params: {{b: 0.5}}\n"
            f"    matrix:\n      a: [{_values(jobs)}]\n"
        )
    elif provider == "superstaq":
        body = (
            f"  ss: {{provider: superstaq, target: ss_unconstrained_simulator, endpoint: '{url}', "
            f"credentials: {{api_key_env: SUPERSTAQ_API_KEY}}}}\njobs:\n  s:\n    target: ss\n"
            f"    program: two.qasm\n    params: {{b: 0.5}}\n    matrix:\n      a: [{_values(jobs)}]\n"
        )
    else:
        body = (
            f"  emu: {{provider: pasqal, target: EMU_FREE, endpoint: '{url}/core', project_id: "
            "00000000-0000-0000-0000-0000000000aa, credentials: {token_env: PASQAL_TOKEN}}\nbatches:\n"
        )
        for b in range(jobs // 100):
            omegas = ", ".join(str(round(0.5 + 0.0001 * (b * 100 + i), 4)) for i in range(100))  # within the channel
            body += (
                f"  b{b}:\n    target: emu\n    sequence: rabi.json\n    runs: 10\n    matrix: {{omega: [{omegas}]}}\n"
            )
    (folder / "m.yaml").write_text(head + body)
    return folder
