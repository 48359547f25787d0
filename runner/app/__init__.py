"""The use cases: every command of the CLI as a function that returns values and prints nothing.

The CLI (runner.cli) is a thin layer over these, and `import runner` exposes them as the Python
API (runner.plan, runner.apply, runner.status, ...).
"""

from __future__ import annotations

from runner.app.admin import forget, migrate, move, projects, unlock
from runner.app.common import can_parse_programs, state_path
from runner.app.inspect import addresses_in, history, report_data, result_rows, results, show, status
from runner.app.operate import cancel, import_, refresh, wait
from runner.app.pipeline import Confirm, Options, Planned, Validation, apply, destroy, load, plan, rerun, validate
from runner.manifest.peek import project_of
from runner.manifest.schema import schema_text
from runner.planning.planfile import is_plan_file

__all__ = [
    "Confirm",
    "Options",
    "Planned",
    "Validation",
    "addresses_in",
    "apply",
    "can_parse_programs",
    "cancel",
    "destroy",
    "forget",
    "history",
    "import_",
    "is_plan_file",
    "load",
    "migrate",
    "move",
    "plan",
    "project_of",
    "projects",
    "refresh",
    "report_data",
    "rerun",
    "result_rows",
    "results",
    "schema_text",
    "show",
    "state_path",
    "status",
    "unlock",
    "validate",
    "wait",
]
