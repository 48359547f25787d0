"""Questions runner asks a service about what it holds, and what comes back.

A `Query` is what `runner remote jobs|batches|sessions` and `runner import` with filters ask for:
filters the service applies itself where its API has them (each provider says which it had to
apply locally), and a window (offset, limit) over the newest-first answer. A `Selection` picks jobs
of one batch for a filtered cancel or a rerun; its keys are those of Pasqal's `CancelJobFilters`
and `RebatchFilters`. `RemoteItem` is one object as the service reports it, `Listing` one answer.

Parsing the command line's words (`--where status=ERROR,DONE`, `--since 2025-01-31`) lives here
too, so the CLI and the Python API read them the same way.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal, get_args

from runner.domain.vocabulary import STATUSES, Kind, Status
from runner.errors import UsageError

Listable = Literal["jobs", "batches", "sessions"]
LISTABLE: Final[tuple[Listable, ...]] = get_args(Listable)
PAGE: Final = 100  # the page size of every service runner lists (each one's maximum)
DEFAULT_LIMIT: Final = 50


@dataclass(frozen=True)
class Query:
    """What to list on one target, newest first.

    `statuses` are runner's words (failed, running...) or the service's own (ERROR, Failure(s)...);
    `tags` must all be carried; `name` is a prefix; `parent` the remote id of a session or batch
    whose jobs are listed; `limit` None means every match (`--all`).
    """

    what: Listable
    statuses: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    name: str | None = None
    parent: str | None = None
    ids: tuple[str, ...] = ()
    min_runs: int | None = None
    max_runs: int | None = None
    offset: int = 0
    limit: int | None = DEFAULT_LIMIT

    def __post_init__(self) -> None:
        if self.offset < 0:
            raise UsageError(f"--offset must be 0 or more (got {self.offset})")
        if self.limit is not None and self.limit < 1:
            raise UsageError(f"--limit must be 1 or more (got {self.limit})")
        if self.since and self.until and self.since > self.until:
            raise UsageError(f"--since {self.since.isoformat()} is after --until {self.until.isoformat()}")

    def filters(self) -> dict[str, Any]:
        """The filters given, for messages and --json (None and empty left out)."""
        shown = {
            "status": list(self.statuses),
            "tag": list(self.tags),
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "name": self.name,
            "in": self.parent,
            "id": list(self.ids),
            "min_runs": self.min_runs,
            "max_runs": self.max_runs,
        }
        return {k: v for k, v in shown.items() if v not in (None, [])}

    def wants(self, count: int) -> bool:
        """Whether `count` items are fewer than the window asks for."""
        return self.limit is None or count < self.limit


@dataclass(frozen=True)
class RemoteItem:
    """One object as the service reports it: its status in runner's words and its own."""

    kind: Kind
    remote_id: str
    status: Status
    raw_status: str
    target: str | None = None
    name: str | None = None
    created: str | None = None
    parent_id: str | None = None
    tags: tuple[str, ...] = ()
    detail: Mapping[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "remote_id": self.remote_id,
            "status": self.status,
            "raw_status": self.raw_status,
            "target": self.target,
            "name": self.name,
            "created": self.created,
            "parent_id": self.parent_id,
            "tags": list(self.tags),
            "detail": dict(self.detail),
        }


@dataclass(frozen=True)
class Listing:
    """One answer to a Query: the items in the window, and what the service said about the rest.

    `total` is the number of matches when the service says it (Pasqal does), `more` whether
    matches exist past the window, `local` the filters the service could not apply (runner
    applied them to what it was sent), `requests` the calls it took.
    """

    items: tuple[RemoteItem, ...]
    total: int | None = None
    more: bool = False
    local: tuple[str, ...] = ()
    requests: int = 0


@dataclass(frozen=True)
class Selection:
    """Jobs of one batch to cancel or rerun, as Pasqal's CancelJobFilters / RebatchFilters name them."""

    ids: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    min_runs: int | None = None
    max_runs: int | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None

    def empty(self) -> bool:
        return self == Selection()

    def as_filters(self) -> dict[str, Any]:
        """The filters in the API's names (id, status, min_runs, max_runs, start_date, end_date)."""
        found = {
            "id": list(self.ids) or None,
            "status": list(self.statuses) or None,
            "min_runs": self.min_runs,
            "max_runs": self.max_runs,
            "start_date": self.since,
            "end_date": self.until,
        }
        return {k: v for k, v in found.items() if v is not None}

    def text(self) -> str:
        """The selection as the user could have typed it."""
        parts = [f"id={','.join(self.ids)}"] if self.ids else []
        parts += [f"status={','.join(self.statuses)}"] if self.statuses else []
        parts += [f"min_runs={self.min_runs}"] if self.min_runs is not None else []
        parts += [f"max_runs={self.max_runs}"] if self.max_runs is not None else []
        parts += [f"since={self.since.isoformat()}"] if self.since else []
        parts += [f"until={self.until.isoformat()}"] if self.until else []
        return " ".join(parts) or "(everything)"


WHERE_KEYS: Final = ("id", "status", "min_runs", "max_runs", "since", "until")


def parse_where(clauses: Sequence[str], *, min_runs: int | None = None, max_runs: int | None = None) -> Selection:
    """`--where key=v1,v2` clauses (repeatable; keys: id, status, min_runs, max_runs, since, until)."""
    found: dict[str, str] = {}
    for clause in clauses:
        key, sep, value = clause.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not value.strip():
            raise UsageError(f"--where takes KEY=VALUE[,VALUE...] (got {clause!r}); keys: {', '.join(WHERE_KEYS)}")
        if key not in WHERE_KEYS:
            raise UsageError(f"--where: unknown key {key!r}; use one of {', '.join(WHERE_KEYS)}")
        if key in found:
            raise UsageError(f"--where gives {key} twice: list its values once, separated by commas")
        found[key] = value.strip()
    runs = {"min_runs": min_runs, "max_runs": max_runs}
    for key in runs:
        if key in found:
            if runs[key] is not None:
                raise UsageError(f"give {key} once: --where {key}=N or --{key.replace('_', '-')} N")
            runs[key] = _count(found[key], key)
    return Selection(
        ids=_values(found.get("id")),
        statuses=tuple(v.upper() for v in _values(found.get("status"))),
        min_runs=runs["min_runs"],
        max_runs=runs["max_runs"],
        since=parse_when(found["since"], "since") if "since" in found else None,
        until=parse_when(found["until"], "until", end=True) if "until" in found else None,
    )


def _values(text: str | None) -> tuple[str, ...]:
    return tuple(v.strip() for v in (text or "").split(",") if v.strip())


def _count(text: str, key: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise UsageError(f"--where {key} must be a whole number (got {text!r})") from None
    if value < 0:
        raise UsageError(f"--where {key} must be 0 or more (got {value})")
    return value


def parse_when(text: str, option: str, *, end: bool = False) -> dt.datetime:
    """A date (YYYY-MM-DD) or an ISO-8601 date-time, in UTC unless it says otherwise.

    A bare date used as an upper bound (`end`) means the end of that day.
    """
    try:
        moment = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"--{option} takes a date like 2025-01-31 or 2025-01-31T12:00:00Z (got {text!r})") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    if end and len(text.strip()) == 10:
        moment += dt.timedelta(days=1) - dt.timedelta(microseconds=1)
    return moment


def raw_for(words: Sequence[str], table: Mapping[str, Status]) -> tuple[str, ...]:
    """The service's raw statuses meant by `words`: runner's words (failed, running...) expand through
    `table`, the service's own match case-insensitively; a word that means nothing here is a UsageError
    naming the choices."""
    known = {raw.lower(): raw for raw in table}
    chosen: list[str] = []
    for word in words:
        if word.lower() in STATUSES:  # runner's word wins where a service spells one of its own the same way
            chosen += sorted(raw for raw, ours in table.items() if ours == word.lower())
        elif word.lower() in known:
            chosen.append(known[word.lower()])
        else:
            choices = ", ".join(sorted(set(table) | {s for s in table.values()}))
            raise UsageError(f"unknown status {word!r} here; use one of: {choices}")
    return tuple(dict.fromkeys(chosen))
