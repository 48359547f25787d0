"""The HTTP boundary: error mapping, which calls are retried, Retry-After, rate limiting."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from runner.errors import AuthError, NotFoundError, RejectedError, TransientError
from runner.providers import http as http_mod
from runner.providers.http import HttpClient, RateLimiter, RetryPolicy

Handler = Callable[[httpx.Request], httpx.Response]


def client(handler: Handler, **kw: Any) -> HttpClient:
    return HttpClient(
        "http://svc.test",
        provider="svc",
        transport=httpx.MockTransport(handler),
        retry=RetryPolicy(attempts=4, base_s=0.0, cap_s=0.0),
        **kw,
    )


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    seen: list[float] = []
    monkeypatch.setattr("runner.providers.http.time.sleep", seen.append)
    return seen


def answers(*statuses: int, headers: dict[str, str] | None = None) -> tuple[Handler, list[str]]:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        status = statuses[min(len(calls) - 1, len(statuses) - 1)]
        return httpx.Response(status, json={"message": f"status {status}"}, headers=headers or {})

    return handler, calls


def test_reads_are_retried_on_5xx_and_succeed(sleeps: list[float]) -> None:
    handler, calls = answers(503, 502, 200)
    assert client(handler).request("GET", "/x").status_code == 200
    assert calls == ["GET", "GET", "GET"]


def test_a_create_is_not_repeated_after_a_5xx_it_may_have_acted_on(sleeps: list[float]) -> None:
    handler, calls = answers(503, 200)
    with pytest.raises(TransientError) as caught:
        client(handler).request("POST", "/jobs", json_body={})
    assert calls == ["POST"]
    assert caught.value.acted_on_maybe
    assert caught.value.message == "svc: POST /jobs -> 503: status 503"


def test_429_is_refused_work_so_even_a_create_is_retried_honouring_retry_after(sleeps: list[float]) -> None:
    handler, calls = answers(429, 201, headers={"Retry-After": "3"})
    assert client(handler).request("POST", "/jobs", json_body={}).status_code == 201
    assert calls == ["POST", "POST"] and sleeps == [3.0]


def test_retries_are_bounded_in_count(sleeps: list[float]) -> None:
    handler, calls = answers(500)
    with pytest.raises(TransientError):
        client(handler).request("GET", "/x")
    assert len(calls) == 4


def test_an_unreachable_server_is_unsent_so_a_create_may_be_retried(sleeps: list[float]) -> None:
    attempts: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        attempts.append(1)
        if len(attempts) < 3:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(201, json={})

    assert client(handler).request("POST", "/jobs", json_body={}).status_code == 201
    assert len(attempts) == 3


@pytest.mark.parametrize(
    ("status", "kind"),
    [(401, AuthError), (403, AuthError), (404, NotFoundError), (400, RejectedError), (422, RejectedError)],
)
def test_error_mapping(status: int, kind: type[Exception], sleeps: list[float]) -> None:
    handler, calls = answers(status)
    with pytest.raises(kind) as caught:
        client(handler).request("GET", "/x")
    assert str(caught.value) == f"svc: GET /x -> {status}: status {status}"
    assert calls == ["GET"]  # never retried


def test_retry_after_http_date_and_backoff_bounds() -> None:
    import random

    policy = RetryPolicy(base_s=0.5, cap_s=4.0)
    rng = random.Random(1)
    delays = [policy.delay(a, None, rng) for a in range(1, 10)]
    assert all(0 <= d <= 4.0 for d in delays)
    assert policy.delay(1, 7.0, rng) == 7.0  # Retry-After is a floor
    assert http_mod.retry_after(httpx.Response(429, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})) == 0.0


def test_rate_limiter_spaces_calls(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [0.0]
    monkeypatch.setattr("runner.providers.http.time.sleep", lambda s: now.__setitem__(0, now[0] + s))
    limiter = RateLimiter(10.0, clock=lambda: now[0])
    for _ in range(30):
        limiter.wait()
    assert now[0] == pytest.approx(2.0, abs=0.05)  # 10 at once (the bucket), then 10 per second
