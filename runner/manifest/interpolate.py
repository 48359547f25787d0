"""`${VAR}` and `${VAR:-default}` in target settings, so one manifest serves a laptop and CI.

A target's string settings (target, endpoint, workspace fields, project id, options...) may name
environment variables: `endpoint: ${PASQAL_URL:-http://127.0.0.1:8768}`. They are replaced when
the manifest is loaded, before the schema check, so the resolved value is what is validated,
planned and fingerprinted. `${VAR:-default}` takes the default when VAR is unset or empty (a
default holds no `$` or `}`); `$$` is a literal `$`; any other `$` is kept as written. An unset
variable without a default is a located error naming it. Credentials are not interpolated: they
already name their variables, and their values must never pass through the manifest.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from runner.errors import Problem
from runner.manifest.schema import dotted
from runner.manifest.source import Path, Source

_SKIPPED = frozenset({"credentials", "description", "tags", "metadata", "price"})
# a default holds no '$' or '}': so an unclosed ${ is never rescanned from each later one
_REFERENCE = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}$]*))?\}|\$\{")


class Unresolved(ValueError):
    """A reference that cannot be resolved; the message names the variable, never a value."""


def resolve(text: str, env: Mapping[str, str]) -> str:
    """`text` with every ${VAR} and ${VAR:-default} replaced and $$ made $."""

    def replace(match: re.Match[str]) -> str:
        whole, name, default = match.group(0), match.group(1), match.group(2)
        if whole == "$$":
            return "$"
        if name is None:
            raise Unresolved("'${' must be followed by a variable name and '}' (write $$ for a literal $)")
        value = env.get(name)
        if value:
            return value
        if default is not None:
            return default
        raise Unresolved(f"environment variable {name} is not set (give a default with ${{{name}:-value}})")

    return _REFERENCE.sub(replace, text) if "$" in text else text


def targets(source: Source, env: Mapping[str, str]) -> tuple[list[Problem], dict[str, Any]]:
    """Resolve references in the targets of `source.data` in place: (problems, what changed).

    What changed maps each dotted path to its resolved value, so a cached verdict can be keyed
    on the values actually validated.
    """
    problems: list[Problem] = []
    changed: dict[str, Any] = {}
    data = source.data
    section = data.get("targets") if isinstance(data, dict) else None
    if not isinstance(section, dict):
        return problems, changed
    for name, body in section.items():
        if isinstance(body, dict):
            for key in [k for k in body if k not in _SKIPPED]:
                body[key] = _walk(body[key], ("targets", name, key), source, env, problems, changed)
    return problems, changed


def _walk(
    value: Any, path: Path, source: Source, env: Mapping[str, str], problems: list[Problem], changed: dict[str, Any]
) -> Any:
    if isinstance(value, dict):
        return {k: _walk(v, (*path, k), source, env, problems, changed) for k, v in value.items()}
    if isinstance(value, list):
        return [_walk(v, (*path, i), source, env, problems, changed) for i, v in enumerate(value)]
    if not isinstance(value, str) or "$" not in value:
        return value
    try:
        resolved = resolve(value, env)
    except Unresolved as exc:
        problems.append(Problem(source.where(path), f"{dotted(path)}: {exc}"))
        return value
    if resolved != value:
        changed[dotted(path)] = resolved
    return resolved
