"""Request bodies the Pasqal emulator accepts, checked the way the API answers: 422 with a location."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from runner.emulators.pasqal.execute import DEVICE_TYPES
from runner.emulators.pasqal.store import Invalid

Loc = Sequence[str | int]


@dataclass(frozen=True)
class JobSpec:
    runs: int
    variables: dict[str, Any] | None
    sequence: str | None


@dataclass(frozen=True)
class BatchSpec:
    project_id: str
    sequence_builder: str | None
    jobs: tuple[JobSpec, ...]
    open: bool
    device_type: str
    tags: tuple[str, ...]
    configuration: dict[str, Any] | None
    webhook: str | None
    backend_configuration: str | None


def _typed(body: dict[str, Any], key: str, kind: type | tuple[type, ...], loc: Loc, *, required: bool = False) -> Any:
    value = body.get(key)
    if value is None:
        if required:
            raise Invalid([*loc, key], "field required")
        return None
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise Invalid([*loc, key], f"must be a {names}")
    return value


def jobs(items: Any, loc: Loc, has_builder: bool) -> tuple[JobSpec, ...]:
    """The job objects of a create-batch or add-jobs body."""
    if not isinstance(items, list):
        raise Invalid(loc, "must be a list of jobs")
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise Invalid([*loc, i], "must be an object")
        runs = _typed(item, "runs", int, [*loc, i], required=True)
        if runs < 1:
            raise Invalid([*loc, i, "runs"], "must be at least 1")
        sequence = _typed(item, "sequence", str, [*loc, i])
        if sequence is None and not has_builder:
            raise Invalid([*loc, i, "sequence"], "needed when the batch has no sequence_builder")
        out.append(JobSpec(runs, _typed(item, "variables", dict, [*loc, i]), sequence))
    return tuple(out)


def batch(body: Any) -> BatchSpec:
    """A create-batch body."""
    loc = ["body"]
    if not isinstance(body, dict):
        raise Invalid(loc, "must be an object")
    builder = _typed(body, "sequence_builder", str, loc)
    is_open = _typed(body, "open", bool, loc)
    if is_open is None:
        complete = _typed(body, "complete", bool, loc)  # the deprecated inverse of open
        is_open = not complete if complete is not None else False
    specs = jobs(body.get("jobs", []), [*loc, "jobs"], builder is not None)
    if not specs and not is_open:
        raise Invalid([*loc, "jobs"], "a closed batch needs at least one job")
    device = _typed(body, "device_type", str, loc) or "EMU_FREE"  # the API infers it; the emulator assumes
    if device not in DEVICE_TYPES:
        raise Invalid([*loc, "device_type"], f"unknown device type {device!r}")
    tags = _typed(body, "tags", list, loc) or []
    if not all(isinstance(t, str) for t in tags):
        raise Invalid([*loc, "tags"], "must be a list of strings")
    return BatchSpec(
        _typed(body, "project_id", str, loc, required=True),
        builder,
        specs,
        is_open,
        device,
        tuple(tags),
        _typed(body, "configuration", dict, loc),
        _typed(body, "webhook", str, loc),
        _typed(body, "backend_configuration", str, loc),
    )


def tags(body: Any) -> list[str]:
    """A set-tags body: a list of strings."""
    if not isinstance(body, list) or not all(isinstance(t, str) for t in body):
        raise Invalid(["body"], "must be a list of strings")
    return body


def workload(body: Any) -> tuple[str, str, str, dict[str, Any]]:
    """A create-workload body: project_id, workload_type, backend, config."""
    loc = ["body"]
    if not isinstance(body, dict):
        raise Invalid(loc, "must be an object")
    return (
        _typed(body, "project_id", str, loc, required=True),
        _typed(body, "workload_type", str, loc, required=True),
        _typed(body, "backend", str, loc, required=True),
        _typed(body, "config", dict, loc) or {},
    )
