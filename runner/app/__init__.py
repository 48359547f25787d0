"""The use cases: every command of the CLI as a function that returns values and prints nothing.

The CLI (runner.cli) is a thin layer over these, and `import runner` exposes them as the Python
API (runner.plan, runner.apply, runner.status, ...).
"""

from __future__ import annotations

from runner.app.admin import forget, migrate, move, projects, unlock
from runner.app.common import can_parse_programs, state_path
from runner.app.filtered import cancel_where, rerun_where
from runner.app.inspect import addresses_in, first_results, history, report_data, result_rows, results, show, status
from runner.app.operate import cancel, import_, refresh, wait, wait_circuit
from runner.app.pipeline import Confirm, Options, Planned, Validation, apply, destroy, load, plan, rerun, validate
from runner.app.remote import (
    describe_targets,
    remote_batches,
    remote_jobs,
    remote_list,
    remote_sessions,
    targets,
)
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
    "cancel_where",
    "describe_targets",
    "destroy",
    "first_results",
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
    "remote_batches",
    "remote_jobs",
    "remote_list",
    "remote_sessions",
    "report_data",
    "rerun",
    "rerun_where",
    "result_rows",
    "results",
    "schema_text",
    "show",
    "state_path",
    "status",
    "targets",
    "unlock",
    "validate",
    "wait",
    "wait_circuit",
]
