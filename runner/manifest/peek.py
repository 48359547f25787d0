"""A manifest's project name, read without validating the rest: what the project guard needs."""

from __future__ import annotations

from runner.errors import RunnerError
from runner.manifest.loader import read_text
from runner.manifest.source import parse


def project_of(path: str) -> str | None:
    """The `project:` of the manifest at path; None when the file cannot be read or names none."""
    try:
        source = parse(read_text(path).decode("utf-8", errors="replace"), path)
    except (RunnerError, OSError):
        return None
    data = source.data
    project = data.get("project") if isinstance(data, dict) else None
    return project if isinstance(project, str) else None
