"""The real Azure Quantum service's recorded traffic (tests/fixtures/recordings/azure) as test fixtures.

`load(name)` gives the exchanges with the workspace and its blob storage, in recorded order (the
Entra ID and telemetry calls are left out). `Replay` answers a client with those recorded
responses: it is an httpx MockTransport handler, so the client under test runs unchanged.

How the replay matches a request to a recording: the client chooses its own job and session ids,
so the n-th PUT of a session (or job) gets the n-th recorded PUT answer, whose body carries the
recorded id; from then on the client uses that id, and each later call on it gets the next
recorded answer for that call (the last one repeats: polling more often than the SDK did sees the
same state again). List calls are matched by their `skip`. Two answers are not in the recordings
and say so in their body: a GET of an item the service never showed (a job it refused) answers
404, and a blob PUT into a container nobody created answers the recorded ContainerNotFound.
Anything else the recording cannot answer fails the test.
"""

from __future__ import annotations

import ast
import json
import re
from collections import defaultdict, deque
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import yaml

RECORDINGS = Path(__file__).resolve().parent / "fixtures" / "recordings" / "azure"
SUB_ID = "00000000-0000-0000-0000-000000000000"
WORKSPACE = {
    "subscription_id": SUB_ID,
    "resource_group": "myresourcegroup",
    "name": "myworkspace",
    "location": "eastus",
}
ENDPOINT = "https://eastus.quantum.azure.com"
STORAGE_HOST = "mystorage.blob.core.windows.net"
_WORKSPACE_PATH = re.compile(
    r"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.Quantum/workspaces/[^/]+"
)
_ID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


@dataclass(frozen=True)
class Exchange:
    """One recorded request and the service's answer."""

    method: str
    url: str
    request_body: bytes
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def route(self) -> str:
        """`METHOD /path` with ids as {id}: what kind of call this is."""
        return route(self.method, self.url)[0]

    @property
    def target_id(self) -> str | None:
        """The job, session or container the call is about."""
        return route(self.method, self.url)[1]

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    def request_json(self) -> Any:
        return json.loads(self.request_body) if self.request_body else None


def route(method: str, url: str) -> tuple[str, str | None]:
    """(`METHOD /path` with ids as {id}, the id) for a workspace call; storage calls are `METHOD container|blob`."""
    parts = urlsplit(url)
    if parts.hostname == STORAGE_HOST or parts.path.startswith("/emulatorstore/"):
        segments = [s for s in parts.path.split("/") if s and s != "emulatorstore"]
        kind = "container" if "restype=container" in parts.query else "blob"
        return f"{method} {kind}", "/".join(segments)
    path = _WORKSPACE_PATH.sub("", parts.path)
    found = _ID.search(path)
    return f"{method} {_ID.sub('{id}', path)}", found.group(0) if found else None


@cache
def load(name: str) -> tuple[Exchange, ...]:
    """The workspace and storage exchanges of one recording, in order (read once per test run)."""
    loader = yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader
    document = yaml.load((RECORDINGS / f"{name}.yaml").read_text(), Loader=loader)
    out = []
    for interaction in document["interactions"]:
        request, response = interaction["request"], interaction["response"]
        host = urlsplit(request["uri"]).hostname or ""
        if not (host.endswith(".quantum.azure.com") or host == STORAGE_HOST):
            continue  # Entra ID, telemetry
        headers = {k.lower(): v[0] for k, v in (response.get("headers") or {}).items()}
        out.append(
            Exchange(
                request["method"],
                request["uri"],
                _bytes(request.get("body")),
                int(response["status"]["code"]),
                headers,
                _bytes((response.get("body") or {}).get("string")),
            )
        )
    return tuple(out)


def _bytes(value: Any) -> bytes:
    """A recorded body: None, text, or (request bodies) the text of a Python bytes literal."""
    if value is None:
        return b""
    if isinstance(value, bytes):
        return value
    text = str(value)
    if text.startswith(("b'", 'b"')):
        literal = ast.literal_eval(text)
        return literal if isinstance(literal, bytes) else str(literal).encode()
    return text.encode()


@dataclass
class Replay:
    """An httpx MockTransport handler that answers with one recording's responses."""

    exchanges: tuple[Exchange, ...]
    seen: list[httpx.Request] = field(default_factory=list)
    created: set[str] = field(default_factory=set)  # containers the client created
    _answers: dict[tuple[str, str | None], deque[Exchange]] = field(default_factory=lambda: defaultdict(deque))
    _puts: dict[str, deque[Exchange]] = field(default_factory=lambda: defaultdict(deque))
    _mine: dict[str, str] = field(default_factory=dict)  # the client's id -> the recorded id

    def __post_init__(self) -> None:
        for exchange in self.exchanges:
            kind, target = exchange.route, exchange.target_id
            if kind in ("PUT /jobs/{id}", "PUT /sessions/{id}"):
                self._puts[kind].append(exchange)
            elif kind in ("GET /jobs", "GET /sessions"):
                self._answers[(kind, _skip(exchange.url))].append(exchange)
            elif kind == "POST /storage/sasUri":
                self._answers[(kind, None)].append(exchange)
            else:
                self._answers[(kind, target)].append(exchange)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        kind, target = route(request.method, str(request.url))
        if kind in ("PUT /jobs/{id}", "PUT /sessions/{id}"):
            assert self._puts[kind], f"the recording has no more answers for {kind}"
            answer = self._puts[kind].popleft()
            assert target is not None and answer.target_id is not None
            self._mine[target] = answer.target_id
            return _response(answer)
        if kind == "PUT container" and target is not None:
            self.created.add(target)
        if kind == "PUT blob" and target is not None and target.split("/")[0] not in self.created:
            return _response(self._missing_container(target.split("/")[0]))
        key = (kind, _skip(str(request.url))) if kind in ("GET /jobs", "GET /sessions") else (kind, target)
        if kind == "POST /storage/sasUri":
            key = (kind, None)
        if target in self._mine and (kind, target) not in self._answers:
            key = (kind, self._mine[target])
        queue = self._answers.get(key)
        if not queue:
            if kind in ("GET /jobs/{id}", "GET /sessions/{id}"):
                body = {"error": {"code": "NotFound", "message": "not in the recording: the service never showed it"}}
                return httpx.Response(404, json=body)
            raise AssertionError(f"the recording cannot answer {request.method} {request.url}")
        answer = queue.popleft() if len(queue) > 1 else queue[0]
        return _response(answer)

    def _missing_container(self, container: str) -> Exchange:
        for exchange in self.exchanges:
            if exchange.route == "GET container" and exchange.status == 404:
                return exchange  # Azure Storage's answer for a container that does not exist (recorded)
        raise AssertionError(f"blob upload into container {container}, which the client never created")

    def requests(self, kind: str) -> list[httpx.Request]:
        """The client's requests of one kind (`METHOD /path` with {id}, or `METHOD container|blob`)."""
        return [r for r in self.seen if route(r.method, str(r.url))[0] == kind]


def _skip(url: str) -> str | None:
    values = parse_qs(urlsplit(url).query).get("skip")
    return values[-1] if values else None


def _response(exchange: Exchange) -> httpx.Response:
    framing = ("content-length", "transfer-encoding", "content-encoding")  # the recorder kept the body decoded
    headers = {k: v for k, v in exchange.headers.items() if k not in framing}
    return httpx.Response(exchange.status, headers=headers, content=exchange.body)
