"""The HTTP server shared by the provider emulators: routing, bodies, fault injection, admin.

Emulators serve on 127.0.0.1 only. Each one is a set of routes over its own in-memory store.
Fault injection applies to API routes (never to /_admin): latency, 429/503 answered before the
request is processed, connections dropped either before or after processing (so a client
cannot know whether its create happened), and a job failure rate the emulators consult.

Bad input never costs more than a 4xx: bodies are bounded (see framing: 32 MiB, gzip included),
a body that is not JSON or not an object where one is needed is a 400 in the provider's error
format, fault settings are checked before any is applied, and a handler that fails anyway
answers 500 in that format; the handler thread and the server carry on.
"""

from __future__ import annotations

import json
import math
import random
import re
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from runner.emulators.framing import BadBody, read_body

HOST = "127.0.0.1"


@dataclass
class Request:
    """One parsed request."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: Mapping[str, str]
    body: bytes
    base_url: str
    match: re.Match[str] | None = None

    def json(self) -> Any:
        """The body as JSON (None when empty); ValueError, answered 400, when it is not JSON."""
        try:
            return json.loads(self.body or b"null")
        except ValueError as exc:  # UnicodeDecodeError included
            raise ValueError(f"the request body is not valid JSON: {exc}") from None
        except RecursionError:
            raise ValueError("the request body is not valid JSON: nested too deeply") from None

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else default

    def args(self, name: str) -> list[str]:
        return self.query.get(name, [])

    def group(self, name: str) -> str:
        assert self.match is not None
        return self.match.group(name)


@dataclass
class Response:
    """What a handler returns; a non-bytes body is sent as JSON."""

    status: int = 200
    body: Any = b""
    headers: dict[str, str] = field(default_factory=dict)

    def encoded(self) -> tuple[bytes, str]:
        if isinstance(self.body, bytes):
            return self.body, self.headers.get("Content-Type", "application/octet-stream")
        return json.dumps(self.body).encode(), "application/json"


Handler = Callable[[Request], Response]


@dataclass
class Faults:
    """What can go wrong on purpose. Every field is settable by flag and by POST /_admin/faults."""

    latency: float = 0.0  # seconds added to every API request
    error_rate: float = 0.0  # share of API requests answered 429 or 503, without processing them
    retry_after: float = 0.05  # Retry-After seconds sent with those
    drop_rate: float = 0.0  # share of API requests whose connection is dropped (half of them after processing)
    job_failure_rate: float = 0.0  # share of jobs that end in the provider's failure status
    queue_delay: float = 0.0  # seconds a job waits before it starts running
    run_time: float = 0.0  # seconds a job spends running before it completes

    def __post_init__(self) -> None:
        self.update(asdict(self))

    def update(self, values: Mapping[str, Any]) -> None:
        """Apply settings, all or none: ValueError naming the first that is unknown, not a number or out of range."""
        unknown = sorted(set(values) - set(FAULT_RANGES))
        if unknown:
            raise ValueError(f"unknown fault setting(s): {', '.join(map(str, unknown))}")
        checked = {key: _fault_value(key, value) for key, value in values.items()}
        for key, value in checked.items():
            setattr(self, key, value)


FAULT_RANGES = {  # setting -> (least, most); a latency of hours would only look like a dead server
    "latency": (0.0, 600.0),
    "error_rate": (0.0, 1.0),
    "retry_after": (0.0, 3600.0),
    "drop_rate": (0.0, 1.0),
    "job_failure_rate": (0.0, 1.0),
    "queue_delay": (0.0, 86400.0),
    "run_time": (0.0, 86400.0),
}


def _fault_value(key: str, value: Any) -> float:
    least, most = FAULT_RANGES[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"fault setting {key} must be a number, not {json.dumps(value)[:40]}")
    finite = isinstance(value, int) or math.isfinite(value)  # a huge int compares without overflowing
    if not (finite and least <= value <= most):
        raise ValueError(f"fault setting {key} must be between {least:g} and {most:g}, not {json.dumps(value)[:40]}")
    return float(value)


class Emulator:
    """Base of the three emulators."""

    name = "emulator"

    def __init__(self, faults: Faults | None = None, seed: int | None = None) -> None:
        self.faults = faults or Faults()
        self.rng = random.Random(seed)
        self.lock = threading.RLock()
        self.stats: Counter[str] = Counter()
        self.scheduler = Scheduler()

    def routes(self) -> list[tuple[str, str, Handler]]:
        raise NotImplementedError

    def error(self, status: int, message: str) -> Response:
        """An error in the provider's own body format."""
        return Response(status, {"message": message})

    def state(self) -> dict[str, Any]:
        """What /_admin/state shows: the emulator's store."""
        return {}

    def chance(self, rate: float) -> bool:
        with self.lock:
            return rate > 0 and self.rng.random() < rate

    def close(self) -> None:
        self.scheduler.stop()


class Scheduler:
    """Runs job steps later, in order of due time, on one background thread."""

    def __init__(self) -> None:
        self._items: list[tuple[float, int, Callable[[], None]]] = []
        self._cond = threading.Condition()
        self._count = 0
        self._stopped = False
        self._thread = threading.Thread(target=self._loop, name="emulator-jobs", daemon=True)
        self._thread.start()

    def later(self, delay: float, step: Callable[[], None]) -> None:
        import heapq

        with self._cond:
            self._count += 1
            heapq.heappush(self._items, (time.monotonic() + max(0.0, delay), self._count, step))
            self._cond.notify()

    def _loop(self) -> None:
        import heapq

        while True:
            with self._cond:
                while not self._stopped and (not self._items or self._items[0][0] > time.monotonic()):
                    timeout = self._items[0][0] - time.monotonic() if self._items else None
                    self._cond.wait(timeout)
                if self._stopped:
                    return
                _, _, step = heapq.heappop(self._items)
            try:
                step()
            except Exception:  # a failing step must not stop the emulator
                import traceback

                traceback.print_exc()

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # headers and body leave in two writes: with Nagle on, every answer waited ~40 ms for a delayed ACK
    disable_nagle_algorithm = True
    server: EmulatorServer

    def log_message(self, format: str, *args: Any) -> None:
        return  # quiet; stats are available at /_admin/stats

    def do_GET(self) -> None:
        self._handle()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_GET

    def _handle(self) -> None:
        try:
            body = read_body(self.headers, self.rfile, self.connection)
        except BadBody as exc:
            self.close_connection = exc.framing_lost  # unread bytes of the body would be taken for the next request
            self.server.emulator.stats[f"refused_{exc.status}"] += 1
            self._send(self.server.refusal(self.path, exc.status, exc.message))
            return
        except OSError:  # the client went away mid-body: nobody to answer
            self.close_connection = True
            return
        parts = urlsplit(self.path)
        request = Request(
            self.command,
            parts.path,
            parse_qs(parts.query, keep_blank_values=True),
            {k.lower(): v for k, v in self.headers.items()},
            body,
            self.server.url,
        )
        emulator = self.server.emulator
        if parts.path.startswith("/_admin/"):
            self._send(self.server.admin(request))
            return
        emulator.stats["requests"] += 1
        faults = emulator.faults
        if faults.latency:
            time.sleep(faults.latency)
        if emulator.chance(faults.error_rate):
            status = 429 if emulator.chance(0.5) else 503
            emulator.stats[f"injected_{status}"] += 1
            response = emulator.error(status, "injected fault: try again later")
            response.headers["Retry-After"] = f"{faults.retry_after:g}"
            self._send(response)
            return
        drop = emulator.chance(faults.drop_rate)
        after = drop and emulator.chance(0.5)
        if drop and not after:
            emulator.stats["dropped_before"] += 1
            self.close_connection = True
            return
        response = self._route(request)
        if after:
            emulator.stats["dropped_after"] += 1
            self.close_connection = True
            return
        self._send(response)

    def _route(self, request: Request) -> Response:
        emulator = self.server.emulator
        allowed = False
        for method, pattern, handler in self.server.table:
            match = pattern.fullmatch(request.path)
            if match is None:
                continue
            allowed = True
            if method == request.method:
                request.match = match
                emulator.stats[f"{method} {pattern.pattern}"] += 1
                try:
                    return handler(request)
                except (ValueError, KeyError, TypeError) as exc:
                    return emulator.error(400, f"bad request: {exc}")
                except Exception as exc:  # a bug in a handler: answer like a service would, keep serving
                    emulator.stats["internal_errors"] += 1
                    print(f"{emulator.name} emulator: {method} {request.path}: {exc!r}", file=sys.stderr)
                    return emulator.error(500, f"internal error: {type(exc).__name__}")
        if allowed:
            return emulator.error(405, f"{request.method} not allowed on {request.path}")
        return emulator.error(404, f"no route for {request.method} {request.path}")

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Malformed request lines and headers get a JSON error too (http.server would send HTML)."""
        self.close_connection = True
        self._send(self.server.refusal(getattr(self, "path", ""), code, message or HTTPStatus(code).phrase))

    def _send(self, response: Response) -> None:
        payload, content_type = response.encoded()
        self.send_response(response.status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for key, value in response.headers.items():
            if key.lower() not in ("content-type", "content-length", "connection"):
                self.send_header(key, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if getattr(self, "command", None) != "HEAD":
            self.wfile.write(payload)


class EmulatorServer(ThreadingHTTPServer):
    """An emulator served on 127.0.0.1; start() runs it in a background thread."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, emulator: Emulator, port: int = 0) -> None:
        super().__init__((HOST, port), _Handler)
        self.emulator = emulator
        self.table = [(m, re.compile(p), h) for m, p, h in emulator.routes()]
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> EmulatorServer:
        self._thread = threading.Thread(target=self.serve_forever, name=f"{self.emulator.name}-http", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        self.emulator.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up before its answer was written (a timed-out wait, a killed apply) is no error."""
        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            return
        super().handle_error(request, client_address)

    def refusal(self, path: str, status: int, message: str) -> Response:
        """An error before routing: the admin format on /_admin, the provider's own elsewhere."""
        if path.startswith("/_admin/"):
            return Response(status, {"error": message})
        return self.emulator.error(status, message)

    def admin(self, request: Request) -> Response:
        emulator = self.emulator
        if request.path == "/_admin/faults":
            if request.method == "POST":
                try:
                    settings = request.json()
                    if not isinstance(settings, dict):
                        raise ValueError("POST /_admin/faults takes a JSON object of fault settings")
                    with emulator.lock:
                        emulator.faults.update(settings)
                except ValueError as exc:
                    return Response(400, {"error": str(exc)})
            return Response(200, asdict(emulator.faults))
        if request.path == "/_admin/stats":
            return Response(200, dict(emulator.stats))
        if request.path == "/_admin/state":
            with emulator.lock:
                return Response(200, emulator.state())
        return Response(404, {"error": f"no admin route {request.path}"})
