"""The HTTP boundary shared by the REST providers.

One sync httpx.Client per provider instance, shared by apply's worker threads (measured here:
~1,100 req/s with 32 threads on loopback, against ~150 req/s for AsyncClient). Foreign
exceptions become ours at this boundary: TransientError (timeouts, dropped connections, 429,
5xx, with Retry-After), AuthError (401/403), NotFoundError (404), RejectedError (other 4xx).
Reads are retried; calls that create something are retried only when the caller says the
request is safe to repeat, or when the request provably never reached the server.
"""

from __future__ import annotations

import contextvars
import email.utils
import gzip
import json
import random
import threading
import time
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from runner.errors import AuthError, NotFoundError, RejectedError, TransientError

if TYPE_CHECKING:
    import httpx

DescribeError = Callable[["httpx.Response"], str]
UNREACHABLE_ATTEMPTS = 3  # a refused connection is tried this often, quickly, then reported as not reachable
_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar("runner_http_deadline", default=None)


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Every request made in this context (on this thread, or in a copied context) ends by then.

    A command's --timeout is a deadline for the whole command: each request's own timeout and the
    retries' back-off are cut to what is left, and nothing starts once it has passed.
    """
    token = _DEADLINE.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def remaining() -> float | None:
    """Seconds left before the current deadline (None: no deadline)."""
    until = _DEADLINE.get()
    return None if until is None else until - time.monotonic()


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded in attempts and in time; exponential back-off with full jitter."""

    attempts: int = 8  # at a 25% fault rate, eight failures in a row come once in ~65,000 calls
    budget_s: float = 60.0
    base_s: float = 0.2
    cap_s: float = 10.0

    def delay(self, attempt: int, retry_after: float | None, rng: random.Random) -> float:
        backoff = rng.uniform(0, min(self.cap_s, self.base_s * 2**attempt))
        return max(backoff, retry_after or 0.0)


class RateLimiter:
    """A token bucket shared by all threads using one client."""

    def __init__(self, per_second: float | None, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = per_second
        self.clock = clock
        self.tokens = float(per_second or 0)
        self.stamp = clock()
        self.lock = threading.Lock()

    def wait(self) -> None:
        if not self.rate:
            return
        while True:
            with self.lock:
                now = self.clock()
                self.tokens = min(self.rate, self.tokens + (now - self.stamp) * self.rate)
                self.stamp = now
                if self.tokens >= 1 - 1e-9:  # float refills can land a hair below 1: never spin on that
                    self.tokens = max(0.0, self.tokens - 1)
                    return
                pause = (1 - self.tokens) / self.rate
            time.sleep(pause)


def retry_after(response: httpx.Response) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP-date)."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value)
        return max(0.0, parsed.timestamp() - time.time()) if parsed else None


def _default_describe(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200] or response.reason_phrase
    if isinstance(body, dict):
        for key in ("message", "detail", "error", "description"):
            value = body.get(key)
            if isinstance(value, str):
                return value
            if isinstance(value, dict) and isinstance(value.get("message"), str):
                return str(value["message"])
    return json.dumps(body)[:200]


class HttpClient:
    """Requests with error mapping, retries, rate limiting and no secret in any message."""

    def __init__(
        self,
        base_url: str,
        *,
        provider: str,
        headers: Callable[[], Mapping[str, str]] | None = None,
        timeout: float = 30.0,
        rate_limit: float | None = None,
        retry: RetryPolicy | None = None,
        describe: DescribeError | None = None,
        transport: httpx.BaseTransport | None = None,
        max_connections: int = 64,
        seed: int | None = None,
    ) -> None:
        import httpx

        self.provider = provider
        self.base_url = base_url.rstrip("/")
        self.headers = headers or (lambda: {})
        self.retry = retry or RetryPolicy()
        self.limiter = RateLimiter(rate_limit)
        self.describe = describe or _default_describe
        self.rng = random.Random(seed)
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
        self.client = httpx.Client(
            timeout=timeout,
            limits=limits,
            transport=transport,
            headers={"User-Agent": "runner"},
            follow_redirects=False,
        )
        self.calls = 0  # requests sent, for tests and benchmarks

    def close(self) -> None:
        self.client.close()

    def url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else f"{self.base_url}{path}"

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        params: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        gzip_body: bool = False,
        safe: bool | None = None,
        auth: bool = True,
        accept: Collection[int] = (),
    ) -> httpx.Response:
        """Send with retries; `safe` says a repeat cannot create twice (default: GET/PUT/DELETE/HEAD).

        `accept` names error statuses that are an answer here, not an error (409 "already exists"
        for an idempotent create).
        """
        repeatable = method in ("GET", "PUT", "DELETE", "HEAD") if safe is None else safe
        body, extra = self._body(json_body, content, gzip_body)
        started, attempt, reached = time.monotonic(), 0, False
        while True:
            left = remaining()
            if left is not None and left <= 0:
                raise self._final(f"{self.provider}: {method} {path}: the deadline passed", reached, deadline=True)
            try:
                return self._once(method, path, params, body, {**extra, **(headers or {})}, auth, left, accept)
            except TransientError as exc:
                attempt += 1
                reached = reached or exc.acted_on_maybe  # one attempt that may have got through taints them all
                allowed = repeatable or not reached
                elapsed = time.monotonic() - started
                pause = self.retry.delay(attempt, exc.retry_after, self.rng)
                if exc.unreachable:
                    pause = min(pause, 0.5)
                    if attempt >= UNREACHABLE_ATTEMPTS:
                        raise self._final(
                            f"{self.provider}: {self.base_url} is not reachable ({exc.message.split('(')[-1]}",
                            reached,
                            unreachable=True,
                        ) from None
                left = remaining()
                if left is not None and pause >= left:
                    raise self._final(
                        f"{exc.message}; the deadline leaves no time to retry", reached, deadline=True
                    ) from None
                if not allowed or attempt >= self.retry.attempts or elapsed + pause > self.retry.budget_s:
                    raise self._final(exc.message, reached, retry_after=exc.retry_after) from None
                time.sleep(pause)

    @staticmethod
    def _final(message: str, reached: bool, **flags: Any) -> TransientError:
        """The error a request ends with, honest about whether any attempt may have reached the service.

        Not reached: every attempt either never left (no connection) or was refused by the service
        (429), so nothing was carried out and even a create may be sent again.
        """
        flags.pop("refused", None)
        if not reached:
            flags["unsent"] = True
        return TransientError(message + ("" if reached else "; nothing was carried out"), **flags)

    def _body(self, json_body: Any, content: bytes | None, gzip_body: bool) -> tuple[bytes | None, dict[str, str]]:
        headers: dict[str, str] = {}
        if json_body is not None:
            content = json.dumps(json_body).encode()
            headers["Content-Type"] = "application/json"
        if content is not None and gzip_body:
            content = gzip.compress(content)
            headers["Content-Encoding"] = "gzip"
        return content, headers

    def _once(
        self,
        method: str,
        path: str,
        params: Any,
        body: bytes | None,
        headers: Mapping[str, str],
        auth: bool,
        left: float | None = None,
        accept: Collection[int] = (),
    ) -> httpx.Response:
        import httpx

        self.limiter.wait()
        all_headers = {**(self.headers() if auth else {}), **headers}
        self.calls += 1
        timeout: Any = httpx.USE_CLIENT_DEFAULT
        if left is not None:
            timeout = httpx.Timeout(min(left, self.client.timeout.read or left))
        try:
            response = self.client.request(
                method, self.url(path), params=params, content=body, headers=all_headers, timeout=timeout
            )
        except httpx.ConnectError as exc:
            raise TransientError(
                f"{self.provider}: cannot connect to {self.base_url} ({_reason(exc)})", unsent=True, unreachable=True
            ) from None
        except httpx.TimeoutException as exc:
            unsent = isinstance(exc, (httpx.ConnectTimeout, httpx.PoolTimeout))
            raise _transient(f"{self.provider}: {method} {path} timed out", unsent=unsent) from None
        except httpx.TransportError as exc:  # dropped connection, protocol error: maybe processed
            raise _transient(f"{self.provider}: {method} {path} failed: {_reason(exc)}") from None
        return self._check(method, path, response, accept)

    def _check(self, method: str, path: str, response: httpx.Response, accept: Collection[int] = ()) -> httpx.Response:
        status = response.status_code
        if status < 400 or status in accept:
            return response
        what = f"{self.provider}: {method} {path} -> {status}: {self.describe(response)}"
        if status == 429:
            raise _transient(what, retry_after=retry_after(response), refused=True)
        if status >= 500 or status == 408:
            raise _transient(what, retry_after=retry_after(response))
        if status in (401, 403):
            raise AuthError(what)
        if status == 404:
            raise NotFoundError(what)
        raise RejectedError(what)


def _reason(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


def _transient(
    message: str, *, retry_after: float | None = None, unsent: bool = False, refused: bool = False
) -> TransientError:
    return TransientError(message, retry_after, unsent=unsent, refused=refused)
