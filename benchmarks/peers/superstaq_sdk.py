"""The best hand-written general-superstaq script (the client qiskit-superstaq uses), 16 threads.

    python benchmarks/peers/superstaq_sdk.py submit URL N     # N jobs of the benchmark circuit
    python benchmarks/peers/superstaq_sdk.py results URL IDS  # counts of the jobs listed in IDS

Circuits are built with qiskit and sent as QPY, as qiskit-superstaq does; the parametrised
circuit is built once and bound per job.
"""

from __future__ import annotations

import io
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from general_superstaq.serialization import bytes_to_str
from general_superstaq.superstaq_client import _SuperstaqClient

THREADS = 16


def client(url: str) -> _SuperstaqClient:
    return _SuperstaqClient(client_name="qiskit-superstaq", api_key="emulator-key", remote_host=url)


def circuits(n: int) -> list[str]:
    from qiskit import QuantumCircuit, qpy
    from qiskit.circuit import Parameter

    a = Parameter("a")
    template = QuantumCircuit(2, 2)
    template.rx(a, 0)
    template.ry(0.5, 1)
    template.cx(0, 1)
    template.measure([0, 1], [0, 1])
    out = []
    for i in range(n):
        buffer = io.BytesIO()
        qpy.dump([template.assign_parameters({a: round(0.001 * i, 3)})], buffer)
        out.append(bytes_to_str(buffer.getvalue()))
    return out


def submit(url: str, n: int) -> list[str]:
    ss, serialized = client(url), circuits(n)

    def one(i: int) -> str:
        answer: dict[str, Any] = ss.create_job({"qiskit_circuits": serialized[i]}, 100, "ss_unconstrained_simulator")
        return ",".join(answer["job_ids"])

    with ThreadPoolExecutor(THREADS) as pool:
        return list(pool.map(one, range(n)))


def results(url: str, ids: list[str]) -> int:
    ss = client(url)

    def one(job_id: str) -> int:
        job = ss.fetch_jobs([job_id])[job_id]
        return len(job.get("samples") or {})

    with ThreadPoolExecutor(THREADS) as pool:
        return sum(pool.map(one, ids))


def main() -> None:
    what, url, arg = sys.argv[1:4]
    if what == "submit":
        print("\n".join(submit(url, int(arg))))
    else:
        ids = Path(arg).read_text().split()
        print(f"{len(ids)} results, {results(url, ids)} outcomes")


if __name__ == "__main__":
    main()
