"""runner: declarative, exactly-once quantum experiment runner.

The Python API has the CLI's semantics:

    import runner
    manifest = runner.load("examples/quickstart.yaml")      # validate (ManifestError lists every problem)
    planned = runner.plan("examples/quickstart.yaml")       # .plan.changes, .plan.summary(), drift, costs
    report = runner.apply("examples/quickstart.yaml")       # like `runner apply --yes`
    found = runner.results(manifest="examples/quickstart.yaml")  # a ResultSet: .records(), .to_pandas()
    held = runner.remote_jobs("ionq", manifest="examples/azure/azure.yaml", status=["failed"])  # the service's view

Everything is imported lazily, so `import runner` costs almost nothing.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
_API = (
    "load",
    "validate",
    "plan",
    "apply",
    "destroy",
    "rerun",
    "status",
    "show",
    "results",
    "result_rows",
    "history",
    "refresh",
    "wait",
    "wait_circuit",
    "cancel",
    "cancel_where",
    "rerun_where",
    "import_",
    "remote_list",
    "remote_jobs",
    "remote_batches",
    "remote_sessions",
    "describe_targets",
    "targets",
    "forget",
    "move",
    "unlock",
)
__all__ = ["__version__", *_API]


def __getattr__(name: str) -> Any:
    if name in _API:
        from runner import app

        return getattr(app, name)
    raise AttributeError(f"module 'runner' has no attribute {name!r}")
