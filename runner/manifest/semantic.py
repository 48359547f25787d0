"""Checks the schema cannot express: references, provider rules, program inputs, sweep sizes."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from typing import Any

from runner import providers
from runner.domain import address
from runner.domain.model import Batch, Job, Manifest, Matrix, Target
from runner.errors import Problem
from runner.expand.matrix import combinations, size_bound
from runner.manifest.programs import ProgramReader
from runner.manifest.source import Path, Source
from runner.planning import pricing


def check(manifest: Manifest, source: Source, broken: set[Path], reader: ProgramReader) -> list[Problem]:
    """Every semantic problem, located; sections broken by schema errors are skipped."""
    checker = _Checker(manifest, source, reader)
    checker.run(broken)
    return checker.problems


class _Checker:
    def __init__(self, manifest: Manifest, source: Source, reader: ProgramReader) -> None:
        self.m, self.source, self.reader = manifest, source, reader
        self.problems: list[Problem] = []

    def add(self, path: Path, message: str, *, key: bool = False) -> None:
        self.problems.append(Problem(self.source.where(path, key=key), message))

    def run(self, broken: set[Path]) -> None:
        for target in self.m.targets.values():
            self._target(target)
        defaults = self.source.data.get("defaults")
        if isinstance(defaults, dict) and "target" in defaults and ("defaults",) not in broken:
            self._ref_target(defaults["target"], ("defaults", "target"), None)
        for s in self.m.sessions.values():
            self._ref_target(s.target, (*s.path, "target"), "session")
        for job in self.m.jobs.values():
            self._job(job)
        for batch in self.m.batches.values():
            self._ref_target(batch.target, (*batch.path, "target"), "batch")
            self._batch(batch)
        for w in self.m.workloads.values():
            self._ref_target(w.target, (*w.path, "target"), "workload")
        self._total()
        self._moves()
        if not any(path[:1] == ("targets",) for path in broken):
            self._budget()  # a target lost to a schema error would make its currency look unused

    # targets -------------------------------------------------------------------------------
    def _target(self, t: Target) -> None:
        if not t.path:
            return  # the built-in local target
        if t.provider not in providers.REGISTRY:
            self.add((*t.path, "provider"), f"provider '{t.provider}' is not available in this runner")
            return
        spec = providers.spec(t.provider)
        if not t.target:
            self.add(t.path, f"targets.{t.name}: missing required key 'target'", key=True)
        for key in spec.required:
            if key not in t.config:
                self.add(t.path, f"targets.{t.name}: {t.provider} targets need '{key}'", key=True)
        for key in sorted(set(t.config) - spec.allowed):
            self.add((*t.path, key), f"targets.{t.name}: '{key}' does not apply to {t.provider} targets", key=True)
        creds = t.config.get("credentials", {})
        if spec.credentials and not any(need <= set(creds) for need in spec.credentials):
            choices = " | ".join("+".join(sorted(s)) for s in spec.credentials)
            where = (*t.path, "credentials") if "credentials" in t.config else t.path
            self.add(where, f"targets.{t.name}: credentials need one of: {choices}", key="credentials" not in t.config)
        for sub_path, message in providers.check_target(t):
            self.add((*t.path, *sub_path), f"targets.{t.name}: {message}")
        if "job" not in spec.kinds:
            for key in sorted(set(t.price) & set(pricing.GATE_PRICES)):
                self.add(
                    (*t.path, "price", key),
                    f"targets.{t.name}: {t.provider} targets run no gate circuits, so {key} cannot apply",
                    key=True,
                )

    def _ref_target(self, name: str, path: Path, kind: str | None) -> Target | None:
        target = self.m.targets.get(name)
        if target is None:
            known = ", ".join(sorted(self.m.targets))
            self.add(path, f"unknown target '{name}' (defined: {known})")
            return None
        if kind and target.provider in providers.REGISTRY:
            spec = providers.spec(target.provider)
            if kind not in spec.kinds:
                offered = ", ".join(sorted(spec.kinds))
                self.add(path, f"{target.provider} targets do not run {kind}s (they run: {offered})")
        return target

    # jobs ----------------------------------------------------------------------------------
    def _job(self, job: Job) -> None:
        body = self.source.data["jobs"][job.name]
        implicit = "target" not in body and job.session is None
        if implicit and job.target not in self.m.targets:
            target = None  # the unknown default target is reported once, at defaults.target
        else:
            target_path = (*job.path, "target") if "target" in body else job.path
            target = self._ref_target(job.target, target_path, "job")
        if job.session is not None:
            session = self.m.sessions.get(job.session)
            if session is None:
                self.add(
                    (*job.path, "session"),
                    f"unknown session '{job.session}' (defined: {', '.join(sorted(self.m.sessions)) or 'none'})",
                )
            elif "target" in body and body["target"] != session.target:
                self.add(
                    (*job.path, "target"),
                    f"target '{job.target}' differs from session '{job.session}' target '{session.target}'",
                )
        multi = target and len(job.programs) > 1 and target.provider in providers.REGISTRY
        if multi and target and not providers.spec(target.provider).multi_program:
            self.add((*job.path, "programs"), f"{target.provider} jobs take a single program")
        if target and target.provider in providers.REGISTRY:
            self._capacity(job, target)
        combos = self._sweep(job.matrix, (*job.path, "matrix"), lambda c: address.job(job.name, c), True)
        if job.matrix is None or combos is not None:
            self._inputs(job, combos)

    def _capacity(self, job: Job, target: Target) -> None:
        """A program wider than its target can run is refused here, not when it is simulated or sent."""
        most = providers.spec(target.provider).capacity(target)
        for i, program in enumerate(job.programs):
            info = self.reader.infos.get(program.digest)
            if most is None or info is None or info.num_qubits <= most:
                continue
            self.add(
                self._program_path(job, i),
                f"{program.label} uses {info.num_qubits} qubits; target '{target.name}' ({_engine(target)}) "
                f"takes at most {most}{_wider(target)}",
            )

    def _inputs(self, job: Job, combos: list[dict[str, Any]] | None) -> None:
        infos = [self.reader.infos.get(p.digest) for p in job.programs]
        for program, info, i in zip(job.programs, infos, range(len(infos)), strict=False):
            if info is not None and not info.measures:
                self.add(
                    self._program_path(job, i),
                    f"{program.label} measures nothing: add measure statements so there are counts",
                )
        known = [i for i in infos if i is not None]
        if len(known) != len(infos):
            return
        inputs = {name for info in known for name in info.inputs}
        # a sweep's points mostly share their keys: check each distinct key set and each distinct value once
        shapes: dict[frozenset[str], dict[str, Any]] = {}
        for combo in combos if combos else [{}]:
            values = {**job.params, **combo}
            shapes.setdefault(frozenset(values), values)
        before = len(self.problems)
        for values in shapes.values():
            for key in sorted(set(values) - inputs):
                listed = ", ".join(sorted(inputs)) or "none"
                self.add(self._param_path(job, key), f"'{key}' is not an input of {_labels(job)} (inputs: {listed})")
            for key in sorted(inputs - set(values)):
                self.add(
                    job.path, f"input '{key}' of {_labels(job)} has no value: set it in params or matrix", key=True
                )
            if len(self.problems) > before:
                return  # one shape shows the problem; do not repeat it per sweep point
        distinct = {(k, type(v), v) for c in (combos or [{}]) for k, v in {**job.params, **c}.items() if k in inputs}
        for key, _, value in sorted(distinct, key=repr):
            if isinstance(value, (bool, str)) or not math.isfinite(value):
                self.add(self._param_path(job, key), f"input '{key}' needs a finite number, got {value!r}")
                return

    def _program_path(self, job: Job, i: int) -> Path:
        """Where the job's i-th circuit is named in the manifest (a build may make several from one entry)."""
        placed = self.reader.placed.get(job.path, ())
        if i < len(placed):
            return placed[i]
        return (*job.path, "programs", i) if len(job.programs) > 1 else (*job.path, "program")

    def _param_path(self, job: Job, key: str) -> Path:
        if key in job.params:
            return (*job.path, "params", key)
        if job.matrix and key in job.matrix.axes:
            return (*job.path, "matrix", key)
        return (*job.path, "matrix")

    # sweeps --------------------------------------------------------------------------------
    def _sweep(
        self, matrix: Matrix | None, path: Path, name: Any, representative: bool = False
    ) -> list[dict[str, Any]] | None:
        """The sweep's points, after checking them; with `representative`, a plain product of distinct values
        gives only enough points to show every key set and value (validate checks 100,000 points by their axes)."""
        if matrix is None:
            return None
        bound = size_bound(matrix)
        if bound > self.m.max_jobs:
            self.add(path, f"sweep expands to {bound} jobs, more than max_jobs ({self.m.max_jobs})")
            return None
        for i, entry in enumerate(matrix.exclude):
            for key in sorted(set(entry) - set(matrix.axes)):
                self.add((*path, "exclude", i, key), f"exclude key '{key}' is not a matrix key", key=True)
        for key, values in matrix.axes.items():
            for j, value in enumerate(values):
                if isinstance(value, float) and not math.isfinite(value):
                    self.add((*path, key, j), f"sweep value {value} is not a finite number")
        # a plain product cannot repeat a point, and a few points carry every key set and value there is
        combos = _representatives(matrix) if representative and _plain(matrix) else combinations(matrix)
        # duplicates by value (cheap); only duplicated points get their address formatted for the message
        seen = Counter(tuple(sorted((k, type(v).__name__, v) for k, v in c.items())) for c in combos)
        for point, count in seen.items():
            if count > 1:
                self.add(path, f"sweep yields {name({k: v for k, _, v in point})} {count} times: values must be unique")
        by_text: dict[tuple[str, str], set[tuple[str, Any]]] = {}
        for k, kind, v in {(k, type(v).__name__, v) for c in combos for k, v in c.items()}:
            by_text.setdefault((k, address.format_value(v)), set()).add((kind, v))
        for (k, text), clashing in sorted(by_text.items()):
            if len(clashing) > 1:  # e.g. 1 and "1": different values, one address
                shown = " and ".join(sorted(repr(v) for _, v in clashing))
                self.add(path, f"'{k}' values {shown} give the same address text {text}: make them the same type")
        return combos

    # batches -------------------------------------------------------------------------------
    def _batch(self, batch: Batch) -> None:
        combos = (
            self._sweep(batch.matrix, (*batch.path, "matrix"), lambda c: address.batch_job(batch.name, None, c)) or []
        )
        addresses = [address.batch_job(batch.name, j.name, j.variables) for j in batch.jobs]
        addresses += [address.batch_job(batch.name, None, c) for c in combos]
        for addr, count in Counter(addresses).items():
            if count > 1:
                self.add(batch.path, f"batch jobs repeat {addr}: give them different variables or a name", key=True)
        if not batch.jobs and not combos and not batch.open:
            self.add(batch.path, f"batch '{batch.name}' has no jobs: add jobs or a matrix, or set open: true", key=True)
        declared = self.reader.variables.get(batch.sequence.digest)
        if declared is None:
            return
        used: list[tuple[Path, Mapping[str, Any]]] = [((*j.path, "variables"), j.variables) for j in batch.jobs]
        used += [((*batch.path, "matrix"), c) for c in combos[:1]]
        for path, variables in used:
            for key in sorted(set(variables) - declared):
                self.add(
                    path,
                    f"variable '{key}' is not declared by the sequence (declared: {_listing(declared)})",
                )

    # renames -------------------------------------------------------------------------------
    def _moves(self) -> None:
        """Each `moved` entry renames a resource no longer declared to one declared now, of the same kind."""
        body = self.source.data
        sections = {kind: body.get(f"{kind}s") for kind in ("session", "batch", "job", "workload")}
        named = {f"{kind}.{n}" for kind, items in sections.items() if isinstance(items, dict) for n in items}
        sources = Counter(m.source for m in self.m.moved)
        dests = Counter(m.dest for m in self.m.moved)
        for move in self.m.moved:
            src, dst = (*move.path, "from"), (*move.path, "to")
            if move.source.split(".")[0] != move.dest.split(".")[0]:
                self.add(dst, f"moved: {move.source} cannot become {move.dest}, a resource of another kind")
            elif move.source == move.dest:
                self.add(dst, f"moved: {move.source} is moved to itself")
            if move.source in named:
                self.add(
                    src, f"moved: {move.source} is still declared; a moved resource is declared under its new name"
                )
            if move.dest not in named:
                self.add(dst, f"moved: {move.dest} is not declared in the manifest (declare it, then move to it)")
            if sources[move.source] > 1:
                self.add(src, f"moved: {move.source} is moved more than once")
            if dests[move.dest] > 1:
                self.add(dst, f"moved: more than one resource is moved to {move.dest}")

    def _total(self) -> None:
        total = sum(_count(j.matrix) for j in self.m.jobs.values())
        total += sum(len(b.jobs) + (size_bound(b.matrix) if b.matrix else 0) for b in self.m.batches.values())
        if total > self.m.max_jobs:
            where = ("max_jobs",) if "max_jobs" in self.source.data else ("project",)
            self.add(where, f"the manifest declares {total} jobs, more than max_jobs ({self.m.max_jobs})")

    def _budget(self) -> None:
        """A limit in a currency no target costs in can never bind: most likely a typo (usd for USD)."""
        if self.m.budget is None:
            return
        priced = {pricing.currency_of(t) for t in self.m.targets.values()}
        known = sorted(c for c in priced if c is not None)
        for currency in sorted(set(self.m.budget.limits) - set(known)):
            self.add(
                ("budget", currency),
                f"budget: no target costs in {currency} (targets cost in: {', '.join(known)}); "
                "add a price table with this currency to a target, or remove the limit",
                key=True,
            )


def _wider(target: Target) -> str:
    return "; Aer methods stabilizer and matrix_product_state take wider circuits" if target.provider == "local" else ""


def _engine(target: Target) -> str:
    if target.provider == "local":
        return f"the local simulator, method {target.options.get('method', 'automatic')}"
    return f"{target.provider} {target.target}"


def _count(matrix: Matrix | None) -> int:
    return 1 if matrix is None else size_bound(matrix)


def _labels(job: Job) -> str:
    return ", ".join(sorted({p.label for p in job.programs}))


def _listing(names: set[str]) -> str:
    return ", ".join(sorted(names)) or "none"


def _plain(matrix: Matrix) -> bool:
    """A product without include or exclude whose axes hold distinct values: no point can repeat."""
    if matrix.include or matrix.exclude:
        return False
    return all(len({(type(v).__name__, v) for v in values}) == len(values) for values in matrix.axes.values())


def _representatives(matrix: Matrix) -> list[dict[str, Any]]:
    """As many points as the longest axis, together holding every value of every axis (all share one key set)."""
    axes = {k: v for k, v in matrix.axes.items() if v}
    if len(axes) != len(matrix.axes):
        return []  # an empty axis: the product is empty
    longest = max((len(v) for v in axes.values()), default=0)
    return [{k: v[min(i, len(v) - 1)] for k, v in axes.items()} for i in range(longest)]
