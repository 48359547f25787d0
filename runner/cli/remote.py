"""runner remote jobs|batches|sessions: what a target's service holds, beyond runner's state."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import click

from runner.cli import Group
from runner.cli.common import F, json_option, manifest_option, state_option


@click.group(cls=Group)
def remote() -> None:
    """List what a target's service holds (jobs submitted by hand or by a colleague included).

    Each service applies the filters itself where its API has them (Azure filter/orderby/skip/top
    and nextLink, Pasqal filters with offset/limit, Superstaq's JobQuery); each row says whether
    runner manages it, and as which address. TARGET is a target name of the manifest (-m) or the
    state.

    \b
    Examples:
      runner remote jobs ionq -m examples/azure/azure.yaml --status failed
      runner remote batches emu -m examples/pasqal/pasqal.yaml --tag example:pasqal --all
      runner remote sessions ionq -m examples/azure/azure.yaml --since 2025-06-01 --json
    """


def filters(f: F) -> F:
    """The options every listing takes."""
    options = [
        click.option("--all", "all_", is_flag=True, help="Every match, page after page (--limit ignored)."),
        click.option("--offset", default=0, type=click.IntRange(0), metavar="N", help="Skip the N newest matches."),
        click.option("--limit", default=50, show_default=True, type=click.IntRange(1), metavar="N", help="At most N."),
        click.option("--name", metavar="PREFIX", help="Names starting with PREFIX (Azure)."),
        click.option("--until", metavar="DATE", help="Created on or before DATE (2025-01-31, or an ISO time)."),
        click.option("--since", metavar="DATE", help="Created on or after DATE (2025-01-31, or an ISO time)."),
        click.option("--tag", "tags", multiple=True, metavar="TAG", help="Carrying TAG (repeat: carrying all)."),
        click.option(
            "--status",
            "statuses",
            multiple=True,
            metavar="S",
            help="runner's status (failed, running...) or the service's own (ERROR, Failure(s)...); repeatable.",
        ),
    ]
    for option in options:
        f = option(f)
    return json_option(state_option(manifest_option(f)))


def run(what: str, target: str, as_json: bool, **options: Any) -> int:
    from runner import app
    from runner.render import output
    from runner.render.remote import listing_text

    lists: dict[str, Callable[..., Any]] = {
        "jobs": app.remote_jobs,
        "batches": app.remote_batches,
        "sessions": app.remote_sessions,
    }
    found = lists[what](target, **options)
    if as_json:
        output.dump_json(found.as_json())
    else:
        listing_text(found, sys.stdout)
    return 0


@remote.command()
@click.argument("target")
@filters
@click.option("--in", "in_", metavar="SESSION|BATCH", help="Only the jobs of this session or batch (address or id).")
@click.option("--min-runs", type=click.IntRange(0), metavar="N", help="Jobs of at least N runs (Pasqal).")
@click.option("--max-runs", type=click.IntRange(0), metavar="N", help="Jobs of at most N runs (Pasqal).")
def jobs(target: str, as_json: bool, statuses: tuple[str, ...], tags: tuple[str, ...], **options: Any) -> int:
    """Jobs on TARGET, newest first: Azure jobs, Pasqal batch jobs, Superstaq jobs.

    \b
    Examples:
      runner remote jobs ionq -m examples/azure/azure.yaml --status failed --since 2025-06-01
      runner remote jobs ionq -m examples/azure/azure.yaml --in session.calibration
      runner remote jobs emu -m examples/pasqal/pasqal.yaml --in batch.rabi --status ERROR
      runner remote jobs ss -m examples/superstaq/superstaq.yaml --status failed --json
    """
    return run("jobs", target, as_json, status=statuses, tag=tags, **options)


@remote.command()
@click.argument("target")
@filters
def batches(target: str, as_json: bool, statuses: tuple[str, ...], tags: tuple[str, ...], **options: Any) -> int:
    """Batches on TARGET (Pasqal: its device type in the project), newest first.

    \b
    Examples:
      runner remote batches emu -m examples/pasqal/pasqal.yaml
      runner remote batches emu -m examples/pasqal/pasqal.yaml --status DONE --tag example:pasqal --all
    """
    return run("batches", target, as_json, status=statuses, tag=tags, **options)


@remote.command()
@click.argument("target")
@filters
def sessions(target: str, as_json: bool, statuses: tuple[str, ...], tags: tuple[str, ...], **options: Any) -> int:
    """Sessions on TARGET (Azure), newest first.

    \b
    Examples:
      runner remote sessions ionq -m examples/azure/azure.yaml
      runner remote sessions ionq -m examples/azure/azure.yaml --status 'Failure(s)' --name calib
    """
    return run("sessions", target, as_json, status=statuses, tag=tags, **options)


COMMANDS = [remote]
