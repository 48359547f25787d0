"""Reading a request body off the socket the way a real service front end does: bounded and strict.

A body is at most MAX_BODY bytes (32 MiB), before and after inflating: a Content-Length above it
is refused with 413 before a byte of the body is read, and a gzip body is inflated in pieces and
refused with 413 as soon as it passes the limit (1 GiB of zeros, gzipped to 1 MiB, costs the server
at most the limit, never the gigabyte). Content-Length must be one non-negative decimal number;
chunked transfer coding is read with the same limit; a body must arrive within BODY_TIMEOUT.
Anything else is a BadBody with the status and one-line message the server answers with.
"""

from __future__ import annotations

import gzip
import io
import socket
import zlib
from collections.abc import Callable
from email.message import Message
from io import BufferedIOBase

MAX_BODY = 32 * 1024 * 1024
BODY_TIMEOUT = 30.0  # seconds to receive a body once its headers are in
_PIECE = 1024 * 1024  # inflate this much at a time
_MAX_CHUNK_LINE = 1024
_MAX_TRAILERS = 64


class BadBody(Exception):
    """A body the server refuses; `framing_lost` when the connection cannot be reused after it."""

    def __init__(self, status: int, message: str, *, framing_lost: bool = False) -> None:
        super().__init__(message)
        self.status, self.message, self.framing_lost = status, message, framing_lost


def too_large(what: str, *, framing_lost: bool = False) -> BadBody:
    limit = f"{MAX_BODY // (1024 * 1024)} MiB"
    return BadBody(413, f"the request body {what} exceeds the limit of {limit}", framing_lost=framing_lost)


def read_body(headers: Message, rfile: BufferedIOBase, connection: socket.socket) -> bytes:
    """The body the headers announce, decoded (gzip) and bounded; BadBody when it cannot be taken."""
    previous = connection.gettimeout()
    connection.settimeout(BODY_TIMEOUT)  # a client that announces a body and stalls frees its thread
    try:
        raw = _framed(headers, rfile)
    except TimeoutError:
        raise BadBody(408, f"the request body did not arrive within {BODY_TIMEOUT:g} s", framing_lost=True) from None
    finally:
        connection.settimeout(previous)
    return _decoded(headers, raw)


def _framed(headers: Message, rfile: BufferedIOBase) -> bytes:
    coding = (headers.get("Transfer-Encoding") or "identity").strip().lower()
    if coding == "chunked":
        return _chunked(rfile)
    if coding != "identity":
        raise BadBody(501, f"Transfer-Encoding {coding!r} is not supported (use chunked or none)", framing_lost=True)
    length = content_length(headers.get_all("Content-Length") or [])
    return _exactly(rfile, length)


def content_length(values: list[str]) -> int:
    """The one length the headers give (0 without one); BadBody for a malformed, negative or huge one."""
    distinct = {v.strip() for v in values}
    if len(distinct) > 1:
        raise BadBody(400, f"conflicting Content-Length headers: {', '.join(sorted(distinct))}", framing_lost=True)
    text = distinct.pop() if distinct else "0"
    if not text.isdigit() or not text.isascii():
        raise BadBody(400, f"Content-Length must be a non-negative integer, not {text[:40]!r}", framing_lost=True)
    if len(text) > 12 or int(text) > MAX_BODY:
        raise too_large(f"announced by Content-Length ({text[:40]} bytes)", framing_lost=True)
    return int(text)


def _exactly(rfile: BufferedIOBase, length: int) -> bytes:
    data = rfile.read(length) if length else b""
    if len(data) < length:
        raise BadBody(400, f"the body ended after {len(data)} of {length} bytes", framing_lost=True)
    return data


def _chunked(rfile: BufferedIOBase) -> bytes:
    body = bytearray()
    while True:
        line = rfile.readline(_MAX_CHUNK_LINE)
        size_text = line.split(b";", 1)[0].strip()
        if not line.endswith(b"\n") or not size_text or any(c not in b"0123456789abcdefABCDEF" for c in size_text):
            raise BadBody(400, f"malformed chunk size line {line[:40]!r}", framing_lost=True)
        size = int(size_text, 16)
        if size == 0:
            _trailers(rfile)
            return bytes(body)
        if len(body) + size > MAX_BODY:
            raise too_large("sent in chunks", framing_lost=True)
        body += _exactly(rfile, size)
        if rfile.read(2) != b"\r\n":
            raise BadBody(400, "a chunk does not end with CRLF", framing_lost=True)


def _trailers(rfile: BufferedIOBase) -> None:
    for _ in range(_MAX_TRAILERS):
        if rfile.readline(_MAX_CHUNK_LINE) in (b"\r\n", b"\n", b""):
            return
    raise BadBody(400, f"more than {_MAX_TRAILERS} trailer lines", framing_lost=True)


def _decoded(headers: Message, raw: bytes) -> bytes:
    coding = (headers.get("Content-Encoding") or "identity").strip().lower()
    if coding == "identity" or not raw:
        return raw
    if coding in ("gzip", "x-gzip"):
        return inflate(raw)
    raise BadBody(415, f"Content-Encoding {coding!r} is not supported (send gzip or none)")


def inflate(data: bytes, limit: int = MAX_BODY) -> bytes:
    """gunzip `data` (every member), producing at most `limit` bytes; BadBody 400 or 413 otherwise."""
    out = bytearray()
    reader: Callable[[int], bytes] = gzip.GzipFile(fileobj=io.BytesIO(data)).read
    try:
        while piece := reader(min(_PIECE, limit + 1 - len(out))):
            out += piece
            if len(out) > limit:
                raise too_large("inflated from gzip")
    except (OSError, EOFError, zlib.error) as exc:  # BadGzipFile is an OSError; a cut stream is an EOFError
        raise BadBody(400, f"the gzip body is not valid: {exc}") from None
    return bytes(out)
