"""Count what exists remotely, through each provider's own REST API (not runner's state).

Each function returns a Counter of runner addresses: how many remote jobs carry each one.
A count of 2 is a duplicate; an address with no count is missing.
"""

from __future__ import annotations

import base64
import io
from collections import Counter
from typing import Any

import httpx

AZURE_PREFIX = (
    "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.Quantum/workspaces/ws"
)
AZURE_KEY = "emulator-key"
SUPERSTAQ_KEY = "emulator-key"
PASQAL_TOKEN = "emulator-token"


def azure(url: str) -> Counter[str]:
    """Jobs by name (runner names Azure jobs by address), following nextLink pages."""
    found: Counter[str] = Counter()
    next_url: str | None = f"{url}{AZURE_PREFIX}/jobs"
    params: dict[str, Any] | None = {"api-version": "2026-01-15-preview", "skip": 0, "top": 100}
    with httpx.Client(headers={"x-ms-quantum-api-key": AZURE_KEY}, timeout=60) as client:
        while next_url:
            page = client.get(next_url, params=params)
            page.raise_for_status()
            body = page.json()
            found.update(job["name"] for job in body["value"])
            next_url, params = body.get("nextLink"), None
    return found


def superstaq(url: str) -> Counter[str]:
    """Jobs from the v0.3.0 query (it lists v0.2.0 submissions too), by the address inside each circuit."""
    from qiskit import qpy

    with httpx.Client(headers={"Authorization": SUPERSTAQ_KEY}, timeout=120) as client:
        page = client.get(f"{url}/v0.3.0/client/job/qiskit")
        page.raise_for_status()
        jobs = page.json()
    found: Counter[str] = Counter()
    for data in jobs.values():
        circuit = qpy.load(io.BytesIO(base64.b64decode(data["input_circuits"][0])))[0]
        found[circuit.metadata["runner_address"]] += 1
    return found


def pasqal(url: str) -> Counter[str]:
    """Batch jobs, addressed from their batch's `addr:` tag and their variables (two paged listings)."""
    from runner.domain import address

    found: Counter[str] = Counter()
    headers = {"Authorization": f"Bearer {PASQAL_TOKEN}"}
    with httpx.Client(headers=headers, timeout=60) as client:
        names = {}
        for batch in _pages(client, f"{url}/core/api/v1/batches", {}):
            tags = [t.removeprefix("addr:") for t in batch.get("tags") or [] if t.startswith("addr:")]
            if tags:
                names[batch["id"]] = tags[0].removeprefix("batch.")
        for job in _pages(client, f"{url}/core/api/v2/jobs", {}):
            if job.get("batch_id") in names:
                found[address.batch_job(names[job["batch_id"]], None, job.get("variables") or {})] += 1
    return found


def _pages(client: httpx.Client, url: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    while True:
        page = client.get(url, params={**params, "offset": len(items), "limit": 100})
        page.raise_for_status()
        body = page.json()
        items.extend(body["data"])
        total = (body.get("pagination") or {}).get("total", len(items))
        if not body["data"] or len(items) >= total:
            return items


COUNT = {"azure": azure, "superstaq": superstaq, "pasqal": pasqal}


def live(provider: str, url: str) -> Counter[str]:
    """Like COUNT, but only what was not cancelled: what still runs, or ran, and costs money."""
    if provider == "azure":
        return _azure_live(url)
    if provider == "superstaq":
        return _superstaq_live(url)
    return _pasqal_live(url)


def _azure_live(url: str) -> Counter[str]:
    found: Counter[str] = Counter()
    next_url: str | None = f"{url}{AZURE_PREFIX}/jobs"
    params: dict[str, Any] | None = {"api-version": "2026-01-15-preview", "skip": 0, "top": 100}
    with httpx.Client(headers={"x-ms-quantum-api-key": AZURE_KEY}, timeout=60) as client:
        while next_url:
            page = client.get(next_url, params=params)
            page.raise_for_status()
            body = page.json()
            found.update(j["name"] for j in body["value"] if j["status"] not in CANCELLED_AZURE)
            next_url, params = body.get("nextLink"), None
    return found


CANCELLED_AZURE = ("Cancelled", "CancellationRequested", "Cancelling")


def _superstaq_live(url: str) -> Counter[str]:
    from qiskit import qpy

    with httpx.Client(headers={"Authorization": SUPERSTAQ_KEY}, timeout=120) as client:
        page = client.get(f"{url}/v0.3.0/client/job/qiskit")
        page.raise_for_status()
        jobs = page.json()
    found: Counter[str] = Counter()
    for data in jobs.values():
        if all(str(s).lower() in ("cancelled", "canceled") for s in data.get("statuses") or [data.get("status")]):
            continue
        circuit = qpy.load(io.BytesIO(base64.b64decode(data["input_circuits"][0])))[0]
        found[circuit.metadata["runner_address"]] += 1
    return found


def _pasqal_live(url: str) -> Counter[str]:
    from runner.domain import address

    found: Counter[str] = Counter()
    headers = {"Authorization": f"Bearer {PASQAL_TOKEN}"}
    with httpx.Client(headers=headers, timeout=60) as client:
        names = {}
        for batch in _pages(client, f"{url}/core/api/v1/batches", {}):
            tags = [t.removeprefix("addr:") for t in batch.get("tags") or [] if t.startswith("addr:")]
            if tags:
                names[batch["id"]] = tags[0].removeprefix("batch.")
        for job in _pages(client, f"{url}/core/api/v2/jobs", {}):
            if job.get("batch_id") in names and job.get("status") not in ("CANCELED", "CANCELING"):
                found[address.batch_job(names[job["batch_id"]], None, job.get("variables") or {})] += 1
    return found
