"""refresh, wait, cancel: talk to providers about resources already applied."""

from __future__ import annotations

import os

import click

from runner.cli.common import json_option, manifest_option, open_state, state_option

LOCK_TIMEOUT = click.option(
    "--lock-timeout",
    default=30.0,
    show_default=True,
    type=click.FloatRange(0),
    metavar="SECONDS",
    help="Wait this long for another run's state lock.",
)


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
      runner refresh -m examples/azure.yaml
    """
    from runner import output
    from runner.poll import Poller

    printer = output.EventPrinter(json_lines=as_json)
    st = open_state(manifest, state)
    poller = Poller(st, env=dict(os.environ), emit=printer, lock_timeout=lock_timeout)
    try:
        cycle = poller.cycle()
    finally:
        poller.close()
        st.close()
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
    help="Give up (exit 1) after this long.",
)
@LOCK_TIMEOUT
def wait(
    patterns: tuple[str, ...],
    manifest: str | None,
    state: str | None,
    as_json: bool,
    timeout: float,
    lock_timeout: float,
) -> int:
    """Wait until the selected resources (default: all) have finished; fetch their results.

    Polls with exponential back-off and jitter, always bounded by --timeout.

    \b
    Examples:
      runner wait -m examples/azure.yaml --timeout 300
      runner wait 'job.rotation*' -m examples/azure.yaml
    """
    from runner import output
    from runner.poll import Poller
    from runner.poll import wait as wait_for

    printer = output.EventPrinter(json_lines=as_json)
    st = open_state(manifest, state)
    poller = Poller(st, env=dict(os.environ), emit=printer, lock_timeout=lock_timeout)
    try:
        cycle = wait_for(poller, patterns, timeout)
    finally:
        poller.close()
        st.close()
    if not as_json:
        click.echo(
            "All selected resources have finished."
            if not cycle.unknown
            else f"Finished, except {len(cycle.unknown)} with a status runner does not know."
        )
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
      runner cancel job.bell -m examples/azure.yaml
      runner cancel 'job.rotation*' -m examples/azure.yaml
      runner cancel job.pair -m examples/superstaq.yaml --index 1
    """
    from runner import output
    from runner.poll import Poller
    from runner.poll import cancel as cancel_all

    printer = output.EventPrinter()
    st = open_state(manifest, state)
    poller = Poller(st, env=dict(os.environ), emit=printer, lock_timeout=lock_timeout)
    try:
        done = cancel_all(poller, patterns, index=index, allow_protected=allow_protected)
    finally:
        poller.close()
        st.close()
    for addr, obs in done:
        click.echo(f"  - {addr}: cancel requested ({obs.status})")
    return 0


COMMANDS = [refresh, wait, cancel]
