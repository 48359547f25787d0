"""runner state list | rm | unlock."""

from __future__ import annotations

import click

from runner.cli.common import json_option, lock_timeout_option, manifest_option, open_state, state_option


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
    from runner.render import output

    st = open_state(manifest, state)
    try:
        addresses = sorted(st.recorded())
    finally:
        st.close()
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
    from runner.domain import address
    from runner.errors import RunnerError
    from runner.state import Lease

    st = open_state(manifest, state)
    try:
        chosen = address.select(st.recorded(), addresses)
        if not chosen:
            raise RunnerError(f"no recorded resource matches {' '.join(addresses)}")
        with Lease(st, "state rm").acquire(lock_timeout), st.transaction() as txn:
            for a in chosen:
                txn.forget(a, "removed with `runner state rm`")
        st.checkpoint()
    finally:
        st.close()
    for a in chosen:
        click.echo(f"removed {a}")
    return 0


@state.command("unlock")
@manifest_option
@state_option
def unlock(manifest: str | None, state: str | None) -> int:
    """Remove the state lock, whoever holds it (no lock id needed).

    Use it only when the holder is gone; a live holder stops at its next write.

    \b
    Example:
      runner state unlock -m examples/quickstart.yaml
    """
    from runner.state import force_unlock

    st = open_state(manifest, state)
    try:
        holder = force_unlock(st)
    finally:
        st.close()
    if holder is None:
        click.echo("the state was not locked")
    else:
        click.echo(f"removed the lock held by {holder.owner} (pid {holder.pid} on {holder.host}, {holder.operation})")
    return 0


COMMANDS = [state]
