"""Value objects for a loaded manifest: what the user declared, with defaults applied."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

Path = tuple[str | int, ...]  # a location in the manifest document (keys and list indices)

Scalar = str | int | float | bool
LOCAL_TARGET = "local"
# target settings that say which service (and which workspace or project in it) resources live on
SERVICE_KEYS = ("endpoint", "workspace", "project_id", "project_id_env", "account_endpoint")
DEFAULT_SHOTS = 1000
DEFAULT_MAX_JOBS = 10_000


@dataclass(frozen=True)
class Program:
    """A program's text, identified by the digest of its contents (and its includes)."""

    label: str
    text: str
    format: str  # qasm2 | qasm3 | pulser
    digest: str
    include_dir: str | None = None


@dataclass(frozen=True)
class Target:
    """A named backend; `config` keeps provider settings such as endpoint and credential refs."""

    name: str
    provider: str
    target: str
    options: Mapping[str, Any]
    config: Mapping[str, Any]
    tags: tuple[str, ...] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)
    path: Path = ()
    price: Mapping[str, Any] = field(default_factory=dict)  # the manifest's price table; not part of identity

    def identity(self) -> dict[str, Any]:
        """The part of a target that decides what runs; endpoints, credentials and placement are not in it."""
        options = {k: v for k, v in self.options.items() if k not in PLACEMENT}
        return {"provider": self.provider, "target": self.target, "options": options}

    def service(self) -> str:
        """Where the target's resources live: the provider and the settings that locate its service.

        Part of every resource's identity: a resource recorded on one service is not the same resource
        once the target points at another (an emulator's results must never pass for the real service's).
        Credentials, rate limits and the API version are not in it: they change how runner talks, not where.
        """
        where = {key: self.config[key] for key in SERVICE_KEYS if self.config.get(key) not in (None, "", {})}
        cred = self.config.get("credentials") or {}
        for key in ("connection_string_env", "connection_string_file"):  # the workspace is inside the secret
            if key in cred and "workspace" not in where:
                where[key] = cred[key]
        if not where:
            return self.provider
        return self.provider + " " + json.dumps(where, sort_keys=True, separators=(",", ":"))


# Options that say where a job runs, not what it computes: moving a sweep onto a Dask cluster (or off it)
# keeps every job's fingerprint, seed and counts.
PLACEMENT = frozenset({"dask"})


@dataclass(frozen=True)
class Attrs:
    """In-place attributes: changing them updates a resource without rerunning it."""

    tags: tuple[str, ...] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)
    name: str | None = None


@dataclass(frozen=True)
class Matrix:
    """A sweep: value lists per key plus GitHub-Actions-style include and exclude entries."""

    axes: Mapping[str, tuple[Scalar, ...]]
    include: tuple[Mapping[str, Scalar], ...] = ()
    exclude: tuple[Mapping[str, Scalar], ...] = ()


@dataclass(frozen=True)
class Session:
    name: str
    target: str
    job_failure_policy: str
    priority: str | None
    keep_open: bool
    attrs: Attrs
    protect: bool
    path: Path


@dataclass(frozen=True)
class Job:
    name: str
    target: str
    session: str | None
    programs: tuple[Program, ...]
    shots: int
    params: Mapping[str, Scalar]
    matrix: Matrix | None
    options: Mapping[str, Any]
    priority: str | None
    attrs: Attrs
    protect: bool
    path: Path


@dataclass(frozen=True)
class BatchJob:
    name: str | None
    runs: int
    variables: Mapping[str, Any]
    path: Path


@dataclass(frozen=True)
class Batch:
    name: str
    target: str
    sequence: Program
    open: bool
    runs: int
    jobs: tuple[BatchJob, ...]
    matrix: Matrix | None
    configuration: Mapping[str, Any]
    webhook: str | None
    attrs: Attrs
    protect: bool
    path: Path


@dataclass(frozen=True)
class Workload:
    name: str
    target: str
    workload_type: str
    backend: str
    config: Mapping[str, Any]
    attrs: Attrs
    protect: bool
    path: Path


@dataclass(frozen=True)
class Budget:
    """Most a plan may spend per currency; `allow_unknown` lets jobs of unknown cost through."""

    limits: Mapping[str, Decimal]
    allow_unknown: bool = False


@dataclass(frozen=True)
class Move:
    """A `moved` entry: the resource recorded as `source` is now declared as `dest` (and its members with it)."""

    source: str  # an address such as job.bell or batch.scan
    dest: str
    path: Path = ()


@dataclass(frozen=True)
class Manifest:
    """A validated manifest."""

    path: str
    base_dir: str
    digest: str
    project: str
    max_jobs: int
    targets: Mapping[str, Target]
    sessions: Mapping[str, Session]
    jobs: Mapping[str, Job]
    batches: Mapping[str, Batch]
    workloads: Mapping[str, Workload]
    budget: Budget | None = None
    moved: tuple[Move, ...] = ()
