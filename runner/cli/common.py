"""Options and helpers shared by commands."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

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
        type=click.Path(dir_okay=False),
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
