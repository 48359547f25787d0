"""The best hand-written azure-quantum script: 16 threads submitting jobs or downloading results.

    python benchmarks/peers/azure_sdk.py submit URL N        # N jobs of the benchmark circuit, ids on stdout
    python benchmarks/peers/azure_sdk.py results URL IDS     # results of the jobs listed in the file IDS

The circuit is written straight in IonQ's JSON (no conversion step), and every job is created
by the SDK's own Job.from_input_data (storage container, blob, job PUT), as a user would.
"""

from __future__ import annotations

import json
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from azure.core.credentials import AzureKeyCredential
from azure.quantum import Workspace
from azure.quantum.job import Job

THREADS = 16


def workspace(url: str) -> Any:
    return Workspace(
        subscription_id="00000000-0000-0000-0000-000000000001",
        resource_group="rg",
        name="ws",
        location="eastus",
        credential=AzureKeyCredential("emulator-key"),
        _quantum_endpoint=f"{url}/",
    )


def circuit(a: float) -> bytes:
    gates = [
        {"gate": "rx", "target": 0, "rotation": a},
        {"gate": "ry", "target": 1, "rotation": 0.5},
        {"gate": "cnot", "control": 0, "target": 1},
    ]
    return json.dumps({"gateset": "qis", "qubits": 2, "circuit": gates}).encode()


def submit(url: str, n: int) -> list[str]:
    ws = workspace(url)

    def one(i: int) -> str:
        job = Job.from_input_data(
            ws,
            name=f"peer-{i}",
            target="ionq.simulator",
            input_data=circuit(round(0.001 * i, 3)),
            provider_id="ionq",
            input_data_format="ionq.circuit.v1",
            output_data_format="ionq.quantum-results.v1",
            input_params={"shots": 100},
        )
        return str(job.id)

    with ThreadPoolExecutor(THREADS) as pool:
        return list(pool.map(one, range(n)))


def results(url: str, ids: list[str]) -> int:
    ws = workspace(url)

    def one(job_id: str) -> int:
        histogram = ws.get_job(job_id).get_results()["histogram"]
        return len(histogram)

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
