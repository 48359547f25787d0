"""The command line: the only place that imports click. One top-level error handler."""

from __future__ import annotations

import os
import sys
import traceback
from typing import Any

import click

from runner import __version__
from runner.errors import ExitCode, RunnerError

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class Group(click.Group):
    """Lists commands in the order they were added (the order of the pipeline)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)


@click.group(cls=Group, context_settings=CONTEXT)
@click.version_option(__version__, prog_name="runner")
@click.option("--debug", is_flag=True, help="Show the traceback of an unexpected error (also RUNNER_DEBUG=1).")
@click.option("--no-color", "no_color", is_flag=True, help="No colour in any command's output (also NO_COLOR=1).")
@click.pass_obj
def app(settings: dict[str, bool] | None, debug: bool, no_color: bool) -> None:
    """Declarative, exactly-once quantum experiments: validate, plan and apply YAML manifests.

    \b
    Start here:
      runner validate examples/quickstart.yaml
      runner plan examples/quickstart.yaml
      runner apply examples/quickstart.yaml --yes
      runner results -m examples/quickstart.yaml

    Exit codes: 0 ok, 1 error, 2 changes present (plan --detailed-exitcode),
    3 stale plan, 4 lock conflict, 5 over budget, 6 timed out (wait), 7 jobs failed
    (wait --fail-on-failed), 8 a --where filter matched nothing, 64 usage error,
    70 internal error, 130 interrupted.
    """
    if settings is not None:
        settings["debug"] = settings["debug"] or debug
        settings["no_color"] = no_color


def _register() -> None:
    from runner.cli import emulate, inspect, operate, pipeline, remote, report_cmd, state_cmd

    for module in (pipeline, inspect, operate, remote, state_cmd, emulate, report_cmd):
        for command in module.COMMANDS:
            app.add_command(command)


_register()


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI and turn every failure into one message and an exit code."""
    sys.exit(run(argv))


def run(argv: list[str] | None = None) -> int:
    settings = {"debug": os.environ.get("RUNNER_DEBUG", "") not in ("", "0")}
    try:
        result: Any = app.main(args=argv, prog_name="runner", standalone_mode=False, obj=settings)
        return int(result or 0)
    except RunnerError as exc:
        for line in exc.lines():
            click.echo(line, err=True)
        return int(exc.exit_code)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.UsageError as exc:
        hint = f"\nTry '{exc.ctx.command_path} --help' for help." if exc.ctx else ""
        click.echo(f"error: {exc.format_message()}{hint}", err=True)
        return int(ExitCode.USAGE)
    except click.ClickException as exc:
        click.echo(f"error: {exc.format_message()}", err=True)
        return int(ExitCode.ERROR)
    except (click.Abort, KeyboardInterrupt):
        click.echo("interrupted", err=True)
        return int(ExitCode.INTERRUPTED)
    except BrokenPipeError:
        return int(ExitCode.OK)
    except ModuleNotFoundError as exc:  # an optional extra that is not installed
        extra = _EXTRAS.get((exc.name or "").split(".")[0])
        if extra is None:
            return _internal(exc, settings["debug"])
        click.echo(f"error: this needs {extra[0]}, which is not installed: pip install 'runner[{extra[1]}]'", err=True)
        return int(ExitCode.ERROR)
    except Exception as exc:  # a bug: one line by default, the traceback on request
        return _internal(exc, settings["debug"])


# top-level modules of optional extras: (what it is, the extra that installs it)
_EXTRAS = {
    "qiskit": ("qiskit", "qiskit"),
    "qiskit_aer": ("qiskit-aer", "qiskit"),
    "qiskit_qasm3_import": ("qiskit-qasm3-import", "qiskit"),
    "matplotlib": ("matplotlib", "plot"),
    "pandas": ("pandas", "pandas"),
}


def _internal(exc: BaseException, debug: bool) -> int:
    if debug:
        traceback.print_exception(exc)
    detail = str(exc).splitlines()[0] if str(exc) else ""
    click.echo(
        f"error: internal error ({type(exc).__name__}{': ' + detail if detail else ''}); run again with --debug "
        "(or RUNNER_DEBUG=1) to see the traceback, and please report it",
        err=True,
    )
    return int(ExitCode.INTERNAL)
