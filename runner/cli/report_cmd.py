"""report: one self-contained HTML page about the state, to open in a browser or attach to a CI run."""

from __future__ import annotations

import click

from runner.cli.common import manifest_option, state_option
from runner.errors import RunnerError


@click.command()
@manifest_option
@state_option
@click.option(
    "--out",
    "out",
    default="report.html",
    show_default=True,
    metavar="FILE.html",
    type=click.Path(dir_okay=False),
    help="Where to write the page.",
)
def report(manifest: str | None, state: str | None, out: str) -> int:
    """Write an HTML report: resources, result plots, history of applies, costs.

    One file with everything inside it (styles, plots as embedded images), readable offline.
    Plots need the plot extra; without it the page says so and lists the counts.

    \b
    Example:
      runner report -m examples/quickstart.yaml --out quickstart.html
    """
    from runner import __version__, app
    from runner.render import plot
    from runner.render import report as pages

    data = app.report_data(
        manifest=manifest, state=state, project=_project(manifest), runner_version=__version__, generated_at=_now()
    )
    try:
        pictures: list[plot.Picture] | None = plot.gallery(data.results)
    except RunnerError as exc:
        if exc.message != plot.MISSING:
            raise
        click.echo(f"warning: {exc.message}; the report has no plots", err=True)
        pictures = None
    _write(out, pages.render(data, pictures))
    click.echo(out)
    return 0


def _project(manifest: str | None) -> str:
    """The manifest's project name; the report is about the state, so a manifest that no longer loads is no error."""
    if manifest is None:
        return "runner project"
    from runner import app

    return app.project_of(manifest) or manifest


def _now() -> str:
    from datetime import datetime, timezone

    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _write(path: str, text: str) -> None:
    try:
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(text)
    except OSError as exc:
        raise RunnerError(f"cannot write the report to {path}: {exc.strerror or exc}") from None


COMMANDS = [report]
