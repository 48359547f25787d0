"""Azure Quantum's words mapped onto runner's: statuses, error bodies, list filters."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from runner.domain.remote import Observation
from runner.domain.vocabulary import CANCELLED, FAILED, PENDING, RUNNING, SUCCEEDED, TIMED_OUT, UNKNOWN, Status

if TYPE_CHECKING:
    import httpx

API_VERSION = "2026-01-15-preview"
# V1 workspaces say Waiting/Succeeded, V2 workspaces Queued/Completed; cancellation passes through two steps on V2.
JOB_STATUS: dict[str, Status] = {
    "Waiting": PENDING,
    "Queued": PENDING,
    "Executing": RUNNING,
    "Finishing": RUNNING,
    "CancellationRequested": RUNNING,
    "Cancelling": RUNNING,
    "Succeeded": SUCCEEDED,
    "Completed": SUCCEEDED,
    "Failed": FAILED,
    "Cancelled": CANCELLED,
}
SESSION_STATUS: dict[str, Status] = {
    "Waiting": PENDING,
    "Executing": RUNNING,
    "Succeeded": SUCCEEDED,
    "Failed": FAILED,
    "Failure(s)": FAILED,
    "TimedOut": TIMED_OUT,
}
PARTIAL = "Failure(s)"


def observation(item: Mapping[str, Any]) -> Observation:
    """A JobDetails or SessionDetails body as runner's Observation; unknown statuses stay visible."""
    raw = str(item.get("status") or "")
    table = SESSION_STATUS if item.get("itemType") == "Session" else JOB_STATUS
    detail: dict[str, Any] = {}
    error = item.get("errorData")
    if isinstance(error, Mapping) and (error.get("message") or error.get("code")):
        detail["error"] = str(error.get("message") or error.get("code"))
    if raw == PARTIAL:
        detail["partial"] = True  # closed after some of its jobs failed (jobFailurePolicy: Continue)
    if isinstance(item.get("tags"), list):
        detail["tags"] = sorted(str(t) for t in item["tags"])  # so refresh and plan can see edits made elsewhere
    if isinstance(item.get("name"), str):
        detail["name"] = item["name"]  # read back after a rename
    cost = item.get("costEstimate")
    if isinstance(cost, Mapping) and cost.get("currencyCode"):
        detail["cost"] = {
            "currency": cost["currencyCode"],
            "amount": cost.get("estimatedTotal"),
            "events": _events(cost),
        }
    return Observation(str(item.get("id", "")), table.get(raw, UNKNOWN), raw, detail)


def _events(cost: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A CostEstimate's UsageEvents in runner's line words; numbers stay as the service sent them."""
    events = cost.get("events")
    return [
        {
            "dimension": e.get("dimensionName") or e.get("dimensionId"),
            "unit": e.get("measureUnit"),
            "quantity": e.get("amountConsumed"),
            "unit_price": e.get("unitPrice"),
            "amount": e.get("amountBilled"),
        }
        for e in (events if isinstance(events, list) else [])
        if isinstance(e, Mapping)
    ]


def missing(remote_id: str) -> Observation:
    """A resource the workspace no longer knows."""
    return Observation(remote_id, UNKNOWN, "", {"missing": True})


def describe(response: httpx.Response) -> str:
    """`(Code) message` from Azure's error body, or from an OAuth token endpoint's."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:200] or response.reason_phrase
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return f"({error.get('code') or response.reason_phrase}) {error.get('message') or ''}".strip()
    if isinstance(error, str):  # OAuth: {"error": "invalid_client", "error_description": "AADSTS...\r\nTrace ID..."}
        first = str(body.get("error_description") or "").splitlines()
        return f"({error}) {first[0] if first else ''}".strip()
    return json.dumps(body)[:200]


def list_filter(target: str, since: dt.datetime | None) -> str:
    """Narrow a listing to one target and, when known, to items created since a day before `since`."""
    clauses = [f"(Target eq '{target}')"]
    if since is not None:
        clauses.append(f"CreationTime ge {(since - dt.timedelta(days=1)).date().isoformat()}")
    return " and ".join(clauses)


def answer(message: str) -> str:
    """The status and body part of an HttpClient error message (drops the method and the long path)."""
    return message.split(" -> ", 1)[-1]
