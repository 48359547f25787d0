"""Pure expansion: defaults merged, sweeps expanded, addresses and fingerprints computed.

No I/O and no clock: the manifest value already holds every program's text.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from runner.domain import address
from runner.domain.fingerprint import Stamper, digest
from runner.domain.model import Attrs, Batch, Job, Manifest, Matrix, Program, Session, Workload
from runner.domain.resources import Desired, Expansion
from runner.domain.vocabulary import KIND_ORDER, Kind
from runner.expand.matrix import combinations


def expand(manifest: Manifest) -> Expansion:
    """Every desired resource, sorted by kind order then address."""
    out: list[Desired] = []
    programs: dict[str, Program] = {}
    sessions = {name: _session(manifest, s) for name, s in manifest.sessions.items()}
    out.extend(sessions.values())
    for job in manifest.jobs.values():
        programs.update({p.digest: p for p in job.programs})
        parent = sessions.get(job.session) if job.session else None
        out.extend(_jobs(manifest, job, parent))
    for batch in manifest.batches.values():
        programs[batch.sequence.digest] = batch.sequence
        head = _batch(manifest, batch)
        out.append(head)
        out.extend(_batch_jobs(batch, head))
    out.extend(_workload(manifest, w) for w in manifest.workloads.values())
    out.sort(key=lambda r: (KIND_ORDER[r.kind], r.address))
    return Expansion(
        project=manifest.project,
        manifest_path=manifest.path,
        manifest_digest=manifest.digest,
        resources=tuple(out),
        programs=programs,
        targets=manifest.targets,
        budget=manifest.budget,
        moved={m.source: m.dest for m in manifest.moved},
    )


def count(manifest: Manifest) -> int:
    """How many resources expand() gives, without building them: what validate reports.

    A plain product is counted by multiplying; only sweeps with include or exclude are expanded.
    """
    total = len(manifest.sessions) + len(manifest.workloads)
    for job in manifest.jobs.values():
        total += _size(job.matrix) if job.matrix else 1
    for batch in manifest.batches.values():
        total += 1 + len(batch.jobs) + (_size(batch.matrix) if batch.matrix else 0)
    return total


def _size(matrix: Matrix) -> int:
    if matrix.include or matrix.exclude:
        return len(combinations(matrix))
    return math.prod(len(values) for values in matrix.axes.values()) if matrix.axes else 0


def _make(
    kind: Kind, addr: str, name: str, target: str, manifest: Manifest, spec: dict[str, Any], **extra: Any
) -> Desired:
    where = manifest.targets[target]
    return Desired(
        addr, kind, name, target, where.provider, spec=spec, fingerprint=digest(spec), service=where.service(), **extra
    )


def _session(manifest: Manifest, s: Session) -> Desired:
    spec = {
        "kind": "session",
        "target": manifest.targets[s.target].identity(),
        "job_failure_policy": s.job_failure_policy,
        "priority": s.priority,
    }
    return _make(
        "session",
        address.session(s.name),
        s.name,
        s.target,
        manifest,
        spec,
        parent=None,
        attrs=s.attrs,
        protect=s.protect,
        lifecycle={"keep_open": s.keep_open},
    )


def _jobs(manifest: Manifest, job: Job, session: Desired | None) -> list[Desired]:
    combos = combinations(job.matrix) if job.matrix else [{}]
    base = {
        "kind": "job",
        "target": manifest.targets[job.target].identity(),
        "programs": [{"digest": p.digest, "format": p.format} for p in job.programs],
        "shots": job.shots,
        "options": dict(job.options),
        "priority": job.priority,
        "session": {"address": session.address, "fingerprint": session.fingerprint} if session else None,
    }
    where = manifest.targets[job.target]
    provider, service = where.provider, where.service()
    parent = session.address if session else None
    fingerprint = Stamper(base, "params")
    out = []
    for combo in combos:
        params = {**job.params, **combo}
        spec = {**base, "params": params}
        out.append(
            Desired(
                address.job(job.name, combo),
                "job",
                job.name,
                job.target,
                provider,
                parent,
                spec,
                job.attrs,
                fingerprint(params),
                protect=job.protect,
                values=combo,
                service=service,
            )
        )
    return out


def _batch(manifest: Manifest, b: Batch) -> Desired:
    spec = {
        "kind": "batch",
        "target": manifest.targets[b.target].identity(),
        "sequence": {"digest": b.sequence.digest, "format": b.sequence.format},
        "configuration": dict(b.configuration),
        "webhook": b.webhook,
    }
    return _make(
        "batch",
        address.batch(b.name),
        b.name,
        b.target,
        manifest,
        spec,
        parent=None,
        attrs=b.attrs,
        protect=b.protect,
        lifecycle={"open": b.open},
    )


def _batch_jobs(b: Batch, head: Desired) -> list[Desired]:
    entries: list[tuple[str | None, int, Mapping[str, Any]]] = [(j.name, j.runs, j.variables) for j in b.jobs]
    if b.matrix:
        entries += [(None, b.runs, combo) for combo in combinations(b.matrix)]
    out = []
    for name, runs, variables in entries:
        spec = {"kind": "batch_job", "batch": head.fingerprint, "runs": runs, "variables": dict(variables)}
        out.append(
            Desired(
                address.batch_job(b.name, name, variables),
                "batch_job",
                b.name,
                head.target,
                head.provider,
                parent=head.address,
                spec=spec,
                attrs=Attrs(),  # tags and metadata live on the batch; its jobs carry none of their own
                fingerprint=digest(spec),
                protect=b.protect,
                values=dict(variables),
                service=head.service,
            )
        )
    return out


def _workload(manifest: Manifest, w: Workload) -> Desired:
    spec = {
        "kind": "workload",
        "target": manifest.targets[w.target].identity(),
        "workload_type": w.workload_type,
        "backend": w.backend,
        "config": dict(w.config),
    }
    return _make(
        "workload",
        address.workload(w.name),
        w.name,
        w.target,
        manifest,
        spec,
        parent=None,
        attrs=w.attrs,
        protect=w.protect,
    )
