"""Calls to one Azure Quantum workspace: the data plane (api-version on every call, paging) and its
linked blob storage (SAS URLs, which are credentials, so they are kept out of every message).

A job's input goes the way every recorded submission sent it (../shared/providers/recordings/azure):
POST storage/sasUri for the job's container (the service does not create it), create the container
(PUT ?restype=container: 201, or 409 when it exists, so a repeat is harmless), PUT the blob.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

from runner.errors import AuthError, NotFoundError, ProviderError, TransientError
from runner.providers.azure.auth import Connection, TokenRefusedError
from runner.providers.azure.wire import API_VERSION, answer, describe
from runner.providers.http import HttpClient

PAGE_SIZE = 100  # what the SDK asks for; the service's maximum page size is not documented
STORAGE_VERSION = "2024-05-04"  # the x-ms-version the recorded submissions sent to blob storage
_PATH_STYLE_HOST = re.compile(r"^(\d+\.\d+\.\d+\.\d+|localhost)(:\d+)?$")
Item = Mapping[str, Any]


class WorkspaceApi:
    """The requests runner makes to a workspace, with Azure's errors turned into runner's."""

    def __init__(
        self, target_name: str, conn: Connection, *, transport: Any = None, rate_limit: float | None = None
    ) -> None:
        self.where, self.conn = f"targets.{target_name}", conn
        self.prefix = conn.workspace.prefix
        self.http = HttpClient(
            conn.base_url,
            provider="azure",
            headers=conn.headers,
            describe=describe,
            transport=transport,
            rate_limit=rate_limit,
        )

    def call(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: Mapping[str, Any] | None = None,
        safe: bool | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        """A data-plane call (path below the workspace, or an absolute nextLink); the JSON body or None."""
        url, query = _split(path if path.startswith(("http://", "https://")) else f"{self.prefix}{path}")
        # httpx replaces a URL's query with `params`, so a nextLink's own query (skip, filter...) is carried over
        query = [*query, *(params or {}).items(), ("api-version", API_VERSION)]
        try:
            response = self.http.request(method, url, json_body=body, params=query, safe=safe, headers=headers)
        except TokenRefusedError:
            raise
        except AuthError as exc:
            raise AuthError(
                f"{self.where}: Azure Quantum refused the credentials from {self.conn.source} ({answer(exc.message)})"
            ) from None
        return response.json() if response.content else None

    def get(self, path: str) -> Item | None:
        """One item, or None if the workspace does not know it."""
        try:
            found: Item = self.call("GET", path)
        except NotFoundError:
            return None
        return found

    def pages(self, path: str, params: Mapping[str, Any]) -> Iterator[list[Item]]:
        """Each page of a list call, following nextLink (which carries its own query)."""
        from runner.providers.azure.models import Page, parse

        url: str | None = path
        query: Mapping[str, Any] = {**params, "skip": 0, "top": PAGE_SIZE}
        while url:
            page = parse(Page, self.call("GET", url, params=query), "list page")
            yield list(page.value)
            url, query = page.nextLink, {}

    def scan(self, path: str, params: Mapping[str, Any], ids: set[str]) -> dict[str, Item]:
        """Page through a listing until every id in `ids` is found (or the listing ends)."""
        found: dict[str, Item] = {}
        try:
            for page in self.pages(path, params):
                found.update({str(item["id"]): item for item in page if item.get("id") in ids})
                if len(found) == len(ids):
                    break
        except NotFoundError:
            pass  # a session that is gone: its jobs are looked for in the workspace listing
        return found

    def sas(self, blob: Mapping[str, str]) -> str:
        """A SAS URL for a container (or one blob) in the workspace's linked storage; asking twice is harmless."""
        from runner.providers.azure.models import SasUri, parse

        return parse(SasUri, self.call("POST", "/storage/sasUri", body=blob, safe=True), "SAS answer").sasUri

    def create_container(self, container: str) -> None:
        """Create the container a SAS URL names; one that exists already (409) is what we wanted."""
        parts = urlsplit(container)
        query = f"restype=container&{parts.query}" if parts.query else "restype=container"
        self.blob(
            "PUT", urlunsplit(parts._replace(query=query)), headers={"x-ms-version": STORAGE_VERSION}, accept=(409,)
        )

    def upload(self, container: str, name: str, data: bytes, content_type: str) -> str:
        """PUT a block blob into a container (no If-None-Match: a retry writes the same bytes); its URL without SAS."""
        parts = urlsplit(container)
        path = f"{parts.path.rstrip('/')}/{name}"
        headers = {
            "x-ms-blob-type": "BlockBlob",
            "x-ms-blob-content-type": content_type,
            "Content-Type": content_type,
            "x-ms-version": STORAGE_VERSION,
        }
        self.blob("PUT", urlunsplit((parts.scheme, parts.netloc, path, parts.query, "")), content=data, headers=headers)
        return urlunsplit((parts.scheme, parts.netloc, path, "", ""))

    def download(self, uri: str) -> bytes:
        """A blob's bytes; asks the workspace to sign the URL when it carries no SAS expiry."""
        return self.blob("GET", uri if "se" in parse_qs(urlsplit(uri).query) else self._signed(uri))

    def _signed(self, uri: str) -> str:
        parts = urlsplit(uri)
        segments = parts.path.strip("/").split("/")
        if _PATH_STYLE_HOST.match(parts.netloc):
            segments = segments[1:]  # path-style URL (emulated storage): the account comes first
        return self.sas({"containerName": segments[0], "blobName": "/".join(segments[1:]) or "rawOutputData"})

    def blob(self, method: str, url: str, **kwargs: Any) -> bytes:
        """A storage call: no workspace credentials, and the SAS kept out of messages."""
        try:
            return self.http.request(method, url, auth=False, safe=True, **kwargs).content
        except TransientError as exc:
            raise TransientError(
                _unsigned(exc.message, url), exc.retry_after, unsent=exc.unsent, refused=exc.refused
            ) from None
        except ProviderError as exc:
            raise type(exc)(_unsigned(exc.message, url)) from None

    def close(self) -> None:
        self.http.close()
        if self.conn.tokens is not None:
            self.conn.tokens.close()


def _unsigned(message: str, url: str) -> str:
    return message.replace(url, url.split("?", 1)[0])


def _split(url: str) -> tuple[str, list[tuple[str, str]]]:
    """A URL without its query, and the query's pairs except api-version (which the caller sets)."""
    from urllib.parse import parse_qsl, urlsplit, urlunsplit

    parts = urlsplit(url)
    pairs = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "api-version"]
    return urlunsplit(parts._replace(query="")), pairs
