"""The three emulators as servers: hostile framing, bodies and fault settings get a JSON 4xx, and the
server keeps serving. Every request here is sent raw over a socket to a real server on 127.0.0.1.
"""

from __future__ import annotations

import gzip
import http.client
import json
import socket
import subprocess
import sys
import textwrap
import uuid
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import Ran

from runner import emulators
from runner.emulators import framing
from runner.emulators.server import EmulatorServer

WS = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.Quantum/workspaces/ws"


@dataclass(frozen=True)
class Api:
    """Per emulator: a route that needs a JSON object, a normal request, and its credentials."""

    name: str
    create: tuple[str, str]  # method, path of a route whose body must be an object
    refused_status: int  # what that route answers a non-object with (Pasqal validates with 422)
    normal: tuple[str, str, bytes]  # method, path, a JSON body
    auth: tuple[str, str]


APIS = {
    "azure": Api(
        "azure",
        ("PUT", f"{WS}/jobs/{uuid.uuid4()}?api-version=2026-01-15-preview"),
        400,
        ("POST", f"{WS}/storage/sasUri?api-version=2026-01-15-preview", b'{"containerName": "job-1"}'),
        ("x-ms-quantum-api-key", "emulator-key"),
    ),
    "superstaq": Api(
        "superstaq",
        ("POST", "/v0.2.0/target_info"),
        400,
        ("POST", "/v0.2.0/target_info", b'{"target": "ss_unconstrained_simulator"}'),
        ("Authorization", "emulator-key"),
    ),
    "pasqal": Api(
        "pasqal",
        ("POST", "/core/api/v1/batches"),
        422,
        ("PATCH", "/core/api/v1/batches/cancel", b'{"batch_ids": []}'),
        ("Authorization", "Bearer emulator-token"),
    ),
}


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> object:
        return json.loads(self.body)


@pytest.fixture(scope="module", params=sorted(APIS))
def served(request: pytest.FixtureRequest) -> Iterator[tuple[EmulatorServer, Api]]:
    server = emulators.start(request.param)
    try:
        yield server, APIS[request.param]
    finally:
        server.stop()


@pytest.fixture(autouse=True)
def no_traceback(request: pytest.FixtureRequest) -> Iterator[None]:
    """A handler that died would have printed its traceback (socketserver's handle_error) to stderr."""
    capfd = request.getfixturevalue("capfd") if "served" in request.fixturenames else None
    yield
    if capfd is not None:
        assert "Traceback" not in capfd.readouterr().err


def head(method: str, path: str, headers: dict[str, str]) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def read_answer(sock: socket.socket) -> Answer:
    response = http.client.HTTPResponse(sock)
    response.begin()
    return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())


def send(port: int, data: bytes, timeout: float = 20) -> Answer:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        return read_answer(sock)


def request(api: Api, method: str, path: str, body: bytes = b"", **extra: str) -> bytes:
    headers = {api.auth[0]: api.auth[1], "Content-Type": "application/json", **extra}
    headers.setdefault("Content-Length", str(len(body)))
    return head(method, path, headers) + body


def still_serves(server: EmulatorServer, api: Api) -> None:
    """A normal request on a new connection gets a normal answer; no handler has failed on the way."""
    answer = send(server.port, request(api, *api.normal))
    assert answer.status == 200, answer.body
    assert answer.headers["content-type"] == "application/json"
    json.loads(answer.body)
    assert server.emulator.stats["internal_errors"] == 0


def message(answer: Answer) -> str:
    """The error text, whatever the provider's error format."""
    body = answer.json()
    assert isinstance(body, dict)
    if "error" in body:  # Azure
        return str(body["error"]["message"] if isinstance(body["error"], dict) else body["error"])
    if "data" in body:  # Pasqal's JSend
        return json.dumps(body["data"]["description"])
    return str(body["message"])  # Superstaq


# framing ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("length", "status", "words"),
    [
        ("-5", 400, "Content-Length must be a non-negative integer, not '-5'"),
        ("abc", 400, "Content-Length must be a non-negative integer, not 'abc'"),
        ("1e3", 400, "Content-Length must be a non-negative integer"),
        ("99999999999999999999999", 413, "exceeds the limit of 32 MiB"),
        (str(framing.MAX_BODY + 1), 413, "exceeds the limit of 32 MiB"),
    ],
)
def test_a_bad_or_oversized_content_length_is_refused_before_the_body_is_read(
    served: tuple[EmulatorServer, Api], length: str, status: int, words: str
) -> None:
    server, api = served
    raw = head(api.create[0], api.create[1], {api.auth[0]: api.auth[1], "Content-Length": length})
    answer = send(server.port, raw)
    assert (answer.status, answer.headers.get("connection")) == (status, "close")
    assert words in message(answer)
    still_serves(server, api)


def test_conflicting_content_lengths_are_refused(served: tuple[EmulatorServer, Api]) -> None:
    server, api = served
    raw = head(api.create[0], api.create[1], {api.auth[0]: api.auth[1], "Content-Length": "2"})
    raw = raw.replace(b"\r\n\r\n", b"\r\nContent-Length: 3\r\n\r\n") + b"{}"
    answer = send(server.port, raw)
    assert answer.status == 400
    assert "conflicting Content-Length headers: 2, 3" in message(answer)
    still_serves(server, api)


def test_a_body_that_stops_arriving_gets_408_and_frees_its_thread(
    served: tuple[EmulatorServer, Api], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, api = served
    monkeypatch.setattr(framing, "BODY_TIMEOUT", 0.3)
    raw = head(api.create[0], api.create[1], {api.auth[0]: api.auth[1], "Content-Length": "100"}) + b'{"a'
    answer = send(server.port, raw)
    assert answer.status == 408
    assert "did not arrive within 0.3 s" in message(answer)
    still_serves(server, api)


def test_malformed_chunks_and_unknown_codings_are_refused(served: tuple[EmulatorServer, Api]) -> None:
    server, api = served
    base = {api.auth[0]: api.auth[1]}
    chunked = head(*api.create, {**base, "Transfer-Encoding": "chunked"}) + b"zz\r\n{}\r\n0\r\n\r\n"
    assert send(server.port, chunked).status == 400
    brotli = head(*api.create, {**base, "Content-Encoding": "br", "Content-Length": "2"}) + b"{}"
    answer = send(server.port, brotli)
    assert (answer.status, "Content-Encoding 'br' is not supported" in message(answer)) == (415, True)
    still_serves(server, api)


def test_a_well_formed_chunked_body_is_read(served: tuple[EmulatorServer, Api]) -> None:
    server, api = served
    method, path, body = api.normal
    headers = {api.auth[0]: api.auth[1], "Transfer-Encoding": "chunked", "Content-Type": "application/json"}
    chunks = b"".join(
        f"{len(body[i : i + 7]):x}\r\n".encode() + body[i : i + 7] + b"\r\n" for i in range(0, len(body), 7)
    )
    answer = send(server.port, head(method, path, headers) + chunks + b"0\r\n\r\n")
    assert answer.status == 200, answer.body


def test_a_malformed_request_line_or_header_block_gets_a_json_error(served: tuple[EmulatorServer, Api]) -> None:
    server, api = served
    answer = send(server.port, b"GET / extra HTTP/1.1\r\n\r\n")
    assert (answer.status, answer.headers["content-type"]) == (400, "application/json")
    assert "Bad request syntax" in message(answer)
    crowded = head("GET", "/", {f"X-{i}": "y" for i in range(200)})
    assert send(server.port, crowded).status == 431
    still_serves(server, api)


# bodies ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("body", [b"null", b"[]", b'"text"', b"42", b""])
def test_a_body_that_is_not_an_object_gets_a_clear_error(served: tuple[EmulatorServer, Api], body: bytes) -> None:
    server, api = served
    answer = send(server.port, request(api, *api.create, body))
    assert answer.status == api.refused_status, answer.body
    assert "object" in message(answer)
    still_serves(server, api)


def test_a_body_that_is_not_json_gets_a_400_and_the_connection_stays_usable(
    served: tuple[EmulatorServer, Api],
) -> None:
    server, api = served
    with socket.create_connection(("127.0.0.1", server.port), timeout=20) as sock:
        sock.sendall(request(api, *api.create, b"{not json"))
        first = read_answer(sock)
        sock.sendall(request(api, *api.normal))
        second = read_answer(sock)
    assert first.status == 400
    assert "the request body is not valid JSON" in message(first)
    assert second.status == 200


def test_invalid_gzip_gets_a_400_and_the_connection_stays_usable(served: tuple[EmulatorServer, Api]) -> None:
    server, api = served
    truncated = gzip.compress(b'{"target": "x"}')[:-6]
    with socket.create_connection(("127.0.0.1", server.port), timeout=20) as sock:
        for broken in (b"definitely not gzip", truncated):
            sock.sendall(request(api, *api.create, broken, **{"Content-Encoding": "gzip"}))
            answer = read_answer(sock)
            assert answer.status == 400
            assert "the gzip body is not valid" in message(answer)
        sock.sendall(request(api, *api.normal))
        assert read_answer(sock).status == 200
    still_serves(server, api)


def test_a_gzipped_normal_body_still_works(served: tuple[EmulatorServer, Api]) -> None:
    server, api = served
    method, path, body = api.normal
    answer = send(server.port, request(api, method, path, gzip.compress(body), **{"Content-Encoding": "gzip"}))
    assert answer.status == 200, answer.body


def gzip_bomb(inflated: int) -> bytes:
    """`inflated` bytes of zeros, gzipped, built a megabyte at a time."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = bytes(1 << 20)
    parts = [packer.compress(zeros) for _ in range(inflated >> 20)]
    return b"".join([*parts, packer.flush()])


def test_a_gzip_bomb_is_refused_with_413_after_inflating_no_more_than_the_limit(
    served: tuple[EmulatorServer, Api],
) -> None:
    server, api = served
    bomb = gzip_bomb(64 << 20)  # inflates to twice the limit
    answer = send(server.port, request(api, *api.create, bomb, **{"Content-Encoding": "gzip"}))
    assert answer.status == 413
    assert "inflated from gzip exceeds the limit of 32 MiB" in message(answer)
    still_serves(server, api)


# fault settings --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("settings", "words"),
    [
        (b'{"latency": -1}', "latency must be between 0 and 600, not -1"),
        (b'{"latency": "fast"}', 'latency must be a number, not "fast"'),
        (b'{"latency": true}', "latency must be a number, not true"),
        (b'{"latency": null}', "latency must be a number, not null"),
        (b'{"latency": 1e999}', "latency must be between 0 and 600, not Infinity"),
        (b'{"error_rate": 2}', "error_rate must be between 0 and 1, not 2"),
        (b'{"queue_delay": 1' + b"0" * 400 + b"}", "queue_delay must be between 0 and 86400"),
        (b'{"run_time": 1, "drop_rate": -0.5}', "drop_rate must be between 0 and 1, not -0.5"),
        (b'{"speed": 1}', "unknown fault setting(s): speed"),
        (b"null", "takes a JSON object"),
        (b"[1]", "takes a JSON object"),
        (b"{oops", "not valid JSON"),
    ],
)
def test_bad_fault_settings_get_a_400_and_change_nothing(
    served: tuple[EmulatorServer, Api], settings: bytes, words: str
) -> None:
    server, api = served
    before = send(server.port, head("GET", "/_admin/faults", {})).json()
    answer = send(server.port, head("POST", "/_admin/faults", {"Content-Length": str(len(settings))}) + settings)
    assert answer.status == 400
    error = answer.json()
    assert isinstance(error, dict) and words in error["error"]
    assert send(server.port, head("GET", "/_admin/faults", {})).json() == before
    still_serves(server, api)


def test_good_fault_settings_apply(served: tuple[EmulatorServer, Api]) -> None:
    server, api = served
    still_serves(server, api)
    settings = b'{"queue_delay": 0.5, "job_failure_rate": 0}'
    answer = send(server.port, head("POST", "/_admin/faults", {"Content-Length": str(len(settings))}) + settings)
    assert answer.status == 200
    after = answer.json()
    assert isinstance(after, dict) and (after["queue_delay"], after["job_failure_rate"]) == (0.5, 0.0)
    assert server.emulator.faults.queue_delay == 0.5
    server.emulator.faults.queue_delay = 0.0


def test_faults_built_from_flags_are_checked_too(cli: Callable[..., Ran]) -> None:
    with pytest.raises(ValueError, match="latency must be between 0 and 600, not -1"):
        emulators.Faults(latency=-1)
    ran = cli("emulate", "pasqal", "--drop-rate", "1.5")
    assert (ran.code, ran.out, ran.err) == (64, "", "error: fault setting drop-rate must be between 0 and 1, not 1.5\n")


# memory ----------------------------------------------------------------------------------------
MEASURE = textwrap.dedent(
    """
    import http.client, json, resource, sys, tracemalloc
    from pathlib import Path
    from runner import emulators

    bomb = Path(sys.argv[1]).read_bytes()
    server = emulators.start("superstaq")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    connection.request("POST", "/v0.2.0/jobs", body=bomb, headers={
        "Authorization": "emulator-key", "Content-Type": "application/json", "Content-Encoding": "gzip"})
    status = connection.getresponse().status
    peak = tracemalloc.get_traced_memory()[1]
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    server.stop()
    print(json.dumps({"status": status, "traced_peak": peak, "rss_growth_kib": after - before}))
    """
)


@pytest.mark.slow
def test_a_one_gibibyte_gzip_bomb_costs_the_server_tens_of_megabytes_not_a_gigabyte(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.gz"
    bomb.write_bytes(gzip_bomb(1 << 30))
    assert bomb.stat().st_size < 2 << 20  # about a megabyte on the wire
    ran = subprocess.run(
        [sys.executable, "-c", MEASURE, str(bomb)], capture_output=True, text=True, timeout=300, check=True
    )
    figures = json.loads(ran.stdout.strip().splitlines()[-1])
    assert figures["status"] == 413
    assert figures["traced_peak"] < 48 << 20  # the 32 MiB limit, the 1 MiB body twice, and change
    assert figures["rss_growth_kib"] < 96 << 10
