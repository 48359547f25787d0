"""The single rule for identity: sha256 of canonical JSON."""

from __future__ import annotations

import hashlib
import json
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
