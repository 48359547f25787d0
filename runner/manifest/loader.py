"""Loading: YAML text -> located schema and semantic checks -> a Manifest value."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from runner.domain.fingerprint import digest_bytes
from runner.domain.model import (
    DEFAULT_MAX_JOBS,
    DEFAULT_SHOTS,
    LOCAL_TARGET,
    Attrs,
    Batch,
    BatchJob,
    Budget,
    Job,
    Manifest,
    Matrix,
    Move,
    Session,
    Target,
    Workload,
)
from runner.errors import Location, ManifestError, Problem, RunnerError
from runner.expand.matrix import Generated, SweepError, generated
from runner.manifest import interpolate, schema, semantic
from runner.manifest.files import FileRefused, read_regular
from runner.manifest.limits import DEFAULT_PRECISION, MAX_MANIFEST_BYTES
from runner.manifest.programs import ProgramReader
from runner.manifest.source import Path, Source, parse

_TARGET_FIELDS = {"provider", "target", "options", "tags", "metadata", "description", "price"}


def read_text(path: str) -> bytes:
    """The manifest's bytes, or a one-line error naming the file (regular files only, bounded)."""
    try:
        return read_regular(path, MAX_MANIFEST_BYTES)
    except FileRefused as exc:
        if exc.reason == "not found":
            raise RunnerError(f"manifest not found: {path}") from None
        if exc.reason.startswith("is a directory"):
            raise RunnerError(f"{path} is a directory; give the manifest file") from None
        raise RunnerError(f"manifest {path} {exc.reason}") from None


def load(path: str, *, check_programs: bool = True, env: Mapping[str, str] | None = None) -> Manifest:
    """Load and validate a manifest; raise ManifestError with every problem found.

    `env` resolves ${VAR} in target settings and locates the verdict cache; None means the
    process environment and no cache.
    """
    raw = read_text(path)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ManifestError([Problem(Location(path, 1, 1), f"not UTF-8 text: {exc.reason}")]) from None
    source = parse(text, path)
    if source.data is None:
        raise ManifestError(source.problems)
    unresolved, resolved = interpolate.targets(source, os.environ if env is None else env)
    found = _schema_problems(source, raw, resolved, env, known_bad=bool(source.problems or unresolved))
    stale = {p.location for p in unresolved}  # a setting left unresolved is reported once, naming its variable
    reported = stale | {p.location for p in source.problems}
    problems = source.problems + unresolved + [p for _, p in found if p.location not in reported]
    if not isinstance(source.data, dict) or any(len(path) == 0 for path, _ in found):
        raise ManifestError(problems)
    broken = {_broken_part(path) for path, p in found if p.location not in stale}
    builder = _Builder(source, path, broken, check_programs, env)
    manifest = builder.build(digest_bytes(raw))
    later = (
        builder.problems + builder.reader.problems + semantic.check(manifest, source, builder.broken, builder.reader)
    )
    problems += [p for p in later if p.location not in stale]
    if problems:
        raise ManifestError(problems)
    return manifest


def _schema_problems(
    source: Source, raw: bytes, resolved: Mapping[str, Any], env: Mapping[str, str] | None, known_bad: bool
) -> list[tuple[Path, Problem]]:
    """Schema problems with their paths; none when this text (and these resolved settings) passed before."""
    from runner.manifest import verdicts

    root = verdicts.cache_root(env) if env is not None else None
    # with ${VAR} in settings the text alone does not decide the verdict: the resolved values are part of it
    key = digest_bytes(raw + json.dumps(resolved, sort_keys=True).encode()) if resolved else digest_bytes(raw)
    if not known_bad and verdicts.known_valid(root, key, schema.schema_digest()):
        return []
    found = schema.check_paths(source)
    if not found and not known_bad:
        verdicts.remember_valid(root, key, schema.schema_digest())
    return found


_SECTIONS = ("targets", "sessions", "jobs", "batches", "workloads")


def _broken_part(path: Path) -> Path:
    """What a schema error disqualifies: one resource in a section, else a whole top-level key."""
    return path[:2] if len(path) >= 2 and path[0] in _SECTIONS else path[:1]


class _Builder:
    """Builds model values from schema-valid sections, reading program files on the way."""

    def __init__(
        self, source: Source, path: str, broken: set[Path], check_programs: bool, env: Mapping[str, str] | None
    ) -> None:
        from runner.manifest import verdicts

        self.source, self.data = source, source.data
        self.broken = broken
        self.problems: list[Problem] = []
        cache, built = (verdicts.cache_dir(env), verdicts.build_dir(env)) if env is not None else (None, None)
        self.reader = ProgramReader(source, path, check_programs, cache, env, built)
        defaults = self.data.get("defaults", {}) if ("defaults",) not in broken else {}
        self.shots = int(defaults.get("shots", DEFAULT_SHOTS))
        self.tags = tuple(defaults.get("tags", ()))
        self.metadata: Mapping[str, Any] = defaults.get("metadata", {})
        self.default_target = defaults.get("target", LOCAL_TARGET)
        jobs = self.data.get("max_jobs", DEFAULT_MAX_JOBS) if ("max_jobs",) not in broken else DEFAULT_MAX_JOBS
        self.max_jobs = int(jobs)

    def build(self, digest: str) -> Manifest:
        d = self.data
        self.reader.prefetch(self._builds())
        return Manifest(
            path=self.source.file,
            base_dir=self.reader.base_dir,
            digest=digest,
            project=str(d.get("project", "")),
            max_jobs=self.max_jobs,
            targets=self._targets(),
            sessions=self._each("sessions", self._session),
            jobs=self._each("jobs", self._job),
            batches=self._each("batches", self._batch),
            workloads=self._each("workloads", self._workload),
            budget=_budget(d.get("budget")) if ("budget",) not in self.broken else None,
            moved=self._moved(),
        )

    def _builds(self) -> list[tuple[str, Any]]:
        """Every program and sequence entry of the sections schema checks let through, for ProgramReader.prefetch."""
        found: list[tuple[str, Any]] = []
        for section, kind in (("jobs", "circuit"), ("batches", "sequence")):
            items = self.data.get(section)
            if (section,) in self.broken or not isinstance(items, dict):
                continue
            for name, body in items.items():
                if (section, name) in self.broken or not isinstance(body, dict):
                    continue
                listed = body.get("programs") or ()
                entries = [body.get("sequence")] if kind == "sequence" else [body.get("program"), *listed]
                found += [(kind, e) for e in entries if e is not None]
        return found

    def _moved(self) -> tuple[Move, ...]:
        entries = self.data.get("moved") or []
        if ("moved",) in self.broken or not isinstance(entries, list):
            return ()
        return tuple(Move(str(e["from"]), str(e["to"]), ("moved", i)) for i, e in enumerate(entries))

    def _each(self, section: str, make: Any) -> dict[str, Any]:
        items = self.data.get(section) or {}
        if (section,) in self.broken or not isinstance(items, dict):
            return {}
        built = {}
        for name, body in items.items():
            if (section, name) in self.broken:
                continue
            value = make(name, body, (section, name))
            if value is None:
                self.broken.add((section, name))
            else:
                built[name] = value
        return built

    def _targets(self) -> dict[str, Target]:
        targets = self._each("targets", self._target)
        targets.setdefault(LOCAL_TARGET, Target(LOCAL_TARGET, "local", "local.aer", {}, {}))
        return targets

    def _target(self, name: str, body: dict[str, Any], path: Path) -> Target:
        from runner import providers

        provider = body["provider"]
        default = providers.spec(provider).default_target if provider in providers.REGISTRY else None
        config = {k: v for k, v in body.items() if k not in _TARGET_FIELDS}
        return Target(
            name=name,
            provider=provider,
            target=str(body.get("target") or default or ""),
            options=body.get("options", {}),
            config=config,
            tags=tuple(body.get("tags", ())),
            metadata=body.get("metadata", {}),
            path=path,
            price=body.get("price", {}),
        )

    def _attrs(self, body: Mapping[str, Any]) -> Attrs:
        tags = tuple(sorted(set(self.tags) | set(body.get("tags", ()))))
        return Attrs(tags=tags, metadata={**self.metadata, **body.get("metadata", {})}, name=body.get("name"))

    def _session(self, name: str, body: dict[str, Any], path: Path) -> Session:
        return Session(
            name=name,
            target=body["target"],
            job_failure_policy=body.get("job_failure_policy", "abort"),
            priority=body.get("priority"),
            keep_open=bool(body.get("keep_open", False)),
            attrs=self._attrs(body),
            protect=bool(body.get("protect", False)),
            path=path,
        )

    def _job(self, name: str, body: dict[str, Any], path: Path) -> Job | None:
        entries = [(*path, "programs", i) for i in range(len(body["programs"]))] if "programs" in body else []
        specs = list(body["programs"]) if "programs" in body else [body["program"]]
        entries = entries or [(*path, "program")]
        read = [self.reader.circuits(spec, entry) for spec, entry in zip(specs, entries, strict=True)]
        swept, matrix = self._matrix(body.get("matrix"), (*path, "matrix"))
        if any(r is None for r in read) or not swept:
            return None
        programs = tuple(p for made in read if made is not None for p in made)
        # where each circuit was named: one entry may build several (a function returning a list)
        self.reader.placed[path] = tuple(e for made, e in zip(read, entries, strict=True) for _ in made or ())
        sessions = self.data.get("sessions") or {}
        session = body.get("session")
        session_target = sessions.get(session, {}).get("target") if isinstance(sessions, dict) else None
        target = body.get("target") or session_target or self.default_target
        return Job(
            name=name,
            target=target,
            session=session,
            programs=programs,
            shots=int(body.get("shots", self.shots)),
            params=body.get("params", {}),
            matrix=matrix,
            options=body.get("options", {}),
            priority=body.get("priority"),
            attrs=self._attrs(body),
            protect=bool(body.get("protect", False)),
            path=path,
        )

    def _batch(self, name: str, body: dict[str, Any], path: Path) -> Batch | None:
        sequence = self.reader.sequence(body["sequence"], (*path, "sequence"))
        swept, matrix = self._matrix(body.get("matrix"), (*path, "matrix"))
        if sequence is None or not swept:
            return None
        runs = int(body.get("runs", self.shots))
        jobs = tuple(
            BatchJob(j.get("name"), int(j.get("runs", runs)), j.get("variables", {}), (*path, "jobs", i))
            for i, j in enumerate(body.get("jobs", ()))
        )
        return Batch(
            name=name,
            target=body["target"],
            sequence=sequence,
            open=bool(body.get("open", False)),
            runs=runs,
            jobs=jobs,
            matrix=matrix,
            configuration=body.get("configuration", {}),
            webhook=body.get("webhook"),
            attrs=self._attrs(body),
            protect=bool(body.get("protect", False)),
            path=path,
        )

    def _matrix(self, body: Mapping[str, Any] | None, path: Path) -> tuple[bool, Matrix | None]:
        """(ok, sweep): generated axes are counted, and refused when too large, before any value is made."""
        if not body:
            return True, None
        precision = int(body.get("precision", DEFAULT_PRECISION))
        specs = {k: v for k, v in body.items() if k not in ("include", "exclude", "precision")}
        axes: dict[str, tuple[Any, ...] | Generated | None] = {}
        for key, spec in specs.items():
            axes[key] = tuple(spec) if isinstance(spec, list) else self._generated(spec, precision, (*path, key))
        include = tuple(body.get("include", ()))
        if any(v is None for v in axes.values()):
            return False, None
        size = math.prod(len(v) if isinstance(v, tuple) else v.size() for v in axes.values() if v is not None)
        size += len(include)
        # lists are already made, and semantic checks their size; a generated axis must be refused unmade
        if size > self.max_jobs and any(isinstance(v, Generated) for v in axes.values()):
            where = self.source.where(path)
            self.problems.append(Problem(where, f"sweep expands to {size} jobs, more than max_jobs ({self.max_jobs})"))
            return False, None
        made: dict[str, tuple[Any, ...]] = {}
        for key, axis in axes.items():
            try:
                made[key] = axis.values() if isinstance(axis, Generated) else tuple(axis or ())
            except SweepError as exc:
                self.problems.append(Problem(self.source.where((*path, key)), f"matrix.{key}: {exc}"))
                return False, None
        return True, Matrix(made, include, tuple(body.get("exclude", ())))

    def _generated(self, spec: Mapping[str, Any], precision: int, path: Path) -> Generated | None:
        try:
            return generated(spec, precision)
        except SweepError as exc:
            self.problems.append(Problem(self.source.where(path), f"matrix.{path[-1]}: {exc}"))
            return None

    def _workload(self, name: str, body: dict[str, Any], path: Path) -> Workload:
        return Workload(
            name=name,
            target=body["target"],
            workload_type=body["workload_type"],
            backend=body["backend"],
            config=body.get("config", {}),
            attrs=self._attrs(body),
            protect=bool(body.get("protect", False)),
            path=path,
        )


def _budget(body: Mapping[str, Any] | None) -> Budget | None:
    if body is None:
        return None
    limits = {k: Decimal(str(v)) for k, v in body.items() if k != "allow_unknown"}
    return Budget(limits, bool(body.get("allow_unknown", False)))


def display_path(path: str) -> str:
    """A path as shown in messages: relative to the working directory when that is shorter."""
    rel = os.path.relpath(path)
    return rel if not rel.startswith("..") else path
