"""Listing a workspace's jobs and sessions with the service's own `filter`, `orderby`, `skip`, `top` and `nextLink`.

The parameter names have no `$` (the recorded SDK sent `filter=...&skip=0&top=100`, and followed
the absolute `nextLink` the service returned). The filter clauses are the ones the SDK builds:
`(Target eq 't')`, `(State eq 'Failed' or ...)`, `startswith(Name, 'p')`, `CreationTime ge|le
YYYY-MM-DD`; newest first is `orderby=CreationTime desc`. The list filter has no tags and no
time of day: a tag, an id, or a bound with a time of day is checked here on what the service sent
(Listing.local names it). Sessions come back without tags, so a tag filter on them is refused.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from runner.domain.query import Listing, Query, RemoteItem, raw_for
from runner.domain.vocabulary import UNKNOWN
from runner.errors import UsageError
from runner.providers.azure.api import WorkspaceApi
from runner.providers.azure.wire import JOB_STATUS, SESSION_STATUS, costs
from runner.providers.paging import Chunk, first_size, take

Raw = Mapping[str, Any]


def quoted(text: str) -> str:
    """An OData string literal (a quote inside is doubled)."""
    return "'" + text.replace("'", "''") + "'"


def clauses(query: Query, target: str) -> list[str]:
    """The filter clauses the service applies, joined by ` and ` as the SDK joins them."""
    table = SESSION_STATUS if query.what == "sessions" else JOB_STATUS
    found = [] if query.parent else [f"(Target eq {quoted(target)})"]
    statuses = raw_for(query.statuses, table)
    if statuses:
        found.append("(" + " or ".join(f"State eq {quoted(s)}" for s in statuses) + ")")
    if query.name:
        found.append(f"startswith(Name, {quoted(query.name)})")
    if query.since:
        found.append(f"CreationTime ge {_utc(query.since).date().isoformat()}")
    if query.until:
        found.append(f"CreationTime le {_utc(query.until).date().isoformat()}")
    return found


def refuse(query: Query) -> None:
    if query.what == "batches":
        raise UsageError("Azure Quantum has no batches: list jobs or sessions")
    if query.what == "sessions" and query.tags:
        raise UsageError("Azure Quantum returns sessions without tags, so no session can match --tag")
    if query.what == "sessions" and query.parent:
        raise UsageError("--in lists the jobs of a session: runner remote jobs TARGET --in SESSION")
    if query.min_runs is not None or query.max_runs is not None:
        raise UsageError("--min-runs and --max-runs are Pasqal job filters; Azure jobs have no runs")


def local_checks(query: Query) -> tuple[list[str], Callable[[Raw], bool] | None]:
    """What the list filter cannot say, as names for Listing.local and one predicate."""
    tests: list[tuple[str, Callable[[Raw], bool]]] = []
    if query.tags:
        tests.append(("tag", lambda raw: set(query.tags) <= set(raw.get("tags") or [])))
    if query.ids:
        tests.append(("id", lambda raw: str(raw.get("id")) in query.ids))
    since = _utc(query.since) if query.since else None
    until = _utc(query.until) if query.until else None
    if since is not None and since != _midnight(since):
        tests.append(("since (time of day)", lambda raw: _created(raw) >= since))
    if until is not None and until != _midnight(until) + dt.timedelta(days=1, microseconds=-1):
        tests.append(("until (time of day)", lambda raw: _created(raw) <= until))
    if not tests:
        return [], None
    return [name for name, _ in tests], lambda raw: all(test(raw) for _, test in tests)


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.timezone.utc)


def _midnight(moment: dt.datetime) -> dt.datetime:
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def _created(raw: Raw) -> dt.datetime:
    text = str(raw.get("creationTime") or "1970-01-01T00:00:00+00:00").replace("Z", "+00:00")
    # the service writes seven digits of fractions (.8923491Z); Python reads at most six
    head, dot, rest = text.partition(".")
    if dot:
        digits = "".join(ch for ch in rest if ch.isdigit())
        text = f"{head}.{digits[:6]}{rest[len(digits) :]}"
    moment = dt.datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def listing(api: WorkspaceApi, query: Query, target: str) -> Listing:
    """The query's window, newest first, following nextLink only as far as the window needs."""
    refuse(query)
    names, keep = local_checks(query)
    path = f"/sessions/{query.parent}/jobs" if query.parent else f"/{query.what}"
    params: dict[str, Any] = {"orderby": "CreationTime desc"}
    found = clauses(query, target)
    if found:
        params["filter"] = " and ".join(found)
    before = api.http.calls
    raws, more, _ = take(_chunks(api, path, params, query, local=keep is not None), query, keep)
    return Listing(tuple(item(r) for r in raws), None, more, tuple(names), api.http.calls - before)


def _chunks(
    api: WorkspaceApi, path: str, params: Mapping[str, Any], query: Query, *, local: bool
) -> Iterator[Chunk[Raw]]:
    from runner.providers.azure.models import Page, parse

    url: str | None = path
    window: Mapping[str, Any] = {**params, "skip": 0 if local else query.offset, "top": first_size(query, local)}
    while url:
        page = parse(Page, api.call("GET", url, params=window), "list page")
        url, window = page.nextLink, {}  # the nextLink carries its own filter, skip and top
        yield Chunk(list(page.value), bool(url))


def item(raw: Raw) -> RemoteItem:
    """A JobDetails or SessionDetails body as a remote item, with what the service says about it."""
    session = raw.get("itemType") == "Session"
    raw_status = str(raw.get("status") or "")
    table = SESSION_STATUS if session else JOB_STATUS
    return RemoteItem(
        "session" if session else "job",
        str(raw.get("id")),
        table.get(raw_status, UNKNOWN),
        raw_status,
        target=raw.get("target"),
        name=raw.get("name"),
        created=raw.get("creationTime"),
        parent_id=None if session else raw.get("sessionId"),
        tags=tuple(str(t) for t in raw.get("tags") or ()),
        detail=details(raw, session),
    )


# the SessionDetails / JobDetails fields a person asks about, in runner's names
FIELDS = {
    "providerId": "provider_id",
    "jobFailurePolicy": "job_failure_policy",
    "priority": "priority",
    "jobPriority": "priority",
    "createdBy": "created_by",
    "createdByType": "created_by_type",
    "beginExecutionTime": "begin_execution_time",
    "endExecutionTime": "end_execution_time",
    "cancellationTime": "cancellation_time",
    "lastUpdatedTime": "last_updated_time",
    "lastModifiedTime": "last_modified_time",
    "lastModifiedBy": "last_modified_by",
    "lastModifiedByType": "last_modified_by_type",
    "usage": "usage",
    "jobType": "job_type",
    "inputDataFormat": "input_format",
    "outputDataFormat": "output_format",
    "inputParams": "input_params",
}


def details(raw: Raw, session: bool) -> dict[str, Any]:
    """The fields the service sent (a field it did not send is left out, never guessed)."""
    from runner.providers.azure.models import CostEstimate, parse

    out = {ours: raw[theirs] for theirs, ours in FIELDS.items() if raw.get(theirs) not in (None, "", {})}
    error = raw.get("errorData")
    if isinstance(error, Mapping) and (error.get("message") or error.get("code")):
        out["error"] = str(error.get("message") or error.get("code"))
    estimate = raw.get("costEstimate")
    if isinstance(estimate, Mapping):
        parsed = costs(parse(CostEstimate, estimate, "cost estimate"))
        # a session's estimate sums its jobs': shown apart, never added to theirs
        out["session_cost" if session else "cost"] = parsed.get("cost")
        out["cost_events"] = parsed["usage"]
    if not session and isinstance(raw.get("quantumComputingData"), Mapping):
        out["count"] = raw["quantumComputingData"].get("count")
    return out
