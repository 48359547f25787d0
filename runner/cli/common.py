"""Options and helpers shared by commands."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import IO, Any, TypeVar

import click

from runner.domain.events import Event
from runner.render import colour
from runner.render.colour import Painter

F = TypeVar("F", bound=Callable[..., Any])


def state_option(f: F) -> F:
    return click.option(
        "--state",
        "state",
        metavar="LOCATION",
        envvar="RUNNER_STATE",
        help="State file, or postgresql://USER@HOST:PORT/DB[?project=NAME] (password from libpq's environment "
        "or ?password_env=VAR, never in the URL; the project defaults to the manifest's). Default: "
        ".runner/state.db beside the manifest; env RUNNER_STATE.",
    )(f)


def manifest_option(f: F) -> F:
    return click.option(
        "-m",
        "--manifest",
        metavar="MANIFEST",
        type=str,  # a directory is refused by the loader with a located message (exit 1), not as usage
        help="Use the state beside this manifest.",
    )(f)


def json_option(f: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")(f)


def lock_timeout_option(f: F) -> F:
    """--lock-timeout, the same on every command that writes the state."""
    return click.option(
        "--lock-timeout",
        "lock_timeout",
        default=30.0,
        show_default=True,
        type=click.FloatRange(0),
        metavar="SECONDS",
        help="Wait this long for another run to release the state lock, then exit 4 naming it.",
    )(f)


def colour_option(f: F) -> F:
    """--no-color on the commands that colour (also `runner --no-color ...` and NO_COLOR=1)."""
    return click.option(
        "--no-color", "no_color", is_flag=True, help="No colour (also NO_COLOR=1; never when stdout is not a terminal)."
    )(f)


def list_limit_option(f: F) -> F:
    """--list-limit: a line per resource up to N changes, a summary past it."""
    return click.option(
        "--list-limit",
        "list_limit",
        default=50,
        show_default=True,
        type=click.IntRange(0),
        metavar="N",
        help="Past N changes, summarise per job instead of a line per resource (0: always list; --json lists all).",
    )(f)


def painter(no_color: bool) -> Painter:
    """Colour for stdout, as --no-color (here or before the command), NO_COLOR and the terminal decide."""
    root = click.get_current_context().find_root().obj
    off = no_color or bool(isinstance(root, dict) and root.get("no_color"))
    return Painter(colour.enabled(sys.stdout, os.environ, no_color=off))


def is_terminal(stream: IO[str]) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def events_view(as_json: bool, paint: Painter, limit: int) -> Callable[[Event], None]:
    """How apply and destroy events reach stdout: every one as a JSON line, or an ApplyView for people."""
    from runner.render import output
    from runner.render.apply_view import ApplyView

    if as_json:
        return output.EventPrinter(json_lines=True)
    return ApplyView(sys.stdout, tty=is_terminal(sys.stdout), paint=paint, limit=limit)
