"""refresh, wait, cancel: talk to providers about resources already applied."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from runner.cli.common import (
    F,
    colour_option,
    events_view,
    json_option,
    list_limit_option,
    lock_timeout_option,
    manifest_option,
    painter,
    state_option,
)
from runner.cli.filtered import circuit_wait, confirm_or_refuse, rerun_where
from runner.errors import JobsFailedError, UsageError

if TYPE_CHECKING:
    from runner.domain.resources import Recorded

LOCK_TIMEOUT = lock_timeout_option


@click.command()
@manifest_option
@state_option
@json_option
@LOCK_TIMEOUT
def refresh(manifest: str | None, state: str | None, as_json: bool, lock_timeout: float) -> int:
    """Ask the providers about everything that can still change; record what did.

    Finished jobs never change, so they cost no request.

    \b
    Example:
      runner refresh -m examples/azure/azure.yaml
    """
    from runner import app
    from runner.render import output

    printer = output.EventPrinter(json_lines=as_json)
    cycle = app.refresh(manifest=manifest, state=state, emit=printer, lock_timeout=lock_timeout)
    for error in cycle.errors:
        click.echo(f"error: {error}", err=True)
    summary = (
        f"Refreshed {cycle.observed} resource(s) in {cycle.requests} request(s): {len(cycle.changed)} changed, "
        f"{len(cycle.pending)} still running" + (f", {len(cycle.unknown)} unknown" if cycle.unknown else "")
    )
    if as_json:
        output.dump_json(
            {
                "observed": cycle.observed,
                "requests": cycle.requests,
                "changed": cycle.changed,
                "pending": cycle.pending,
                "unknown": cycle.unknown,
                "errors": cycle.errors,
            }
        )
    else:
        click.echo(summary + ".")
    return 1 if cycle.errors else 0


@click.command()
@click.argument("patterns", nargs=-1, metavar="[ADDRESS|GLOB]...")
@manifest_option
@state_option
@json_option
@click.option(
    "--timeout",
    default=600.0,
    show_default=True,
    type=click.FloatRange(0),
    metavar="SECONDS",
    help="A deadline for the whole command: give up (exit 6) once it passes.",
)
@click.option(
    "--fail-on-failed", is_flag=True, help="Exit 7 if anything waited for ended failed, cancelled or timed out."
)
@click.option(
    "--poll-interval",
    type=click.FloatRange(0.1),
    default=None,
    metavar="SECONDS",
    help="Poll every SECONDS (at least 0.1) instead of the growing back-off; never past --timeout.",
)
@click.option(
    "--index",
    type=click.IntRange(0),
    default=None,
    metavar="N",
    help="Wait only for circuit N of one multi-circuit job (Superstaq) and print its counts at once.",
)
@LOCK_TIMEOUT
def wait(
    patterns: tuple[str, ...],
    manifest: str | None,
    state: str | None,
    as_json: bool,
    timeout: float,
    fail_on_failed: bool,
    poll_interval: float | None,
    index: int | None,
    lock_timeout: float,
) -> int:
    """Wait until the selected resources (default: all) have finished; fetch their results.

    Without ADDRESS it waits for everything applied, sessions and batches included, except
    those declared to stay open (keep_open, open: true). Polls with exponential back-off and
    jitter, or every --poll-interval seconds; --timeout is a deadline for the whole command
    (exit 6). For CI, --fail-on-failed exits 7 when anything ended failed. With --index N and
    one job ADDRESS, it waits for that circuit alone: its counts are printed as soon as it has
    finished, while the job's other circuits may still run.

    \b
    Examples:
      runner wait -m examples/azure/azure.yaml --timeout 300
      runner wait 'job.rotation*' -m examples/azure/azure.yaml --poll-interval 2
      runner wait -m examples/azure/azure.yaml --timeout 600 --fail-on-failed
      runner wait job.pair -m examples/superstaq/superstaq.yaml --index 1 --timeout 120
    """
    from runner import app
    from runner.render import output
    from runner.render.progress import WaitProgress

    if index is not None:
        return circuit_wait(patterns, index, manifest, state, as_json, timeout, poll_interval, lock_timeout)
    printer = output.EventPrinter(json_lines=as_json)
    progress = WaitProgress(sys.stderr)
    try:
        cycle = app.wait(
            patterns,
            manifest=manifest,
            state=state,
            timeout=timeout,
            emit=progress.wrap(printer),
            progress=progress,
            lock_timeout=lock_timeout,
            poll_interval=poll_interval,
        )
    finally:
        progress.close()
    if not as_json:
        click.echo(
            "All selected resources have finished."
            if not cycle.unknown
            else f"Finished, except {len(cycle.unknown)} with a status runner does not know."
        )
    bad = sorted(a for a, s in cycle.statuses.items() if s in ("failed", "cancelled", "timed_out"))
    if fail_on_failed and bad:
        shown = ", ".join(f"{a} ({cycle.statuses[a]})" for a in bad[:5]) + (
            f" and {len(bad) - 5} more" if len(bad) > 5 else ""
        )
        raise JobsFailedError(f"{len(bad)} of {len(cycle.statuses)} did not succeed: {shown}")
    return 0


@click.command()
@click.argument("patterns", nargs=-1, required=True, metavar="ADDRESS|GLOB...")
@manifest_option
@state_option
@json_option
@click.option("--index", type=click.IntRange(0), default=None, help="Cancel only this circuit of a multi-circuit job.")
@click.option(
    "--where",
    "where",
    multiple=True,
    metavar="KEY=VALUE[,VALUE]",
    help="Cancel the jobs of the named batches that match (keys: id, status, min_runs, max_runs, since, until; "
    "repeatable): one call per batch (Pasqal cancel_jobs, which cancels pending jobs). Exit 8 if none match.",
)
@click.option("--allow-protected", is_flag=True, help="Also cancel resources marked protect: true.")
@LOCK_TIMEOUT
def cancel(
    patterns: tuple[str, ...],
    manifest: str | None,
    state: str | None,
    as_json: bool,
    index: int | None,
    where: tuple[str, ...],
    allow_protected: bool,
    lock_timeout: float,
) -> int:
    """Cancel running jobs, sessions or batches (they stay in the manifest and the state).

    Several Pasqal batches go in one call (cancel_batches). --where cancels only the jobs of a
    batch that match a filter, in one call per batch; a filter that matches nothing exits 8.

    \b
    Examples:
      runner cancel job.bell -m examples/azure/azure.yaml
      runner cancel 'job.rotation*' -m examples/azure/azure.yaml
      runner cancel job.pair -m examples/superstaq/superstaq.yaml --index 1
      runner cancel batch.rabi -m examples/pasqal/pasqal.yaml --where status=PENDING --where min_runs=150
    """
    from runner import app
    from runner.render import output

    if where:
        if index is not None:
            raise UsageError("--where picks jobs of batches, --index a circuit of a job: give one of them")
        notes = output.EventPrinter(sys.stderr if as_json else None)  # --json: stdout holds one document
        picked = app.cancel_where(
            patterns,
            where,
            manifest=manifest,
            state=state,
            allow_protected=allow_protected,
            emit=notes,
            lock_timeout=lock_timeout,
        )
        if as_json:
            output.dump_json([b.as_json() for b in picked])
            return 0
        for batch in picked:
            click.echo(f"{batch.batch}: {len(batch.cancelled)} job(s) cancelled")
            for addr, obs in batch.cancelled:
                click.echo(f"  - {obs.remote_id} ({obs.status}): {addr or 'not managed'}")
            for job_id, why in sorted(batch.refused.items()):
                click.echo(f"  = {job_id}: not cancelled: {why}")
        return 0
    done = app.cancel(
        patterns,
        manifest=manifest,
        state=state,
        index=index,
        allow_protected=allow_protected,
        emit=output.EventPrinter(sys.stderr if as_json else None),
        lock_timeout=lock_timeout,
    )
    if as_json:
        output.dump_json([{"address": a, "remote_id": o.remote_id, "status": o.status} for a, o in done])
        return 0
    for addr, obs in done:
        click.echo(f"  - {addr}: cancel requested ({obs.status})")
    return 0


@click.command("import")
@click.argument("address", required=False, metavar="[ADDRESS]")
@click.argument("remote_id", required=False, metavar="[REMOTE_ID]")
@click.option(
    "-m",
    "--manifest",
    required=True,
    metavar="MANIFEST",
    type=str,
    help="The manifest declaring the addresses.",
)
@state_option
@click.option("--tag", "tags", multiple=True, metavar="TAG", help="Carrying TAG (repeat: carrying all).")
@click.option("--status", "statuses", multiple=True, metavar="S", help="In status S (runner's word or the service's).")
@click.option("--since", metavar="DATE", help="Created on or after DATE.")
@click.option("--until", metavar="DATE", help="Created on or before DATE.")
@click.option("--name", metavar="PREFIX", help="Names starting with PREFIX (Azure).")
@click.option("--target", "targets", multiple=True, metavar="TARGET", help="Only look on TARGET (repeatable).")
@LOCK_TIMEOUT
def import_(
    address: str | None,
    remote_id: str | None,
    manifest: str,
    state: str | None,
    tags: tuple[str, ...],
    statuses: tuple[str, ...],
    since: str | None,
    until: str | None,
    name: str | None,
    targets: tuple[str, ...],
    lock_timeout: float,
) -> int:
    """Bring resources submitted by hand under management, by id or by filters.

    The address must be declared in the manifest; runner records the remote resource as its
    new generation, so the next plan leaves it alone. With filters (the same as `runner remote`'s,
    applied by the services), every remote object that matches and whose name (or `address:` tag)
    is a manifest address is imported; those already managed are skipped.

    \b
    Examples:
      runner import job.bell 3f2a9c1e-... -m examples/azure/azure.yaml
      runner import --tag campaign:june -m examples/azure/azure.yaml
      runner import --status succeeded --since 2025-06-01 --name job. -m examples/azure/azure.yaml
    """
    from runner import app
    from runner.render import output

    done = app.import_(
        manifest,
        address,
        remote_id,
        tag=tags,
        status=statuses,
        since=since,
        until=until,
        name=name,
        targets=targets,
        state=state,
        emit=output.EventPrinter(),
        lock_timeout=lock_timeout,
    )
    only_tag = bool(tags) and not (statuses or since or until or name or targets)
    for note in done.notes:
        click.echo(f"note: {note}")
    for addr, remote, managed in done.skipped:
        click.echo(f"  = {remote}: {addr} is already managed as {managed} (skipped)")
    for remote in done.unmatched:
        why = "carries the tag" if only_tag else "matches the filters"
        click.echo(f"  ? {remote}: {why} but matches no address in the manifest (not imported)")
    click.echo(f"Imported {len(done.imported)} resource(s).")
    return 0


def acting_on_manifest(f: F) -> F:
    """-m MANIFEST (required: its targets are used), --state and --yes, for destroy and rerun."""
    f = click.option("-y", "--yes", is_flag=True, help="Do not ask (needed when stdin is not a terminal).")(f)
    f = state_option(f)
    return click.option(
        "-m",
        "--manifest",
        required=True,
        metavar="MANIFEST",
        type=str,
        help="The manifest whose state this acts on (its targets are used).",
    )(f)


@click.command()
@acting_on_manifest
@click.option("--allow-protected", is_flag=True, help="Also destroy resources marked protect: true.")
@LOCK_TIMEOUT
@list_limit_option
@colour_option
def destroy(
    manifest: str,
    state: str | None,
    yes: bool,
    allow_protected: bool,
    lock_timeout: float,
    list_limit: int,
    no_color: bool,
) -> int:
    """Cancel everything still running, close open sessions and batches, stop managing them.

    Generations and results stay in the state's history.

    \b
    Example:
      runner destroy -m examples/azure/azure.yaml --yes
    """
    from runner import app
    from runner.render import output

    paint = painter(no_color)

    def show(planned: app.Planned) -> None:
        header = f"Destroy everything {manifest} manages:"
        click.echo(output.plan_text(planned.plan, header=header, paint=paint, limit=list_limit))

    result = app.destroy(
        manifest,
        state=state,
        emit=events_view(False, paint, list_limit),
        allow_protected=allow_protected,
        confirm=lambda p: confirm_or_refuse(yes, "Destroy all of it?"),
        on_plan=show,
        lock_timeout=lock_timeout,
    )
    if isinstance(result, app.Planned):
        return 0
    return 0 if result.outcome == "ok" else 1


@click.command()
@click.argument("patterns", nargs=-1, metavar="[ADDRESS|GLOB]...")
@click.option("--failed", "only_failed", is_flag=True, help="Rerun jobs that ended failed.")
@click.option(
    "--where",
    "where",
    multiple=True,
    metavar="KEY=VALUE[,VALUE]",
    help="Rerun the batch jobs that match, whatever their status (keys: id, status, min_runs, max_runs, since, "
    "until; repeatable): Pasqal's RebatchFilters. Exit 8 if none match.",
)
@click.option("--min-runs", type=click.IntRange(0), metavar="N", help="With --where: jobs of at least N runs.")
@click.option("--max-runs", type=click.IntRange(0), metavar="N", help="With --where: jobs of at most N runs.")
@acting_on_manifest
@LOCK_TIMEOUT
def rerun(
    patterns: tuple[str, ...],
    only_failed: bool,
    where: tuple[str, ...],
    min_runs: int | None,
    max_runs: int | None,
    manifest: str,
    state: str | None,
    yes: bool,
    lock_timeout: float,
) -> int:
    """Rerun failed jobs, or the batch jobs a filter picks: Pasqal by rebatch (lineage kept).

    --failed reruns failed jobs: Pasqal batch jobs by rebatch (parent lineage kept), others as
    new generations. --where picks Pasqal batch jobs by status, runs, ids or dates (the service
    is asked which match), and reruns them in a new batch. `runner show ADDRESS` and `runner
    history` show the lineage.

    \b
    Examples:
      runner rerun --failed -m examples/pasqal/pasqal.yaml --yes
      runner rerun --failed 'job.rotation*' -m examples/azure/azure.yaml --yes
      runner rerun batch.rabi --where status=ERROR,DONE --min-runs 150 -m examples/pasqal/pasqal.yaml --yes
    """
    from runner import app
    from runner.render import output

    if only_failed == bool(where or min_runs is not None or max_runs is not None):
        raise UsageError("say what to rerun: --failed, or --where KEY=VALUE (with --min-runs/--max-runs)")
    if not only_failed:
        return rerun_where(patterns, where, min_runs, max_runs, manifest, state, yes, lock_timeout)

    def confirm(items: list[Recorded]) -> bool:
        for rec in items:
            click.echo(f"  -/+ {rec.address}  rerun of failed generation {rec.generation}")
        return confirm_or_refuse(yes, f"Rerun these {len(items)} job(s)?")

    failures = app.rerun(
        manifest, patterns, state=state, emit=output.EventPrinter(), confirm=confirm, lock_timeout=lock_timeout
    )
    for failure in failures:
        click.echo(f"error: {failure}", err=True)
    return 1 if failures else 0


COMMANDS = [refresh, wait, cancel, import_, destroy, rerun]
