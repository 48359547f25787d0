"""runner state list | rm | mv | unlock | projects | migrate."""

from __future__ import annotations

import click

from runner.cli.common import json_option, lock_timeout_option, manifest_option, state_option


@click.group()
def state() -> None:
    """Inspect, repair, list and move states (a file, or projects in a PostgreSQL database)."""


@state.command("list")
@manifest_option
@state_option
@json_option
def list_(manifest: str | None, state: str | None, as_json: bool) -> int:
    """Addresses recorded in the state.

    \b
    Example:
      runner state list -m examples/quickstart.yaml
    """
    from runner import app
    from runner.render import output

    addresses = app.addresses_in(manifest=manifest, state=state)
    if as_json:
        output.dump_json(addresses)
    else:
        for a in addresses:
            click.echo(a)
    return 0


@state.command("rm")
@click.argument("addresses", nargs=-1, required=True, metavar="ADDRESS...")
@manifest_option
@state_option
@lock_timeout_option
def rm(addresses: tuple[str, ...], manifest: str | None, state: str | None, lock_timeout: float) -> int:
    """Stop managing resources without touching them remotely (history is kept).

    \b
    Example:
      runner state rm job.bell -m examples/quickstart.yaml
    """
    from runner import app

    chosen = app.forget(addresses, manifest=manifest, state=state, lock_timeout=lock_timeout)
    for a in chosen:
        click.echo(f"removed {a}")
    return 0


@state.command("mv")
@click.argument("source", metavar="FROM")
@click.argument("dest", metavar="TO")
@manifest_option
@state_option
@lock_timeout_option
def mv(source: str, dest: str, manifest: str | None, state: str | None, lock_timeout: float) -> int:
    """Rename a recorded resource: it keeps its generation, remote id and results (no provider call).

    A whole resource moves with its members: a sweep's points (job.rabi[theta=0.1] becomes
    job.rabi2[theta=0.1]) and a batch's jobs. Refused when the new address is recorded, or
    has history from an earlier resource. A `moved:` entry in the manifest does the same at
    the next apply, and shows it in the plan first.

    \b
    Examples:
      runner state mv job.bell job.bell_pair -m runner.yaml
      runner state mv job.rabi job.rabi_fine -m runner.yaml
    """
    from runner import app

    for old, new in app.move(source, dest, manifest=manifest, state=state, lock_timeout=lock_timeout):
        click.echo(f"moved {old} -> {new}")
    return 0


@state.command("unlock")
@manifest_option
@state_option
@click.option(
    "--force", is_flag=True, help="Remove the lock even though its holder still heart-beats (it may be alive)."
)
def unlock(manifest: str | None, state: str | None, force: bool) -> int:
    """Remove the state lock when its holder is gone (no lock id needed).

    Refused (exit 4) while the holder's heartbeat is fresh: removing the lock of a live run lets a
    second run submit while the first may still send creates. --force does it anyway.

    \b
    Examples:
      runner state unlock -m examples/quickstart.yaml
      runner state unlock -m examples/quickstart.yaml --force
    """
    from runner import app

    holder = app.unlock(manifest=manifest, state=state, force=force)
    if holder is None:
        click.echo("the state was not locked")
    else:
        click.echo(f"removed the lock held by {holder.owner} (pid {holder.pid} on {holder.host}, {holder.operation})")
    return 0


@state.command("projects")
@state_option
@json_option
def projects(state: str | None, as_json: bool) -> int:
    """Projects whose states live at a location: every one in a PostgreSQL database, the one in a file.

    \b
    Examples:
      runner state projects --state postgresql://runner@db.lab:5432/runner
      runner state projects --state .runner/state.db --json
    """
    from runner import app
    from runner.render import output

    found = app.projects(state=state)
    if as_json:
        output.dump_json(found)
        return 0
    if not found:
        click.echo("no projects recorded there yet")
    for p in found:
        last = p["last_run"]
        ran = f"last {last['operation']} {last['started_at']} {last['outcome']}" if last else "never applied"
        locked = f", locked by {p['locked_by']}" if p["locked_by"] else ""
        click.echo(
            f"{p['project'] or '(no project yet)'}  serial {p['serial']}, {p['resources']} resource(s), {ran}{locked}"
        )
    return 0


@state.command("migrate")
@click.option(
    "--to",
    "to",
    required=True,
    metavar="LOCATION",
    help="Where the copy goes: a new state file, or a PostgreSQL URL (the project is the source's).",
)
@manifest_option
@state_option
@json_option
def migrate(to: str, manifest: str | None, state: str | None, as_json: bool) -> int:
    """Copy a project's whole state (history, results, intents) into a new store, and check the copy.

    The lineage moves with it, so client tokens and open intents stay valid. The source is only
    read; both sides' contents are digested and must agree. Refused while a run holds the source's
    lease, or when the destination already holds a state.

    \b
    Examples:
      runner state migrate -m runner.yaml --to postgresql://runner@db.lab:5432/runner
      runner state migrate --state postgresql://runner@db.lab:5432/runner?project=rabi --to rabi.db
    """
    from runner import app
    from runner.render import output

    moved = app.migrate(to, manifest=manifest, state=state)
    if as_json:
        output.dump_json(moved.as_json())
        return 0
    rows = ", ".join(f"{n} {table}" for table, n in moved.counts.items())
    click.echo(f"copied {moved.source} to {moved.destination}: {rows}")
    click.echo(f"digest {moved.digest} (source and copy)")
    return 0


COMMANDS = [state]
