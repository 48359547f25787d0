"""Resource addresses built from values, never indices: job.rabi[amp=0.1,qubit=3]."""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

_PLAIN = re.compile(r"^[A-Za-z0-9_.+\-]+$")
KINDS = ("session", "batch", "job", "workload")


def format_value(value: Any) -> str:
    """A value as it appears inside an address."""
    try:
        return _formatted(type(value).__name__, value)
    except TypeError:  # unhashable: not a sweep value, but format it anyway
        return _format(value)


@lru_cache(maxsize=65536)
def _formatted(kind: str, value: Any) -> str:  # the type is part of the key: 1, 1.0 and True differ
    return _format(value)


def _format(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    text = str(value)
    return text if _PLAIN.match(text) else json.dumps(text, ensure_ascii=False)


def key_suffix(values: Mapping[str, Any]) -> str:
    """`[a=1,b=x]` with keys sorted, or '' for no values."""
    if not values:
        return ""
    return "[" + ",".join(f"{k}={format_value(values[k])}" for k in sorted(values)) + "]"


def job(name: str, values: Mapping[str, Any] | None = None) -> str:
    return f"job.{name}{key_suffix(values or {})}"


def session(name: str) -> str:
    return f"session.{name}"


def batch(name: str) -> str:
    return f"batch.{name}"


def batch_job(batch_name: str, job_name: str | None, values: Mapping[str, Any]) -> str:
    if job_name:
        return f"batch.{batch_name}.job.{job_name}"
    return f"batch.{batch_name}.job{key_suffix(values)}"


def workload(name: str) -> str:
    return f"workload.{name}"


def matches(address: str, pattern: str) -> bool:
    """Exact match, a glob (`job.rabi*`), or a prefix naming a whole resource (`job.rabi`)."""
    if address == pattern:
        return True
    if any(ch in pattern for ch in "*?"):
        # brackets in addresses are literal, so escape them before globbing
        escaped = pattern.replace("[", "[[]")
        return fnmatch.fnmatchcase(address, escaped)
    return address.startswith(pattern + "[") or address.startswith(pattern + ".")


def select(addresses: Iterable[str], patterns: Iterable[str]) -> list[str]:
    """Addresses matching any pattern, sorted."""
    pats = list(patterns)
    return sorted(a for a in addresses if any(matches(a, p) for p in pats))
