"""runner state list | rm | unlock."""

from __future__ import annotations

import click

from runner.cli.common import json_option, lock_timeout_option, manifest_option, state_option


@click.group()
def state() -> None:
    """Inspect and repair the state file."""


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


COMMANDS = [state]
