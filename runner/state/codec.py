"""How state rows are encoded: canonical JSON text, lazily decoded objects, timestamps.

Shared by every storage backend; nothing here knows SQL.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import datetime, timezone
from functools import lru_cache
from types import MappingProxyType
from typing import Any

from runner.domain.model import Attrs, Target
from runner.domain.resources import Recorded


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):  # LazyJSON and read-only views serialise as the mappings they are
        return dict(value)
    return str(value)


# One encoder for every row: json.dumps with these options builds a new encoder per call, which was a
# quarter of the cost of the ~10 small documents each created job writes (3.6 us -> 2.6 us a call).
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=_plain)


def dumps(value: Any) -> str:
    return _ENCODER.encode(value)


class LazyJSON(Mapping[str, Any]):
    """A JSON object decoded on first use: a plan over 10,000 unchanged resources never needs their specs."""

    __slots__ = ("_data", "_text")

    def __init__(self, text: str) -> None:
        self._text = text
        self._data: dict[str, Any] | None = None

    def _decoded(self) -> dict[str, Any]:
        if self._data is None:
            self._data = json.loads(self._text)
        assert self._data is not None
        return self._data

    def __getitem__(self, key: str) -> Any:
        return self._decoded()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._decoded())

    def __len__(self) -> int:
        return len(self._decoded())

    def __eq__(self, other: object) -> bool:
        return self._decoded() == (dict(other) if isinstance(other, Mapping) else other)

    def __hash__(self) -> int:
        return hash(self._text)

    def __repr__(self) -> str:
        return f"LazyJSON({self._text})"


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def attrs_json(attrs: Attrs) -> str:
    return dumps({"tags": list(attrs.tags), "metadata": dict(attrs.metadata), "name": attrs.name})


@lru_cache(maxsize=4096)
def attrs_from(text: str) -> Attrs:
    """Attrs from their JSON; cached by text, since a sweep's jobs all share theirs."""
    raw = json.loads(text)
    return Attrs(tuple(raw.get("tags", ())), MappingProxyType(raw.get("metadata", {})), raw.get("name"))


@lru_cache(maxsize=4096)
def shared(text: str) -> Mapping[str, Any]:
    """A small JSON object many rows share (lifecycle, detail), decoded once and read-only."""
    return MappingProxyType(json.loads(text))


def recorded(row: Mapping[str, Any]) -> Recorded:
    return Recorded(
        address=row["address"],
        kind=row["kind"],
        target=row["target"],
        provider=row["provider"],
        parent=row["parent"],
        generation=row["generation"],
        fingerprint=row["fingerprint"],
        spec=LazyJSON(row["spec"]),
        attrs=attrs_from(row["attrs"]),
        status=row["status"],
        remote_id=row["remote_id"],
        protect=bool(row["protect"]),
        lifecycle=shared(row["lifecycle"]),
        updated_at=row["updated_at"],
        detail=shared(row["detail"]) if len(row["detail"]) < 256 else LazyJSON(row["detail"]),
        service=_column(row, "service") or "",
    )


def decode(row: dict[str, Any], *keys: str) -> dict[str, Any]:
    for key in keys:
        if row.get(key) is not None:
            row[key] = json.loads(row[key])
    return row


def target_from(raw: Mapping[str, Any]) -> Target:
    """A target as recorded (its dataclass fields as JSON) back into a Target."""
    return Target(**{**raw, "tags": tuple(raw.get("tags", ())), "path": tuple(raw.get("path", ()))})


def _column(row: Mapping[str, Any], name: str) -> Any:
    """A column that older state formats lack (read, not migrated, by a read-only command)."""
    try:
        return row[name]
    except (KeyError, IndexError):
        return None
