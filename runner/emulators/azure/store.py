"""The emulated workspace's memory: jobs, sessions, blobs, and the list-query subset clients send.

Listing understands what SDK 3.13 and runner's client send: `filter` clauses joined by ` and `,
each an `or` of `Field eq 'value'` atoms, `startswith(Name, '...')` or `CreationTime ge|le date`;
`orderby` `<Field> asc|desc`; `skip`/`top` paging with an absolute `nextLink`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

MAX_PAGE = 100
JOB_TERMINAL = {"Succeeded", "Completed", "Failed", "Cancelled"}
# Failure(s) is not terminal: a Continue session reports it while still open and taking jobs (recordings)
SESSION_TERMINAL = {"Succeeded", "Failed", "TimedOut"}
FIELDS = {
    "Name": "name",
    "ItemType": "itemType",
    "JobType": "jobType",
    "ProviderId": "providerId",
    "Target": "target",
    "State": "status",
    "Status": "status",
    "SessionId": "sessionId",
    "CreationTime": "creationTime",
}
_STARTSWITH = re.compile(r"^startswith\(\s*(\w+)\s*,\s*'([^']*)'\s*\)$")
_EQ = re.compile(r"^(\w+)\s+eq\s+'([^']*)'$")
_TIME = re.compile(r"^CreationTime\s+(ge|le|gt|lt)\s+(\S+)$")
Predicate = Callable[[Mapping[str, Any]], bool]


def now() -> str:
    """A timestamp as the service writes them."""
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Item:
    """A job or session: its public details plus what only the emulator knows."""

    details: dict[str, Any]
    workspace: str
    seq: int
    closed: bool = False  # sessions: no more jobs accepted
    jobs: list[str] = field(default_factory=list)  # sessions: ids of their jobs, in order
    history: list[str] = field(default_factory=list)  # every status it has had, for /_admin/state and tests

    @property
    def status(self) -> str:
        return str(self.details.get("status"))

    def move(self, status: str, **fields: Any) -> None:
        """A new status (and the fields that change with it), kept in the history."""
        self.details.update(status=status, **fields)
        if not self.history or self.history[-1] != status:
            self.history.append(status)


@dataclass
class Blob:
    data: bytes
    content_type: str
    etag: str
    modified: str


class Store:
    """Everything the emulator holds; callers hold the emulator's lock."""

    def __init__(self) -> None:
        self.jobs: dict[str, Item] = {}
        self.sessions: dict[str, Item] = {}
        self.blobs: dict[tuple[str, str], Blob] = {}
        self.containers: set[str] = set()
        self.tokens: dict[str, float] = {}  # bearer token -> expiry (monotonic seconds)
        self._seq = 0

    def add(self, table: dict[str, Item], item_id: str, details: dict[str, Any], workspace: str) -> Item:
        self._seq += 1
        item = Item(details, workspace, self._seq, history=[str(details.get("status"))])
        table[item_id] = item
        return item

    def snapshot(self) -> dict[str, Any]:
        """What /_admin/state shows."""
        return {
            "jobs": [{**i.details, "history": i.history} for i in sorted(self.jobs.values(), key=lambda i: i.seq)],
            "sessions": [
                {**i.details, "closed": i.closed, "history": i.history}
                for i in sorted(self.sessions.values(), key=lambda i: i.seq)
            ],
            "containers": sorted(self.containers),
            "blobs": sorted(f"{c}/{b} ({len(blob.data)} bytes)" for (c, b), blob in self.blobs.items()),
        }


def parse_filter(text: str | None) -> Predicate:
    """A predicate for the filter subset; ValueError for anything else (the server answers 400)."""
    clauses = [_clause(c) for c in _split(text or "", " and ")]
    return lambda item: all(c(item) for c in clauses)


def _split(text: str, word: str) -> list[str]:
    """Split on `word` outside parentheses and quotes."""
    parts, depth, quoted, start, i = [], 0, False, 0, 0
    while i < len(text):
        ch = text[i]
        if ch == "'":
            quoted = not quoted
        elif not quoted and ch in "()":
            depth += 1 if ch == "(" else -1
        elif not quoted and depth == 0 and text.startswith(word, i):
            parts.append(text[start:i])
            start = i = i + len(word)
            continue
        i += 1
    parts.append(text[start:])
    return [p.strip() for p in parts if p.strip()]


def _clause(text: str) -> Predicate:
    while text.startswith("(") and text.endswith(")") and _balanced(text[1:-1]):
        text = text[1:-1].strip()
    atoms = [_atom(a) for a in _split(text, " or ")]
    return lambda item: any(a(item) for a in atoms)


def _balanced(text: str) -> bool:
    depth = 0
    for ch in text:
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth < 0:
            return False
    return depth == 0


def _atom(text: str) -> Predicate:
    if m := _STARTSWITH.match(text):
        key, prefix = _field(m.group(1)), m.group(2)
        return lambda item: str(item.get(key) or "").startswith(prefix)
    if m := _TIME.match(text):
        op, bound = m.group(1), _when(m.group(2), m.group(1))
        return lambda item: _compare(_when(str(item.get("creationTime")), "ge"), op, bound)
    if m := _EQ.match(text):
        key, value = _field(m.group(1)), m.group(2)
        return lambda item: str(item.get(key)) == value
    raise ValueError(f"unsupported filter expression: {text}")


def _field(name: str) -> str:
    if name not in FIELDS:
        raise ValueError(f"unknown filter field: {name}")
    return FIELDS[name]


def _when(text: str, op: str) -> dt.datetime:
    """A date or date-time; a bare date used as an upper bound means the end of that day."""
    moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    if len(text) == 10 and op in ("le", "lt"):
        moment += dt.timedelta(days=1) if op == "le" else dt.timedelta(0)
    return moment


def _compare(left: dt.datetime, op: str, right: dt.datetime) -> bool:
    return {"ge": left >= right, "le": left <= right, "gt": left > right, "lt": left < right}[op]


def order(items: Sequence[Item], orderby: str | None) -> list[Item]:
    """Sort by `<Field> [asc|desc]`; creation order otherwise (and to break ties)."""
    ranked = sorted(items, key=lambda i: i.seq)
    if not orderby:
        return ranked
    name, _, direction = orderby.strip().partition(" ")
    key = _field(name)
    if direction.strip().lower() not in ("", "asc", "desc"):
        raise ValueError(f"unsupported orderby direction: {direction}")
    reverse = direction.strip().lower() == "desc"
    if key == "creationTime":
        return list(reversed(ranked)) if reverse else ranked
    return sorted(ranked, key=lambda i: str(i.details.get(key) or ""), reverse=reverse)


def page(items: Sequence[Item], query: Mapping[str, str | None], url: str) -> dict[str, Any]:
    """One page of `{"value", "nextLink"}`; nextLink repeats the query with the next skip."""
    keep = parse_filter(query.get("filter"))  # once per request, not once per job
    chosen = order([i for i in items if keep(i.details)], query.get("orderby"))
    skip = max(0, int(query.get("skip") or 0))
    top = min(MAX_PAGE, max(1, int(query.get("top") or MAX_PAGE)))
    following = {k: v for k, v in query.items() if v is not None and k not in ("skip", "top")}
    link = f"{url}?{urlencode({**following, 'skip': skip + top, 'top': top})}" if skip + top < len(chosen) else None
    return {"value": [i.details for i in chosen[skip : skip + top]], "nextLink": link}
