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
from runner.errors import JobsFailedError

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
@LOCK_TIMEOUT
def wait(
    patterns: tuple[str, ...],
    manifest: str | None,
    state: str | None,
    as_json: bool,
    timeout: float,
    fail_on_failed: bool,
    lock_timeout: float,
) -> int:
    """Wait until the selected resources (default: all) have finished; fetch their results.

    Without ADDRESS it waits for everything applied, sessions and batches included, except
    those declared to stay open (keep_open, open: true). Polls with exponential back-off and
    jitter; --timeout is a deadline for the whole command (exit 6). For CI, --fail-on-failed
    exits 7 when anything ended failed.

    \b
    Examples:
      runner wait -m examples/azure/azure.yaml --timeout 300
      runner wait 'job.rotation*' -m examples/azure/azure.yaml
      runner wait -m examples/azure/azure.yaml --timeout 600 --fail-on-failed
    """
    from runner import app
    from runner.render import output
    from runner.render.progress import WaitProgress

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
@click.option("--index", type=click.IntRange(0), default=None, help="Cancel only this circuit of a multi-circuit job.")
@click.option("--allow-protected", is_flag=True, help="Also cancel resources marked protect: true.")
@LOCK_TIMEOUT
def cancel(
    patterns: tuple[str, ...],
    manifest: str | None,
    state: str | None,
    index: int | None,
    allow_protected: bool,
    lock_timeout: float,
) -> int:
    """Cancel running jobs, sessions or batches (they stay in the manifest and the state).

    \b
    Examples:
      runner cancel job.bell -m examples/azure/azure.yaml
      runner cancel 'job.rotation*' -m examples/azure/azure.yaml
      runner cancel job.pair -m examples/superstaq/superstaq.yaml --index 1
    """
    from runner import app
    from runner.render import output

    done = app.cancel(
        patterns,
        manifest=manifest,
        state=state,
        index=index,
        allow_protected=allow_protected,
        emit=output.EventPrinter(),
        lock_timeout=lock_timeout,
    )
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
@click.option(
    "--tag",
    default=None,
    metavar="TAG",
    help="Import every remote resource carrying TAG whose name (or `address:` tag) is a manifest address.",
)
@LOCK_TIMEOUT
def import_(
    address: str | None, remote_id: str | None, manifest: str, state: str | None, tag: str | None, lock_timeout: float
) -> int:
    """Bring resources submitted by hand under management, by id or by tag.

    The address must be declared in the manifest; runner records the remote resource as its
    new generation, so the next plan leaves it alone.

    \b
    Examples:
      runner import job.bell 3f2a9c1e-... -m examples/azure/azure.yaml
      runner import --tag campaign:june -m examples/azure/azure.yaml
    """
    from runner import app
    from runner.render import output

    done = app.import_(
        manifest, address, remote_id, tag=tag, state=state, emit=output.EventPrinter(), lock_timeout=lock_timeout
    )
    for addr, remote, managed in done.skipped:
        click.echo(f"  = {remote}: {addr} is already managed as {managed} (skipped)")
    for remote in done.unmatched:
        click.echo(f"  ? {remote}: carries the tag but matches no address in the manifest (not imported)")
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


def _confirm_or_refuse(yes: bool, question: str) -> bool:
    from runner.errors import UsageError

    if yes:
        return True
    if not sys.stdin.isatty():
        raise UsageError("this needs --yes when stdin is not a terminal")
    return click.prompt(f"\n{question} Only 'yes' will be accepted", default="", show_default=False).strip() == "yes"


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
        confirm=lambda p: _confirm_or_refuse(yes, "Destroy all of it?"),
        on_plan=show,
        lock_timeout=lock_timeout,
    )
    if isinstance(result, app.Planned):
        return 0
    return 0 if result.outcome == "ok" else 1


@click.command()
@click.argument("patterns", nargs=-1, metavar="[ADDRESS|GLOB]...")
@click.option("--failed", "only_failed", is_flag=True, required=True, help="Rerun jobs that ended failed.")
@acting_on_manifest
@LOCK_TIMEOUT
def rerun(
    patterns: tuple[str, ...], only_failed: bool, manifest: str, state: str | None, yes: bool, lock_timeout: float
) -> int:
    """Rerun failed jobs: Pasqal batch jobs by rebatch (parent lineage kept), others as new generations.

    `runner show ADDRESS` and `runner history` show the lineage.

    \b
    Examples:
      runner rerun --failed -m examples/pasqal/pasqal.yaml --yes
      runner rerun --failed 'job.rotation*' -m examples/azure/azure.yaml --yes
    """
    from runner import app
    from runner.render import output

    if not only_failed:
        raise click.UsageError("say what to rerun: --failed")

    def confirm(items: list[Recorded]) -> bool:
        for rec in items:
            click.echo(f"  -/+ {rec.address}  rerun of failed generation {rec.generation}")
        return _confirm_or_refuse(yes, f"Rerun these {len(items)} job(s)?")

    failures = app.rerun(
        manifest, patterns, state=state, emit=output.EventPrinter(), confirm=confirm, lock_timeout=lock_timeout
    )
    for failure in failures:
        click.echo(f"error: {failure}", err=True)
    return 1 if failures else 0


COMMANDS = [refresh, wait, cancel, import_, destroy, rerun]
