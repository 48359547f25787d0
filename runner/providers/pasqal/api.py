"""Pasqal Cloud's REST conventions: JSend envelopes, query encoding, pagination, error text.

Every core response is `{"status", "message", "code", "data", "pagination"?}` where `code` may be
an int or a string; only `data` and `pagination` matter. Filters go in the query string as the
official SDK sends them: lists as repeated keys, booleans as `True`/`False`, datetimes in ISO 8601.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from runner.errors import AuthError, RejectedError
from runner.providers.pasqal.auth import TokenRefused, TokenSource

if TYPE_CHECKING:
    import httpx

    from runner.providers.http import HttpClient

PAGE_LIMIT = 100  # the API's maximum page size
Query = list[tuple[str, str]]


@dataclass(frozen=True)
class Page:
    """One page of a list call: the raw API objects plus where it sits in the whole list."""

    total: int
    offset: int
    items: tuple[Mapping[str, Any], ...]


def query(filters: Mapping[str, Any]) -> Query:
    """Query pairs for filters; None values are left out."""
    pairs: Query = []
    for key, value in filters.items():
        values = value if isinstance(value, (list, tuple, set, frozenset)) else [value]
        pairs.extend((key, _text(v)) for v in values if v is not None)
    return pairs


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "True" if value else "False"  # what Python's str() gives, hence what the API expects
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def describe(response: httpx.Response) -> str:
    """The useful sentence in an error body: JSend `data.description`, an OAuth error, or the message."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:200] or response.reason_phrase
    if not isinstance(body, dict):
        return json.dumps(body)[:200]
    if "error_description" in body or "error" in body:
        return str(body.get("error_description") or body.get("error"))
    data = body.get("data")
    description = data.get("description") if isinstance(data, dict) else None
    return _flatten(description) or str(body.get("message") or response.reason_phrase)


def _flatten(description: Any) -> str:
    if isinstance(description, str):
        return description
    if isinstance(description, list):  # validation errors: [{"loc": [...], "msg": ...}]
        parts = []
        for item in description:
            if isinstance(item, dict):
                loc = ".".join(str(p) for p in item.get("loc", ()))
                parts.append(f"{loc}: {item.get('msg')}" if loc else str(item.get("msg")))
            else:
                parts.append(str(item))
        return "; ".join(parts)
    return ""


def unwrap(response: httpx.Response, what: str) -> Any:
    """The `data` of a JSend envelope."""
    try:
        body = response.json()
    except ValueError:
        raise RejectedError(f"{what}: the answer is not JSON") from None
    if not isinstance(body, dict) or "data" not in body:
        raise RejectedError(f"{what}: the answer has no JSend 'data'")
    return body["data"]


def split_link(link: str) -> tuple[str, Query]:
    """A pre-signed link as (address, query pairs), so its signature never appears in messages."""
    parts = urlsplit(link)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")), parse_qsl(parts.query, keep_blank_values=True)


class PasqalApi:
    """Authenticated calls to one Pasqal Cloud core API."""

    def __init__(self, http: HttpClient, tokens: TokenSource) -> None:
        self.http = http
        self.tokens = tokens

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens.token()}"}

    def call(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: Query | None = None,
        gzip_body: bool = False,
        safe: bool | None = None,
    ) -> Any:
        """One call's `data`."""
        response = self.send(method, path, body=body, params=params, gzip_body=gzip_body, safe=safe)
        return unwrap(response, f"{self.http.provider}: {method} {path}")

    def send(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: Query | None = None,
        gzip_body: bool = False,
        safe: bool | None = None,
    ) -> httpx.Response:
        """One authenticated request; a 401 refreshes a fetched token once, then says what to check."""
        for attempt in (1, 2):
            try:
                return self.http.request(method, path, json_body=body, params=params, gzip_body=gzip_body, safe=safe)
            except TokenRefused:
                raise
            except AuthError as exc:
                self.tokens.invalidate()
                if attempt == 2 or not self.tokens.refreshable:
                    raise AuthError(f"{exc.message} ({self.tokens.hint})") from None
        raise AssertionError("unreachable")

    def page(self, path: str, filters: Mapping[str, Any], offset: int = 0, limit: int = PAGE_LIMIT) -> Page:
        """One page of a list endpoint."""
        response = self.send("GET", path, params=[*query(filters), ("offset", str(offset)), ("limit", str(limit))])
        items = unwrap(response, f"{self.http.provider}: GET {path}")
        pagination = response.json().get("pagination") or {}
        total = pagination.get("total")
        return Page(int(total) if total is not None else offset + len(items), offset, tuple(items))

    def every(self, path: str, filters: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
        """Every item of a list endpoint, page after page (about ceil(total / 100) requests)."""
        offset = 0
        while True:
            page = self.page(path, filters, offset)
            yield from page.items
            offset += len(page.items)
            if not page.items or offset >= page.total:
                return

    def download(self, link: str) -> Any:
        """A results document behind a pre-signed link: no Authorization header, no envelope."""
        address, params = split_link(link)
        return self.http.request("GET", address, params=params, auth=False).json()

    def jobs_in(self, batch: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        """The jobs of a Batch+jobs answer, or fetched when the answer only lists their ids."""
        if batch.get("jobs") is not None or not batch.get("job_ids"):
            return list(batch.get("jobs") or [])
        return self.batch_jobs(str(batch["id"]))

    def batch_jobs(self, batch_id: str) -> list[Mapping[str, Any]]:
        """A batch's jobs in creation order, as the SDK asks for them."""
        order = {"batch_id": batch_id, "order_by": "creation_order", "order_by_direction": "ASC"}
        return list(self.every("/api/v2/jobs", order))
