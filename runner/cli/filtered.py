"""The parts of wait, cancel and rerun that act on what a filter or an index picks, and the --yes prompt."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from runner.errors import UsageError

if TYPE_CHECKING:
    from runner.app.filtered import Picked


def confirm_or_refuse(yes: bool, question: str) -> bool:
    if yes:
        return True
    if not sys.stdin.isatty():
        raise UsageError("this needs --yes when stdin is not a terminal")
    return click.prompt(f"\n{question} Only 'yes' will be accepted", default="", show_default=False).strip() == "yes"


def circuit_wait(
    patterns: tuple[str, ...],
    index: int,
    manifest: str | None,
    state: str | None,
    as_json: bool,
    timeout: float,
    poll_interval: float | None,
    lock_timeout: float,
) -> int:
    from runner import app
    from runner.render import output
    from runner.render.remote import status_text

    if len(patterns) != 1:
        raise UsageError("--index waits for one circuit of one job: give exactly one job ADDRESS")
    seen = app.wait_circuit(
        patterns[0],
        index,
        manifest=manifest,
        state=state,
        timeout=timeout,
        poll_interval=poll_interval,
        emit=output.EventPrinter(sys.stderr if as_json else None),  # --json: stdout holds one document
        lock_timeout=lock_timeout,
    )
    if as_json:
        output.dump_json(seen.as_json())
        return 0
    click.echo(f"{seen.address} circuit {seen.index}: {status_text(seen.status, seen.raw_status)}")
    if seen.result is not None:
        click.echo(f"  {seen.result.shots} shots: {output.counts_text(seen.result.counts[0])}")
    click.echo(f"  the job is {seen.job_status} (circuits: {', '.join(seen.statuses)})")
    return 0


def rerun_where(
    patterns: tuple[str, ...],
    where: tuple[str, ...],
    min_runs: int | None,
    max_runs: int | None,
    manifest: str,
    state: str | None,
    yes: bool,
    lock_timeout: float,
) -> int:
    from runner import app
    from runner.domain.query import parse_where
    from runner.render import output

    selection = parse_where(where, min_runs=min_runs, max_runs=max_runs)

    def confirm(picked: Picked) -> bool:
        for rec in picked.jobs:
            click.echo(f"  -/+ {rec.address}  rerun of generation {rec.generation} ({rec.status})")
        for batch, job_id in picked.unmanaged:
            click.echo(f"  ? {batch}: job {job_id} matches but runner does not manage it (left alone)")
        return confirm_or_refuse(yes, f"Rerun these {len(picked.jobs)} job(s) in new batches?")

    failures = app.rerun_where(
        manifest,
        selection,
        patterns,
        state=state,
        emit=output.EventPrinter(),
        confirm=confirm,
        lock_timeout=lock_timeout,
    )
    for failure in failures:
        click.echo(f"error: {failure}", err=True)
    return 1 if failures else 0
