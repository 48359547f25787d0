"""Azure Quantum's words mapped onto runner's: statuses, costs, error bodies, list filters.

What the recorded real service shows (../shared/providers/recordings/azure), and runner follows:
- A job can say `Finishing` between Executing and Succeeded.
- A session under jobFailurePolicy Continue says `Failure(s)` after a job failed while it is still
  open and still takes jobs: runner reads that as running, with detail["failures"]; closing it
  ends it `Failed`. Under Abort the failed job ends the session `Failed` at once.
- Sessions come back without tags, priority or errorData: runner never reads those from a session
  (the tags it sent at creation cannot be read back, so what runner shows for them is its own record).
- A session's own costEstimate sums its jobs: it is kept apart (detail["session_cost"]) and never
  added to the jobs' costs.
- A UsageEvent's amountBilled is a quantity of its measureUnit, not money. Quantinuum reports one
  `hqc`/`ehqc` event (unit "hqc") with estimatedTotal 0.0 USD: that job's cost is recorded as that
  many HQC (or EHQC), the currency runner's plan estimates it in, and its 0.0 USD is left out.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import TYPE_CHECKING, Any

from runner.domain.remote import Observation
from runner.domain.vocabulary import CANCELLED, FAILED, PENDING, RUNNING, SUCCEEDED, TIMED_OUT, UNKNOWN, Status

if TYPE_CHECKING:
    import httpx

    from runner.providers.azure.models import CostEstimate

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
PARTIAL = "Failure(s)"
SESSION_STATUS: dict[str, Status] = {
    "Waiting": PENDING,
    "Executing": RUNNING,
    PARTIAL: RUNNING,  # still open and taking jobs (Continue); it ends Failed when closed
    "Succeeded": SUCCEEDED,
    "Failed": FAILED,
    "TimedOut": TIMED_OUT,
}
HQC_UNIT = "hqc"
_XML_ERROR = re.compile(r"<Code>([^<]*)</Code>\s*<Message>([^<\n]*)")


def observation(raw: Any) -> Observation:
    """A JobDetails or SessionDetails body as runner's Observation; unknown statuses stay visible."""
    from runner.providers.azure import models

    item = models.item(raw)
    status = str(item.status or "")
    detail: dict[str, Any] = {}
    if isinstance(item, models.SessionDetails):
        if status == PARTIAL:
            detail["failures"] = True  # some of its jobs failed (jobFailurePolicy Continue); still open
        if item.costEstimate is not None and item.costEstimate.currencyCode:
            cost = item.costEstimate
            detail["session_cost"] = {"currency": cost.currencyCode, "amount": cost.estimatedTotal}
        return Observation(item.id, SESSION_STATUS.get(status, UNKNOWN), status, detail)
    if item.errorData is not None and (item.errorData.message or item.errorData.code):
        detail["error"] = str(item.errorData.message or item.errorData.code)
    if item.tags is not None:
        detail["tags"] = sorted(item.tags)  # so refresh and plan can see edits made elsewhere
    if item.name is not None:
        detail["name"] = item.name  # read back after a rename
    if item.costEstimate is not None:
        detail.update(costs(item.costEstimate))
    return Observation(item.id, JOB_STATUS.get(status, UNKNOWN), status, detail)


def costs(estimate: CostEstimate) -> dict[str, Any]:
    """detail["cost"] (what the job costs, per currency) and detail["usage"] (the events behind it)."""
    hqc: dict[str, float] = {}
    for event in estimate.events:
        if (event.measureUnit or "").lower() == HQC_UNIT and event.amountBilled is not None:
            name = str(event.dimensionName or event.dimensionId or HQC_UNIT).upper()
            hqc[name] = hqc.get(name, 0.0) + event.amountBilled
    entries = [{"currency": name, "amount": amount} for name, amount in sorted(hqc.items())]
    money = estimate.estimatedTotal
    if estimate.currencyCode and money is not None and (money or not entries):
        entries.append({"currency": estimate.currencyCode, "amount": money})
    out: dict[str, Any] = {"usage": [_line(e) for e in estimate.events]}
    if entries:
        out["cost"] = entries[0] if len(entries) == 1 else entries
    return out


def _line(event: Any) -> dict[str, Any]:
    """One UsageEvent in runner's words: quantities of `unit`, and the price of one."""
    return {
        "dimension": event.dimensionName or event.dimensionId,
        "unit": event.measureUnit,
        "billed": event.amountBilled,
        "consumed": event.amountConsumed,
        "unit_price": event.unitPrice,
    }


def missing(remote_id: str) -> Observation:
    """A resource the workspace no longer knows."""
    return Observation(remote_id, UNKNOWN, "", {"missing": True})


def describe(response: httpx.Response) -> str:
    """`(Code) message` from an error body: Azure's JSON, Azure Storage's XML, or an OAuth token endpoint's."""
    try:
        body = response.json()
    except ValueError:
        return _plain(response)
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return f"({error.get('code') or response.reason_phrase}) {error.get('message') or ''}".strip()
    if isinstance(error, str):  # OAuth: {"error": "invalid_client", "error_description": "AADSTS...\r\nTrace ID..."}
        first = str(body.get("error_description") or "").splitlines()
        return f"({error}) {first[0] if first else ''}".strip()
    return json.dumps(body)[:200]


def _plain(response: httpx.Response) -> str:
    """A body that is not JSON: storage XML, or nothing (a refused key: the reason is in WWW-Authenticate)."""
    found = _XML_ERROR.search(response.text)
    if found:
        return f"({found.group(1)}) {found.group(2).strip()}"
    text = response.text.strip()
    if text:
        return text[:200]
    challenge = response.headers.get("www-authenticate", "")
    reason = re.search(r'error="([^"]*)"', challenge)
    return f"{response.reason_phrase} ({reason.group(1)})" if reason else response.reason_phrase


def list_filter(target: str, since: dt.datetime | None) -> str:
    """Narrow a listing to one target and, when known, to items created since a day before `since`."""
    clauses = [f"(Target eq '{target}')"]
    if since is not None:
        clauses.append(f"CreationTime ge {(since - dt.timedelta(days=1)).date().isoformat()}")
    return " and ".join(clauses)


def answer(message: str) -> str:
    """The status and body part of an HttpClient error message (drops the method and the long path)."""
    return message.split(" -> ", 1)[-1]
