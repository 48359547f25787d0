"""The single rule for identity: sha256 of canonical JSON."""

from __future__ import annotations

import hashlib
import json
import math
from functools import lru_cache
from typing import Any


def canonical(value: Any) -> bytes:
    """Canonical JSON: sorted keys, no whitespace, UTF-8, no NaN or infinities."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")


def digest(value: Any) -> str:
    """sha256 hex digest of a value's canonical JSON."""
    return hashlib.sha256(canonical(value)).hexdigest()


def digest_bytes(data: bytes) -> str:
    """sha256 hex digest of raw bytes (file contents)."""
    return hashlib.sha256(data).hexdigest()


def seed_from(fingerprint: str) -> int:
    """A simulator seed derived from a fingerprint: same spec, same seed, in any state file."""
    return int(fingerprint[:8], 16)


class Stamper:
    """digest({**base, key: value}) for many values, without re-encoding `base` each time.

    Sweeps share everything but their params; canonical JSON of the shared part is encoded once
    and the varying value is spliced in. Same result as digest() (tests hold it to that).
    """

    _MARK = "\x00runner-splice\x00"

    def __init__(self, base: dict[str, Any], key: str) -> None:
        encoded = canonical({**base, key: self._MARK})
        marker = json.dumps(self._MARK).encode()
        self.head, _, self.tail = encoded.partition(marker)

    def __call__(self, value: Any) -> str:
        return hashlib.sha256(self.head + flat_canonical(value) + self.tail).hexdigest()


@lru_cache(maxsize=1024)
def _key(key: str) -> str:
    return json.dumps(key, ensure_ascii=False)


def _scalar(value: Any) -> str | None:
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    if type(value) is int:
        return str(value)
    if type(value) is float and math.isfinite(value):
        return repr(value)  # what the json module writes for a float
    if type(value) is str:
        return json.dumps(value, ensure_ascii=False)
    return None


def flat_canonical(value: Any) -> bytes:
    """canonical() for a flat mapping of scalars (sweep params), about five times faster; else canonical()."""
    if type(value) is not dict or not all(type(k) is str for k in value):
        return canonical(value)
    parts = []
    for key in sorted(value):
        encoded = _scalar(value[key])
        if encoded is None:
            return canonical(value)
        parts.append(f"{_key(key)}:{encoded}")
    return ("{" + ",".join(parts) + "}").encode("utf-8")
