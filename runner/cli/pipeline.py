"""validate, plan, apply, schema, targets."""

from __future__ import annotations

import os
import signal
import sys
import threading
from typing import Any, Literal

import click

from runner.cli.common import (
    colour_option,
    events_view,
    json_option,
    list_limit_option,
    lock_timeout_option,
    painter,
    state_option,
)
from runner.errors import BudgetExceededError, ExitCode, RunnerError, UsageError

MANIFEST = click.argument("manifest", type=str)


def SELECTION(f: Any) -> Any:
    """--replace, --target, --exclude, --refresh/--no-refresh and --unchangeable, shared by plan and apply."""
    f = click.option(
        "--unchangeable",
        type=click.Choice(["record", "replace"]),
        default="record",
        show_default=True,
        help="An edit the provider cannot make in place (e.g. tags on a Superstaq job): record it in the state "
        "only, or replace the resource with a new generation that carries it.",
    )(f)
    f = click.option(
        "--refresh/--no-refresh",
        default=True,
        show_default=True,
        help="Ask providers about resources that can still change before planning.",
    )(f)
    f = click.option(
        "--exclude", "excludes", metavar="ADDRESS|GLOB|tag:T", multiple=True, help="Leave these changes out."
    )(f)
    f = click.option(
        "--target",
        "targets",
        metavar="ADDRESS|GLOB|tag:T",
        multiple=True,
        help="Only these changes (and the sessions or batches they need).",
    )(f)
    f = click.option(
        "--replace", "replace", metavar="ADDRESS", multiple=True, help="Force a new generation of ADDRESS."
    )(f)
    return f


@click.command()
@click.argument("manifests", nargs=-1, required=True, metavar="MANIFEST...", type=str)
@json_option
@click.option(
    "--no-programs",
    "no_programs",
    is_flag=True,
    help="Read program files but do not parse them: needs no qiskit (the light pre-commit hook); "
    "the inputs a sweep binds go unchecked.",
)
def validate(manifests: tuple[str, ...], as_json: bool, no_programs: bool) -> int:
    """Check manifests: schema, references, programs, sweep sizes.

    Prints every problem as FILE:LINE:COLUMN: MESSAGE and exits 1 if there is any. Takes several
    manifests at once (as pre-commit passes them). Parsing OpenQASM needs qiskit (runner[qiskit]);
    --no-programs checks everything else without it.

    \b
    Examples:
      runner validate examples/quickstart.yaml
      runner validate examples/*.yaml --json
      runner validate --no-programs examples/*.yaml
    """
    from runner import app
    from runner.render import output

    if not no_programs and not app.can_parse_programs():
        raise RunnerError(
            "parsing OpenQASM programs needs qiskit, which is not installed: pip install 'runner[qiskit]' "
            "(or check everything else with --no-programs)"
        )
    reports = [app.validate(m, programs=not no_programs) for m in manifests]
    unparsed = "; programs read, not parsed" if no_programs else ""
    for report in reports if not as_json else ():
        if report.valid:
            click.echo(f"{report.manifest}: valid ({report.resources} resource(s){unparsed})")
        elif report.error is not None:
            for line in report.error.lines():
                click.echo(line, err=True)
    failed = not all(r.valid for r in reports)
    if as_json:
        output.dump_json(reports[0].as_json() if len(reports) == 1 else [r.as_json() for r in reports])
    return int(ExitCode.ERROR) if failed else 0


@click.command()
@MANIFEST
@state_option
@json_option
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 0 with no changes, 2 with changes; errors keep their codes (1, 5 over budget, 64 usage).",
)
@click.option(
    "--out", "out", metavar="FILE", type=click.Path(dir_okay=False), help="Save the plan for `runner apply FILE`."
)
@SELECTION
@list_limit_option
@colour_option
def plan(
    manifest: str,
    state: str | None,
    as_json: bool,
    detailed_exitcode: bool,
    out: str | None,
    replace: tuple[str, ...],
    targets: tuple[str, ...],
    excludes: tuple[str, ...],
    refresh: bool,
    unchangeable: Literal["record", "replace"],
    list_limit: int,
    no_color: bool,
) -> int:
    """Show what apply would do: create, update, replace, delete; and what drifted.

    Reads the state and asks providers about what can still change; never writes the state and
    takes no lock.

    \b
    Examples:
      runner plan examples/quickstart.yaml
      runner plan examples/quickstart.yaml --json
      runner plan examples/quickstart.yaml --target 'job.rotation*' --exclude tag:slow
      runner plan examples/quickstart.yaml --out plan.json && runner apply plan.json
    """
    from runner import app
    from runner.render import output

    planned = app.plan(
        manifest,
        state=state,
        replace=replace,
        targets=targets,
        excludes=excludes,
        refresh=refresh,
        unchangeable=unchangeable,
        out=out,
    )
    if as_json:
        output.dump_json(planned.as_json())
    else:
        click.echo(output.planned_text(manifest, planned, paint=painter(no_color), limit=list_limit))
        if out:
            click.echo(f"\nSaved the plan to {out}. Apply exactly it with: runner apply {out}")
    refused = planned.over_budget()
    if refused:
        raise BudgetExceededError(refused)
    if detailed_exitcode and planned.has_work():
        return int(ExitCode.CHANGES)
    return 0


@click.command()
@click.argument("target", metavar="MANIFEST|PLANFILE", type=str)
@state_option
@click.option("-y", "--yes", is_flag=True, help="Apply without asking (needed when stdin is not a terminal).")
@json_option
@SELECTION
@click.option(
    "--parallelism", default=16, show_default=True, type=click.IntRange(1, 256), help="Concurrent provider calls."
)
@lock_timeout_option
@list_limit_option
@colour_option
def apply(
    target: str,
    state: str | None,
    yes: bool,
    as_json: bool,
    replace: tuple[str, ...],
    targets: tuple[str, ...],
    excludes: tuple[str, ...],
    refresh: bool,
    unchangeable: Literal["record", "replace"],
    parallelism: int,
    lock_timeout: float,
    list_limit: int,
    no_color: bool,
) -> int:
    """Make the providers match the manifest (or execute a saved plan), exactly once.

    Re-applying an unchanged manifest submits nothing.

    \b
    Examples:
      runner apply examples/quickstart.yaml --yes
      runner apply examples/quickstart.yaml --yes --target job.bell
      runner apply plan.json
    """
    from runner import app
    from runner.render import output

    paint = painter(no_color)
    printer = events_view(as_json, paint, list_limit)
    interactive = sys.stdin.isatty() and not as_json

    def show(planned: app.Planned) -> None:
        if not as_json:
            click.echo(output.planned_text(target, planned, paint=paint, limit=list_limit))

    stop = threading.Event()

    def confirm(planned: app.Planned) -> bool:
        if yes:
            _on_interrupt(stop)
            return True
        if not interactive:
            raise UsageError("apply needs --yes when stdin is not a terminal")
        answer = click.prompt("\nApply these changes? Only 'yes' will be accepted", default="", show_default=False)
        if answer.strip() != "yes":
            click.echo("Apply cancelled; nothing was changed.")
            return False
        _on_interrupt(stop)
        return True

    previous = signal.getsignal(signal.SIGINT)
    saved = app.is_plan_file(target)
    if saved and (replace or targets or excludes or not refresh or unchangeable != "record"):
        raise UsageError(
            "--replace, --target, --exclude, --no-refresh and --unchangeable shape a plan; a saved plan already "
            "carries them: give them to `runner plan --out` instead"
        )
    if saved:
        _on_interrupt(stop)
    try:
        result = app.apply(
            target,
            stop=stop,
            state=state,
            emit=printer,
            confirm=confirm,
            replace=replace,
            targets=targets,
            excludes=excludes,
            refresh=refresh,
            unchangeable=unchangeable,
            lock_timeout=lock_timeout,
            parallelism=parallelism,
            on_plan=show,
        )
    finally:
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, previous)
    if isinstance(result, app.Planned):
        if not result.plan.has_changes():
            if as_json:
                click.echo('{"event": "NoChanges", "submitted": 0}')
            elif saved:
                click.echo(f"No changes: {target} has nothing left to do against the current state.")
            return int(ExitCode.ERROR) if result.plan.blocked() else 0
        return int(ExitCode.ERROR)
    if not as_json:
        _print_results(target, state, result.touched)
    if result.blocked:
        return int(ExitCode.ERROR)
    return (
        0
        if result.outcome == "ok"
        else int(ExitCode.INTERRUPTED if result.outcome == "interrupted" else ExitCode.ERROR)
    )


def _on_interrupt(stop: threading.Event) -> None:
    """First Ctrl-C: stop starting calls, let those in flight finish and be recorded. Second: exit now.

    Exiting at once leaves open intents; the next plan or apply reconciles them.
    """

    def handler(signum: int, frame: Any) -> None:
        if stop.is_set():
            os.write(2, b"\ninterrupted again: exiting now; the next apply reconciles what was in flight\n")
            os._exit(int(ExitCode.INTERRUPTED))
        stop.set()
        os.write(2, b"\ninterrupt: no new submissions; finishing calls in flight (Ctrl-C again to exit now)\n")

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, handler)


def _print_results(target: str, state: str | None, touched: list[str]) -> None:
    from runner import app
    from runner.render import output

    if app.is_plan_file(target):
        return
    rows, having = app.first_results(touched, state=app.state_path(target, state), limit=20)
    if not rows:
        return
    click.echo("\nResults:")
    for row in rows:
        counts = row["counts"]
        text = output.counts_text(counts[0]) if len(counts) == 1 else f"{len(counts)} circuits"
        click.echo(f"  {row['address']}  {text}")
    if having > len(rows):
        click.echo(f"  ... and {having - len(rows)} more: runner results -m {target}")


@click.command()
def schema() -> int:
    """Print the manifest JSON Schema (2020-12) that editors and `validate` use.

    \b
    Example:
      runner schema > manifest.schema.json
    """
    from runner import app

    click.echo(app.schema_text(), nl=False)
    return 0


@click.command()
@MANIFEST
@click.argument("names", nargs=-1, metavar="[TARGET]...")
@json_option
@click.option("--describe", is_flag=True, help="Show what each service publishes about its target.")
@click.option("--offline", is_flag=True, help="With --describe: the last description the state kept, no request.")
@click.option("--state", "state", metavar="LOCATION", envvar="RUNNER_STATE", help="The state (for --offline).")
def targets(
    manifest: str, names: tuple[str, ...], as_json: bool, describe: bool, offline: bool, state: str | None
) -> int:
    """List a manifest's targets: provider, target name, endpoint; or describe them.

    --describe asks each service what it publishes about its target: Pasqal device specs,
    Azure provider status (availability, average queue time), Superstaq target info, the
    local simulator's engine. --offline shows the last description an apply kept in the state.

    \b
    Examples:
      runner targets examples/quickstart.yaml
      runner targets examples/pasqal/pasqal.yaml emu --describe
      runner targets examples/azure/azure.yaml --describe --offline --json
    """
    from runner import app
    from runner.render import output

    if offline and not describe:
        raise UsageError("--offline goes with --describe")
    if describe:
        from runner.render.remote import description_text

        found = app.describe_targets(names, manifest=manifest, state=state, offline=offline)
        if as_json:
            output.dump_json([d.as_json() for d in found])
        else:
            description_text(found, sys.stdout)
        return 0
    rows = [r for r in app.targets(manifest) if not names or r["name"] in names]
    if names and len(rows) < len(set(names)):
        missing = sorted(set(names) - {r["name"] for r in rows})
        raise UsageError(f"{manifest} has no target {', '.join(missing)}")
    if as_json:
        output.dump_json(rows)
    else:
        output.table(rows, ["name", "provider", "target", "endpoint"])
    return 0


COMMANDS = [validate, plan, apply, schema, targets]
